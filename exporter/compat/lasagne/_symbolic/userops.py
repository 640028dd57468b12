"""Users' own Theano ops: ``class Round3(theano.scalar.UnaryScalarOp)`` wrapped in
``theano.tensor.Elemwise``, ``class Binarize(theano.Op)`` with ``make_node`` + ``perform`` (BinaryNet,
XNOR-net and QNN code quantise weights and activations this way).

The stand-in's ``theano.Op``, ``theano.scalar.ScalarOp`` / ``UnaryScalarOp`` / ``BinaryScalarOp``,
``theano.tensor.Elemwise`` and ``theano.Apply`` are the classes below, so such classes define and
instantiate.  Applying one while tracing computes what Theano computes:

* inputs that are all literals: the user's own ``perform`` (an op) or ``impl`` (a scalar op, elementwise
  as Theano's ``numpy.frompyfunc``, the result in the output's dtype) runs on their values, and the
  result is a constant;
* otherwise (activations, or parameters: their values come from the weights file, after the build)
  the same code is traced (:mod:`.pyimpl`): numpy and Python operations on the inputs become op-table
  nodes, so a weight quantised from a parameter folds at export with the model's weights.  A scalar op
  whose ``c_code`` is one C call (``z = round(x);``) is traced as that call instead: compiled Theano
  runs the C code, and C's ``round`` rounds halves away from zero where ``numpy.round`` does not;
* code that cannot be traced (``if x > 0``, ``numpy.asarray``, an unmapped numpy function) gives a
  value whose use in an exported layer is refused, naming the class, where it is defined and the line
  that applied it.
"""
import inspect
import os
import re

import numpy as np

from . import dtypes as D
from .context import NotTraceable, is_tracing, require_theano, user_location
from .elemwise import broadcast_types
from .graph import Constant, SharedVariable, SymbolicVariable, as_variable, make_node
from .pyimpl import trace
from .registry import build

_T = "theano.tensor."


def describe_class(obj) -> str:
    """``Round3 (ops.py:12)``: the user's class and where it is defined."""
    cls = obj if isinstance(obj, type) else type(obj)
    for name in ("impl", "perform", "make_node", "__init__"):
        fn = vars(cls).get(name)
        code = getattr(fn, "__code__", None)
        if code is not None:
            return f"{cls.__qualname__} ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"
    try:
        return f"{cls.__qualname__} ({os.path.basename(inspect.getsourcefile(cls))})"
    except (TypeError, OSError):
        return cls.__qualname__


# -- scalar types and output-type rules (theano.scalar) -------------------------------------------------------
class ScalarType(object):
    """``theano.scalar.float32`` & co.: a dtype."""

    def __init__(self, dtype):
        self.dtype = str(np.dtype(dtype))

    def __eq__(self, other):
        return isinstance(other, ScalarType) and other.dtype == self.dtype

    def __hash__(self):
        return hash(self.dtype)

    def __repr__(self):
        return f"Scalar({self.dtype})"


def _dtypes(types):
    return [getattr(t, "dtype", t) for t in types]


def upcast_out(*types):
    return [ScalarType(D.upcast(*_dtypes(types)))]


def upcast_out_nobool(*types):
    dtype = D.upcast(*_dtypes(types))
    return [ScalarType("int8" if dtype == "bool" else dtype)]


def same_out(type):
    return [ScalarType(getattr(type, "dtype", type))]


def upgrade_to_float(*types):
    return [ScalarType(D.upgrade_to_float(*_dtypes(types)))]


def float_out(*types):
    return [ScalarType("float64")]


def int_out(*types):
    return [ScalarType("int64")]


same_out_nocomplex = same_out_float_only = same_out_nobool = same_out
upgrade_to_float_no_complex = upgrade_to_float
upcast_out_no_complex = upcast_out
OUTPUT_TYPE_RULES = ("upcast_out", "upcast_out_nobool", "upcast_out_no_complex", "same_out", "same_out_nocomplex",
                     "same_out_float_only", "same_out_nobool", "upgrade_to_float", "upgrade_to_float_no_complex",
                     "float_out", "int_out")


# -- the base classes ---------------------------------------------------------------------------------------
class Op(object):
    """``theano.Op`` / ``theano.gof.Op``: a user's subclass gives ``make_node`` and ``perform``."""

    __props__ = ()
    default_output = None

    def __call__(self, *inputs, **kwargs):
        if not is_tracing():
            require_theano(f"applying the Theano op {describe_class(self)}")
        node = self.make_node(*inputs, **kwargs)
        if not isinstance(node, Apply):
            raise TypeError(f"{describe_class(self)}: make_node must return theano.Apply(op, inputs, outputs)")
        outs = apply_op(self, node)
        if self.default_output is not None:
            return outs[self.default_output]
        return outs[0] if len(outs) == 1 else outs

    def make_node(self, *inputs):
        raise NotImplementedError(f"the Theano op {describe_class(self)} defines no make_node")

    def perform(self, node, inputs, output_storage):
        raise NotImplementedError(f"the Theano op {describe_class(self)} defines no perform")

    def _props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self._props() == other._props() if self.__props__ else self is other

    def __hash__(self):
        return hash((type(self), self._props())) if self.__props__ else id(self)

    def __str__(self):
        return type(self).__name__


