"""Elementwise ops: arithmetic, comparisons, logic, float functions, nonlinearities, switch and clip.

Theano broadcasts a lower-rank input from the left, as ONNX's multidirectional broadcasting does,
so inputs go to the ONNX op as they are, each cast to the dtype Theano computes in (the node's
dtype; comparisons: the upcast of their inputs).  Where Theano's definition differs from the
nearest ONNX op (floor division and modulo of negative numbers, ``clip`` with crossed bounds,
``ultra_fast_sigmoid``'s piecewise formula), the lowering writes Theano's definition.
"""
import numpy as np

from ..registry import lowering
from ..schema import array, BOOL
from .checks import binary, elementwise, same_dtype, unary
from .lower import Value, cast, const


def inputs_as(node, g, args, dtype=None):
    dtype = dtype or node.dtype
    return [cast(g, a, dtype, node.scope) for a in args]


NARROW_INTS = ("int8", "uint8", "int16", "uint16")  # ONNX arithmetic takes them from opset 14


def computed_in(node, g):
    """The dtype to compute ``node`` in: its own, or int32 for narrow integers before opset 14
    (cast back after: the wrap-around of the narrow type is kept)."""
    return "int32" if node.dtype in NARROW_INTS and g.opset < 14 else node.dtype


def narrowed(node, g, out):
    return cast(g, Value(out, computed_in(node, g), node.broadcastable), node.dtype, node.scope)


def upcast(args):
    return str(np.result_type(*[np.dtype(a.dtype) for a in args]))


def simple(onnx_op, *theano_ops, since=1, check=unary):
    """``onnx_op`` on the inputs cast to the node's dtype."""

    @lowering(*theano_ops, since=since, emits=(onnx_op, "Cast"), check=check)
    def lower(node, g, args):
        return narrowed(node, g, g.node(onnx_op, inputs_as(node, g, args, computed_in(node, g)), node.scope))

    return lower


for _op, _names in (("Add", ("add",)), ("Sub", ("sub",)), ("Mul", ("mul",)), ("Div", ("true_div",)),
                    ("Max", ("maximum",)), ("Min", ("minimum",)), ("Neg", ("neg",)), ("Abs", ("abs_",)),
                    ("Sign", ("sgn",)), ("Reciprocal", ("inv",)), ("Exp", ("exp",)), ("Log", ("log",)),
                    ("Sqrt", ("sqrt",)), ("Sin", ("sin",)), ("Cos", ("cos",)), ("Tan", ("tan",)),
                    ("Asin", ("arcsin",)), ("Acos", ("arccos",)), ("Atan", ("arctan",)), ("Sinh", ("sinh",)),
                    ("Cosh", ("cosh",)), ("Tanh", ("tanh",)), ("Asinh", ("arcsinh",)), ("Acosh", ("arccosh",)),
                    ("Atanh", ("arctanh",)), ("Erf", ("erf",)), ("Floor", ("floor",)), ("Ceil", ("ceil",)),
                    ("Round", ("round_half_to_even",)), ("Identity", ("tensor_copy",)),
                    ("Sigmoid", ("nnet.sigmoid",)), ("Softplus", ("nnet.softplus",)), ("Relu", ("nnet.relu",))):
    simple(_op, *[f"theano.tensor.{n}" for n in _names],
           check=binary if _op in ("Add", "Sub", "Mul", "Div", "Max", "Min") else unary)


def check_patternbroadcast(node, inputs):
    """Only the broadcastable pattern changes: to its ``broadcastable`` attribute."""
    problem = unary(node, inputs) or same_dtype(node, inputs[0])
    if problem:
        return problem
    if node["attrs"]["broadcastable"] != node["broadcastable"]:
        return f"makes the pattern {node['attrs']['broadcastable']}, but the node says {node['broadcastable']}"
    return None


@lowering("theano.tensor.patternbroadcast", emits=("Identity",), attrs={"broadcastable": array(BOOL)},
          check=check_patternbroadcast)
def patternbroadcast(node, g, args):
    return g.node("Identity", args, node.scope)


