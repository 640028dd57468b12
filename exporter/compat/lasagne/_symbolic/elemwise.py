"""Elementwise ops (Theano's ``Elemwise``): arithmetic, comparisons, float functions, nonlinearities.

Inputs of lower rank are broadcast from the left, as Theano's ``Elemwise`` pads them; an output
axis is broadcastable when it is in every input.  Dtypes follow :mod:`.dtypes`.  Composite
functions that Theano itself writes as a formula of other ops (``relu`` with a leak, ``elu``,
``selu``, ``hard_sigmoid``, ``softsign``) are traced as that formula.
"""
import numpy as np

from . import dtypes as D
from .graph import as_variable, constant, make_node
from .registry import builder


def broadcast_types(xs):
    """(ndim, broadcastable, static shape) of an elementwise result of the variables ``xs``."""
    nd = max(x.ndim for x in xs)
    bcs = [(True,) * (nd - x.ndim) + x.broadcastable for x in xs]
    shapes = [(1,) * (nd - x.ndim) + tuple(x.static_shape) for x in xs]
    bc, shape = [], []
    for i in range(nd):
        bc.append(all(b[i] for b in bcs))
        sizes = [s[i] for s, b in zip(shapes, bcs) if not b[i] and s[i] is not None]
        big = [s for s in sizes if s != 1]
        if len(set(big)) > 1:
            raise ValueError(f"elementwise op on inputs of shapes {[tuple(s) for s in shapes]}: sizes "
                             f"{sorted(set(big))} on axis {i} do not broadcast")
        if bc[i]:
            shape.append(1)
        elif big:
            shape.append(big[0])
        elif sizes and len(sizes) == sum(1 for b in bcs if not b[i]):
            shape.append(1)
        else:
            shape.append(None)
    return nd, tuple(bc), tuple(shape)


def elemwise(op, inputs, dtype_rule="upcast", attrs=None, numpy_fn=None, dtype=None):
    xs = [as_variable(x) for x in inputs]
    if dtype is None:
        dtype = _DTYPE_RULES[dtype_rule]([x.dtype for x in xs])
    nd, bc, shape = broadcast_types(xs)
    value = None
    if numpy_fn is not None and all(x.static_value is not None for x in xs):
        with np.errstate(all="ignore"):
            value = np.asarray(numpy_fn(*[x.static_value for x in xs])).astype(dtype)
    out = make_node(op, xs, attrs, dtype=dtype, broadcastable=bc, shape=shape, value=value)
    out.theano_constant = value is not None and all(x.theano_constant for x in xs)
    return out


def _true_div_dtype(dtypes):
    return D.float_x() if all(D.is_discrete(d) for d in dtypes) else D.upcast(*dtypes)


_DTYPE_RULES = {
    "upcast": lambda ds: D.upcast(*ds),
    "float": lambda ds: D.upgrade_to_float(*ds),
    "true_div": _true_div_dtype,
    "bool": lambda ds: "bool",
    "switch": lambda ds: D.upcast(*ds[1:]),
    "second": lambda ds: ds[1],
}


# -- arithmetic ---------------------------------------------------------------------------------------------
def _binary(short, numpy_fn=None, rule="upcast", extra_names=()):
    name = f"theano.tensor.{short}"

    @builder(name, *extra_names)
    def op(a, b):
        return elemwise(name, [a, b], rule, numpy_fn=numpy_fn)

    op.__name__ = short
    return op


def _variadic(short, numpy_fn):
    """add/mul take any number of inputs in Theano; traced as a left fold of binary nodes."""
    name = f"theano.tensor.{short}"

    @builder(name)
    def op(*terms):
        if len(terms) < 2:
            raise TypeError(f"theano.tensor.{short} needs at least 2 inputs")
        acc = elemwise(name, [terms[0], terms[1]], numpy_fn=numpy_fn)
        for t in terms[2:]:
            acc = elemwise(name, [acc, t], numpy_fn=numpy_fn)
        return acc

    op.__name__ = short
    return op


add = _variadic("add", np.add)
mul = _variadic("mul", np.multiply)
sub = _binary("sub", np.subtract)
true_div = _binary("true_div", np.true_divide, rule="true_div")
int_div = _binary("int_div", np.floor_divide, extra_names=("theano.tensor.floor_div",))
mod = _binary("mod", np.mod)
pow = _binary("pow", np.power)
maximum = _binary("maximum", np.maximum)
minimum = _binary("minimum", np.minimum)
floor_div = int_div

eq = _binary("eq", np.equal, rule="bool")
neq = _binary("neq", np.not_equal, rule="bool")
lt = _binary("lt", np.less, rule="bool")
le = _binary("le", np.less_equal, rule="bool")
gt = _binary("gt", np.greater, rule="bool")
ge = _binary("ge", np.greater_equal, rule="bool")


def _logical(short, numpy_fn):
    name = f"theano.tensor.{short}"

    @builder(name, f"theano.tensor.bitwise_{short.rstrip('_')}")
    def op(a, b):
        a, b = as_variable(a), as_variable(b)
        return elemwise(name, [a, b], "upcast", numpy_fn=numpy_fn)

    op.__name__ = short
    return op


and_ = _logical("and_", np.bitwise_and)
or_ = _logical("or_", np.bitwise_or)
xor = _logical("xor", np.bitwise_xor)


@builder("theano.tensor.invert", "theano.tensor.bitwise_not")
def invert(a):
    return elemwise("theano.tensor.invert", [a], "upcast", numpy_fn=np.invert)