PureOp = COp = Op


class UnmodelledBase(Op):
    """What a class deriving from a Theano class the stand-in does not model derives from."""

    def __init__(self, *args, **kwargs):
        pass


class Apply(object):
    """``theano.Apply(op, inputs, outputs)`` as a user's ``make_node`` returns it.  Until the op's
    ``__call__`` computes them, its outputs are values an export refuses (``make_node(...).outputs``)."""

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = [as_variable(i) for i in inputs]
        self.outputs = list(outputs)
        where = user_location()
        for k, out in enumerate(self.outputs):
            if not isinstance(out, SymbolicVariable):
                raise TypeError(f"theano.Apply: output {k} of {describe_class(op)} is {out!r}, not a tensor variable "
                                f"(make it with x.type() or theano.tensor.TensorType(dtype, broadcastable)())")
            out.owner = _refused_node(op, self.inputs, "its outputs were taken from make_node(), which does not "
                                      "compute them (apply the op: op(x))", where)
            out.index = k

    def __repr__(self):
        return f"Apply({describe_class(self.op)})"


def _refused_node(op, inputs, reason, where):
    from .graph import Apply as Node

    return Node(f"the Theano op {describe_class(op)}", inputs, {"reason": reason}, where, kind="lazy")


class ScalarOp(Op):
    """``theano.scalar.ScalarOp``: ``impl`` computes one element; ``output_types_preference`` (one of
    ``theano.scalar.same_out_nocomplex`` ...) its dtype.  Applied to tensors through :class:`Elemwise`."""

    nin = -1
    nout = 1

    def __init__(self, output_types_preference=None, name=None):
        self.name = name
        if output_types_preference is not None:
            self.output_types_preference = output_types_preference

    def output_types(self, types):
        rule = getattr(self, "output_types_preference", None)
        if rule is None:
            raise NotImplementedError(f"the scalar op {describe_class(self)} has no output_types_preference "
                                      f"(give one, e.g. theano.scalar.same_out_nocomplex)")
        return rule(*types)

    def impl(self, *inputs):
        raise NotImplementedError(f"the scalar op {describe_class(self)} defines no impl")

    def __call__(self, *inputs, **kwargs):
        raise TypeError(f"{describe_class(self)} is a scalar op: apply it to tensors through "
                        f"theano.tensor.Elemwise({type(self).__name__}(...))")

    def __eq__(self, other):
        return type(self) is type(other) and getattr(self, "output_types_preference", None) == getattr(
            other, "output_types_preference", None)

    def __hash__(self):
        return hash(type(self))

    def __str__(self):
        return self.name or type(self).__name__


class UnaryScalarOp(ScalarOp):
    nin = 1


class BinaryScalarOp(ScalarOp):
    nin = 2


class Elemwise(Op):
    """``theano.tensor.Elemwise(scalar_op)``: the scalar op applied to every element (inputs broadcast)."""

    def __init__(self, scalar_op, inplace_pattern=None, name=None, nfunc_spec=None, openmp=None):
        self.scalar_op = scalar_op
        self.name = name
        self.inplace_pattern = inplace_pattern or {}
        self.nfunc_spec = nfunc_spec

    def __call__(self, *inputs, **kwargs):
        if not is_tracing():
            require_theano(f"applying the Theano op Elemwise{{{self.scalar_op}}}")
        xs = [as_variable(x) for x in inputs]
        nin = getattr(self.scalar_op, "nin", -1)
        if nin not in (-1, len(xs)):
            raise TypeError(f"Elemwise{{{self.scalar_op}}} takes {nin} inputs, got {len(xs)}")
        dtypes = [t.dtype if hasattr(t, "dtype") else str(t)
                  for t in self.scalar_op.output_types([ScalarType(x.dtype) for x in xs])]
        if len(dtypes) != 1:
            raise NotTraceable(f"Elemwise of the scalar op {describe_class(self.scalar_op)} has {len(dtypes)} outputs; "
                               f"only scalar ops of one output are traced", None, user_location())
        return apply_scalar_op(self.scalar_op, xs, dtypes[0])

    def __str__(self):
        return f"Elemwise{{{self.scalar_op}}}"


# -- applying them --------------------------------------------------------------------------------------------
def _literal(x):
    return x.static_value is not None and not isinstance(x, SharedVariable)


def runs_on_activations(xs):
    """Whether any of ``xs`` depends on a free variable (a network input) rather than only on
    parameters and literals."""
    stack, seen = list(xs), set()
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if isinstance(v, (SharedVariable, Constant)):
            continue
        owner = getattr(v, "owner", None)
        if owner is None:
            return True
        stack.extend(owner.inputs)
    return False


def _refused(op, xs, dtype, broadcastable, shape, why):
    where = user_location()
    source = "values computed when the network runs" if runs_on_activations(xs) else (
        "parameters (whose values the export reads from the weights file, after the build)")
    node = _refused_node(op, xs, f"it is applied to {source}, and {why}", where)
    return SymbolicVariable(None, dtype=dtype, broadcastable=broadcastable, owner=node, shape=shape)