@lowering("theano.tensor.pow", emits=("Pow", "Cast"), check=binary)
def pow_(node, g, args):
    """Theano computes ``x ** y`` in the upcast dtype."""
    return narrowed(node, g, g.node("Pow", inputs_as(node, g, args, computed_in(node, g)), node.scope))


@lowering("theano.tensor.sqr", emits=("Mul", "Cast"), check=unary)
def sqr(node, g, args):
    (x,) = inputs_as(node, g, args, computed_in(node, g))
    return narrowed(node, g, g.node("Mul", [x, x], node.scope))


def _compare(onnx_op, theano_op, negate=False):
    @lowering(f"theano.tensor.{theano_op}", emits=(onnx_op, "Not", "Cast"), check=elementwise(2, dtype="bool"))
    def lower(node, g, args):
        out = g.node(onnx_op, inputs_as(node, g, args, upcast(args)), node.scope)
        return g.node("Not", [out], node.scope) if negate else out

    return lower


_compare("Equal", "eq")
_compare("Equal", "neq", negate=True)
_compare("Less", "lt")
_compare("LessOrEqual", "le")
_compare("Greater", "gt")
_compare("GreaterOrEqual", "ge")


def _logical(onnx_bool, onnx_bits, theano_op):
    @lowering(f"theano.tensor.{theano_op}", emits=(onnx_bool, onnx_bits, "Cast"),
              check=unary if theano_op == "invert" else binary)
    def lower(node, g, args):
        if node.dtype == "bool":
            return g.node(onnx_bool, inputs_as(node, g, args), node.scope)
        if g.opset < 18:
            raise NotImplementedError(f"bitwise {theano_op} of integers needs ONNX opset 18 ({onnx_bits})")
        return g.node(onnx_bits, inputs_as(node, g, args), node.scope)

    return lower


_logical("And", "BitwiseAnd", "and_")
_logical("Or", "BitwiseOr", "or_")
_logical("Xor", "BitwiseXor", "xor")
_logical("Not", "BitwiseNot", "invert")


@lowering("theano.tensor.int_div", emits=("Div", "Floor", "Mul", "Sub", "Equal", "Not", "Less", "Xor", "And", "Cast"),
          check=binary)
def int_div(node, g, args):
    """Theano's ``//`` is floor division (Python's), also of negative integers; ONNX's integer Div
    truncates toward zero, so the quotient is corrected where the signs differ and a remainder is left."""
    a, b = inputs_as(node, g, args)
    q = g.node("Div", [a, b], node.scope)
    if node.dtype.startswith("float"):
        return g.node("Floor", [q], node.scope)
    if all(v.nonneg for v in args):  # sizes (x.shape[1] // 2): truncation is floor division
        return q
    zero = const(g, 0, node.dtype)
    remainder = g.node("Sub", [a, g.node("Mul", [q, b], node.scope)], node.scope)
    inexact = g.node("Not", [g.node("Equal", [remainder, zero], node.scope)], node.scope)
    signs_differ = g.node("Xor", [g.node("Less", [a, zero], node.scope), g.node("Less", [b, zero], node.scope)],
                          node.scope)
    fix = g.node("Cast", [g.node("And", [inexact, signs_differ], node.scope)], node.scope, to=_onnx_type(node.dtype))
    return g.node("Sub", [q, fix], node.scope)


@lowering("theano.tensor.mod", emits=("Mod", "Add", "Where", "Equal", "Not", "Less", "Xor", "And", "Cast"),
          check=binary)
def mod(node, g, args):
    """Theano's ``%`` takes the sign of the divisor (Python's): ONNX Mod for integers; for floats
    C's fmod corrected by the divisor where the signs differ, as Theano's C code does."""
    a, b = inputs_as(node, g, args)
    if not node.dtype.startswith("float"):
        return g.node("Mod", [a, b], node.scope)
    r = g.node("Mod", [a, b], node.scope, fmod=1)
    zero = const(g, 0, node.dtype)
    nonzero = g.node("Not", [g.node("Equal", [r, zero], node.scope)], node.scope)
    differ = g.node("Xor", [g.node("Less", [r, zero], node.scope), g.node("Less", [b, zero], node.scope)], node.scope)
    return g.node("Where", [g.node("And", [nonzero, differ], node.scope), g.node("Add", [r, b], node.scope), r],
                  node.scope)