def _unary(short, numpy_fn=None, rule="upcast", extra_names=()):
    name = f"theano.tensor.{short}"

    @builder(name, *extra_names)
    def op(a):
        return elemwise(name, [a], rule, numpy_fn=numpy_fn)

    op.__name__ = short
    return op


neg = _unary("neg", np.negative)
abs_ = _unary("abs_", np.abs, extra_names=("theano.tensor.abs",))
sqr = _unary("sqr", np.square, extra_names=("theano.tensor.square",))
sgn = _unary("sgn", np.sign, extra_names=("theano.tensor.sign",))
tensor_copy = _unary("tensor_copy")
for _short in ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "sin", "cos", "tan", "arcsin",
               "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh", "erf", "erfc", "erfinv", "floor",
               "ceil", "trunc", "inv", "isnan", "isinf"):
    globals()[_short] = _unary(_short, rule="bool" if _short in ("isnan", "isinf") else "float")


@builder("theano.tensor.round")
def round(a, mode=None):
    """Theano 1.0 rounds half to even unless told ``mode='half_away_from_zero'``."""
    mode = mode or "half_to_even"
    if mode not in ("half_to_even", "half_away_from_zero"):
        raise ValueError(f"round: unknown mode {mode!r}")
    return elemwise(f"theano.tensor.round_{mode}", [a], "float")


@builder("theano.tensor.round_half_to_even")
def round_half_to_even(a):
    return round(a, "half_to_even")


@builder("theano.tensor.round_half_away_from_zero")
def round_half_away_from_zero(a):
    return round(a, "half_away_from_zero")


@builder("theano.tensor.iround")
def iround(a, mode=None):
    return cast(round(a, mode), "int64")


@builder("theano.tensor.cast")
def cast(a, dtype):
    a = as_variable(a)
    dtype = D.float_x() if dtype == "floatX" else str(np.dtype(dtype))
    if dtype == a.dtype:
        return a
    return elemwise("theano.tensor.cast", [a], attrs={"dtype": dtype}, dtype=dtype,
                    numpy_fn=lambda v: v.astype(dtype))


@builder("theano.tensor.switch", "theano.tensor.where")
def switch(cond, ift, iff):
    return elemwise("theano.tensor.switch", [cond, ift, iff], "switch")


@builder("theano.tensor.clip")
def clip(x, a_min, a_max):
    return elemwise("theano.tensor.clip", [x, a_min, a_max], "upcast", numpy_fn=np.clip)


@builder("theano.tensor.second", "theano.tensor.fill")
def second(model, value):
    """``fill(model, value)``: ``value`` broadcast to ``model``'s shape (dtype of ``value``)."""
    return elemwise("theano.tensor.second", [model, value], "second")


# -- nonlinearities (theano.tensor.nnet) ------------------------------------------------------------------------
sigmoid = _unary("nnet.sigmoid", rule="float", extra_names=("theano.tensor.nnet.nnet.sigmoid", "theano.tensor.sigmoid",
                                                            "theano.tensor.nnet.sigm.sigmoid"))
ultra_fast_sigmoid = _unary("nnet.ultra_fast_sigmoid", rule="float",
                            extra_names=("theano.tensor.nnet.sigm.ultra_fast_sigmoid",))
softplus = _unary("nnet.softplus", rule="float", extra_names=("theano.tensor.nnet.nnet.softplus",
                                                              "theano.tensor.softplus",
                                                              "theano.tensor.nnet.sigm.softplus"))


@builder("theano.tensor.nnet.hard_sigmoid", "theano.tensor.nnet.sigm.hard_sigmoid")
def hard_sigmoid(x):
    """Theano's formula: ``clip(x * 0.2 + 0.5, 0, 1)`` in the float dtype of ``x``."""
    x = as_variable(x)
    dt = D.upgrade_to_float(x.dtype)
    return clip(add(mul(x, constant(0.2, dtype=dt)), constant(0.5, dtype=dt)), 0, 1)


@builder("theano.tensor.nnet.relu", "theano.tensor.nnet.nnet.relu")
def relu(x, alpha=0):
    """``max(0, x)``; with a leak ``alpha``, Theano's ``0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * abs(x)``."""
    x = as_variable(x)
    if not hasattr(alpha, "ndim") and alpha == 0:
        return elemwise("theano.tensor.nnet.relu", [x], dtype=D.upcast(x.dtype, D.float_x()))
    alpha = as_variable(alpha)
    f1 = mul(0.5, add(1, alpha))
    f2 = mul(0.5, sub(1, alpha))
    return add(mul(f1, x), mul(f2, abs_(x)))


@builder("theano.tensor.nnet.elu", "theano.tensor.nnet.nnet.elu")
def elu(x, alpha=1):
    """Theano's ``switch(x > 0, x, alpha * expm1(x))``."""
    x = as_variable(x)
    return switch(gt(x, 0), x, mul(alpha, expm1(x)))


@builder("theano.tensor.nnet.selu", "theano.tensor.nnet.nnet.selu")
def selu(x):
    """Theano's ``scale * elu(x, alpha)`` with SELU's constants."""
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return mul(scale, elu(x, alpha))


@builder("theano.tensor.nnet.softsign", "theano.tensor.nnet.nnet.softsign")
def softsign(x):
    """``x / (1 + abs(x))``."""
    return true_div(x, add(1, abs_(x)))