C_CALLS = {"round": "round_half_away_from_zero", "roundf": "round_half_away_from_zero", "rint": "round_half_to_even",
           "nearbyint": "round_half_to_even", "floor": "floor", "ceil": "ceil", "trunc": "trunc", "fabs": "abs_",
           "sqrt": "sqrt", "exp": "exp", "log": "log", "tanh": "tanh"}


def c_call(scalar_op, nin):
    """The op a scalar op's own ``c_code`` computes when it is one C call of its one input
    (``%(z)s = round(%(x)s);``), else None."""
    if nin != 1 or not any("c_code" in vars(c) for c in type(scalar_op).__mro__
                           if c.__module__.split(".")[0] not in ("theano", "lasagne", "exporter")):
        return None
    try:
        code = scalar_op.c_code(None, "node", ("i0",), ("o0",), {"fail": ""})
    except Exception:  # c_code written for Theano's own arguments: no C call to read
        return None
    m = re.fullmatch(r"\s*o0\s*=\s*(?:std::)?(\w+)\s*\(\s*i0\s*\)\s*;\s*", str(code))
    return C_CALLS.get(m.group(1)) if m else None


def scalar_impl_trace(scalar_op, xs, dtype):
    """The graph of ``scalar_op`` applied elementwise to the variables ``xs``, its result of ``dtype``:
    its one-call ``c_code``, else its ``impl`` traced on Python-number stand-ins (Theano's
    ``frompyfunc`` hands it Python floats/ints: the trace computes in float64/int64); raises
    NotTraceable."""
    call = c_call(scalar_op, len(xs))
    if call is not None:
        out = build(_T + call, xs[0])
    else:
        wide = [x if x.dtype in ("float64", "int64", "bool") else
                build(_T + "cast", x, "float64" if D.is_float(x.dtype) else "int64") for x in xs]
        out = trace(scalar_op.impl, wide, "its impl")
        if isinstance(out, list):
            raise NotTraceable(f"its impl returned {len(out)} values for one output")
        if out.broadcastable != broadcast_types(xs)[1]:  # an impl ignoring an input: still the shape of all
            for x in xs:
                out = build(_T + "second", x, out)
    return out if out.dtype == dtype else build(_T + "cast", out, dtype)


def apply_scalar_op(scalar_op, xs, dtype):
    _, bc, shape = broadcast_types(xs)
    if all(_literal(x) for x in xs) and c_call(scalar_op, len(xs)) is None:
        ufunc = np.frompyfunc(scalar_op.impl, len(xs), 1)  # what Theano's Elemwise.perform runs
        with np.errstate(all="ignore"):
            value = np.asarray(ufunc(*[np.asarray(x.static_value) for x in xs]), dtype=dtype)
        return Constant(value)
    try:
        out = scalar_impl_trace(scalar_op, xs, dtype)
    except NotTraceable as e:
        return _refused(scalar_op, xs, dtype, bc, shape, e.reason)
    if out.broadcastable != bc:
        out = build(_T + "patternbroadcast", out, bc)
    return out


def perform_trace(op, node, xs, outputs):
    """The graphs of ``op.perform(node, xs, storage)`` for the output variables ``outputs`` (their
    declared dtype and rank); raises NotTraceable."""
    storage = [[None] for _ in outputs]

    def run(*traced):
        op.perform(node, list(traced), storage)
        return [s[0] for s in storage]

    results = trace(run, xs, "its perform")
    outs = []
    for k, (value, want) in enumerate(zip(results, outputs)):
        if value is None:
            raise NotTraceable(f"its perform stored nothing in output_storage[{k}][0]")
        if value.ndim != want.ndim:
            raise NotTraceable(f"its perform gave a {value.ndim}-d output {k} where make_node "
                               f"declared {want.ndim}-d")
        outs.append(value if value.dtype == want.dtype else build(_T + "cast", value, want.dtype))
    return outs


def apply_op(op, node):
    """The outputs of a user's ``op`` for the Apply its ``make_node`` returned (see the module docstring)."""
    xs, outputs = node.inputs, node.outputs
    if all(_literal(x) for x in xs):
        storage = [[None] for _ in outputs]
        op.perform(node, [np.asarray(x.static_value) for x in xs], storage)
        return [Constant(np.asarray(s[0], dtype=o.dtype)) for s, o in zip(storage, outputs)]
    try:
        outs = perform_trace(op, node, xs, outputs)
    except NotTraceable as e:
        return [_refused(op, xs, o.dtype, o.broadcastable, o.static_shape, e.reason) for o in outputs]
    return [v if v.broadcastable == o.broadcastable else build(_T + "patternbroadcast", v, o.broadcastable)
            for v, o in zip(outs, outputs)]


__all__ = ["Op", "PureOp", "COp", "Apply", "ScalarOp", "UnaryScalarOp", "BinaryScalarOp", "Elemwise", "ScalarType",
           *OUTPUT_TYPE_RULES]