def _onnx_type(dtype):
    from .lower import ONNX_DTYPES

    return ONNX_DTYPES[dtype]


@lowering("theano.tensor.switch", emits=("Where", "Cast"), check=elementwise(3))
def switch(node, g, args):
    cond = cast(g, args[0], "bool", node.scope)
    a, b = inputs_as(node, g, args[1:])
    return g.node("Where", [cond, a, b], node.scope)


@lowering("theano.tensor.clip", emits=("Clip", "Where", "Less", "Greater", "Cast"), check=elementwise(3))
def clip(node, g, args):
    """Theano: ``min if x < min, else max if x > max, else x``; ONNX Clip when the bounds are constant
    scalars in order (the same), else that definition with Where."""
    x, lo, hi = inputs_as(node, g, args)
    if lo.const is not None and hi.const is not None and lo.const.ndim == hi.const.ndim == 0 and lo.const <= hi.const:
        return g.node("Clip", [x, lo, hi], node.scope)
    above = g.node("Where", [g.node("Greater", [x, hi], node.scope), hi, x], node.scope)
    return g.node("Where", [g.node("Less", [x, lo], node.scope), lo, above], node.scope)


@lowering("theano.tensor.second", emits=("Expand", "Shape", "Cast"), check=binary)
def second(node, g, args):
    """``fill(model, value)``: ``value`` broadcast to the shape of ``model`` (and of itself)."""
    model, value = args
    value = cast(g, value, node.dtype, node.scope)
    return g.node("Expand", [value, g.node("Shape", [model], node.scope)], node.scope)


def _unary_formula(theano_op, emits):
    def deco(fn):
        @lowering(f"theano.tensor.{theano_op}", emits=emits + ("Cast",), check=unary)
        def lower(node, g, args):
            (x,) = inputs_as(node, g, args)
            return fn(node, g, x, lambda v: const(g, v, node.dtype))

        return lower

    return deco


@_unary_formula("exp2", ("Pow",))
def exp2(node, g, x, c):
    return g.node("Pow", [c(2.0), x], node.scope)


@_unary_formula("expm1", ("Exp", "Sub"))
def expm1(node, g, x, c):
    return g.node("Sub", [g.node("Exp", [x], node.scope), c(1.0)], node.scope)


@_unary_formula("log1p", ("Log", "Add"))
def log1p(node, g, x, c):
    return g.node("Log", [g.node("Add", [x, c(1.0)], node.scope)], node.scope)


@_unary_formula("log2", ("Log", "Div"))
def log2(node, g, x, c):
    return g.node("Div", [g.node("Log", [x], node.scope), c(np.log(2.0))], node.scope)


@_unary_formula("log10", ("Log", "Div"))
def log10(node, g, x, c):
    return g.node("Div", [g.node("Log", [x], node.scope), c(np.log(10.0))], node.scope)


@_unary_formula("erfc", ("Erf", "Sub"))
def erfc(node, g, x, c):
    return g.node("Sub", [c(1.0), g.node("Erf", [x], node.scope)], node.scope)


# Giles' single-precision approximation of erfinv (M. Giles, "Approximating the erfinv function", GPU Computing
# Gems Jade Edition, 2011): a polynomial in w - 2.5 where w = -log(1 - x^2) < 5, else in sqrt(w) - 3; within
# 3e-7 of erfinv in float32 over (-1, 1), tails included (tests/theano_ops/test_erfinv.py: against Theano's)
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
                   -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
                0.00943887047, 1.00167406, 2.83297682)


@_unary_formula("erfinv", ("Sub", "Add", "Mul", "Log", "Neg", "Sqrt", "Less", "Where", "Abs", "Equal"))
def erfinv(node, g, x, c):
    """ONNX has no erfinv: Giles' polynomials (above); +-inf at +-1, NaN outside [-1, 1] (the log's), as Theano."""
    s = node.scope

    def horner(t, coefficients):
        p = c(coefficients[0])
        for k in coefficients[1:]:
            p = g.node("Add", [c(k), g.node("Mul", [p, t], s)], s)
        return p

    w = g.node("Neg", [g.node("Log", [g.node("Mul", [g.node("Sub", [c(1.0), x], s),
                                                      g.node("Add", [c(1.0), x], s)], s)], s)], s)
    central = horner(g.node("Sub", [w, c(2.5)], s), _ERFINV_CENTRAL)
    tail = horner(g.node("Sub", [g.node("Sqrt", [w], s), c(3.0)], s), _ERFINV_TAIL)
    value = g.node("Mul", [g.node("Where", [g.node("Less", [w, c(5.0)], s), central, tail], s), x], s)
    edge = g.node("Equal", [g.node("Abs", [x], s), c(1.0)], s)  # the polynomial of inf is not inf
    return g.node("Where", [edge, g.node("Mul", [x, c(np.inf)], s), value], s)


@_unary_formula("trunc", ("Where", "Less", "Ceil", "Floor"))
def trunc(node, g, x, c):
    return g.node("Where", [g.node("Less", [x, c(0)], node.scope), g.node("Ceil", [x], node.scope),
                            g.node("Floor", [x], node.scope)], node.scope)


@_unary_formula("round_half_away_from_zero", ("Floor", "Ceil", "Sub", "Equal", "Less", "Where", "Round"))
def round_half_away_from_zero(node, g, x, c):
    """C's ``round``: ``Round`` (halves to even) but where ``x`` is exactly half-way (``x - floor(x)``, exact,
    is 0.5): ``floor(x)`` below 0, ``ceil(x)`` above.  (``floor(abs(x) + 0.5)`` is wrong where the addition
    rounds: 0.49999997 and odd integers from 2**23 in float32.)"""
    floor = g.node("Floor", [x], node.scope)
    half = g.node("Equal", [g.node("Sub", [x, floor], node.scope), c(0.5)], node.scope)
    away = g.node("Where", [g.node("Less", [x, c(0)], node.scope), floor, g.node("Ceil", [x], node.scope)], node.scope)
    return g.node("Where", [half, away, g.node("Round", [x], node.scope)], node.scope)


@lowering("theano.tensor.isnan", emits=("IsNaN", "Equal", "Add", "Cast"), check=elementwise(1, dtype="bool"))
def isnan(node, g, args):
    return g.node("IsNaN", [args[0]], node.scope) if args[0].dtype.startswith("float") else \
        g.node("Equal", [args[0], g.node("Add", [args[0], const(g, 1, args[0].dtype)], node.scope)], node.scope)


@lowering("theano.tensor.isinf", emits=("IsInf",), check=elementwise(1, dtype="bool"))
def isinf(node, g, args):
    if not args[0].dtype.startswith("float"):
        raise NotImplementedError("isinf of integers")
    return g.node("IsInf", [args[0]], node.scope)


@_unary_formula("nnet.ultra_fast_sigmoid", ("Mul", "Div", "Add", "Sub", "Abs", "Less", "Where", "Sign"))
def ultra_fast_sigmoid(node, g, x, c):
    """Theano's piecewise approximation of tanh(x/2) (``UltraFastScalarSigmoid``), on v = |x|/2 and
    mirrored: 1.5 v / (1 + v) below 1.7, a line up to 3, then 0.99505475368673; then (z + 1) / 2."""
    v = g.node("Abs", [g.node("Mul", [x, c(0.5)], node.scope)], node.scope)
    low = g.node("Div", [g.node("Mul", [c(1.5), v], node.scope), g.node("Add", [c(1.0), v], node.scope)], node.scope)
    mid = g.node("Add", [c(0.935409070603099), g.node("Mul", [c(0.0458812946797165),
                                                              g.node("Sub", [v, c(1.7)], node.scope)], node.scope)],
                 node.scope)
    z = g.node("Where", [g.node("Less", [v, c(1.7)], node.scope), low,
                         g.node("Where", [g.node("Less", [v, c(3.0)], node.scope), mid, c(0.99505475368673)],
                                node.scope)], node.scope)
    z = g.node("Mul", [g.node("Sign", [x], node.scope), z], node.scope)
    return g.node("Mul", [g.node("Add", [z, c(1.0)], node.scope), c(0.5)], node.scope)
