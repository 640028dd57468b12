"""The symbolic graph of the Theano stand-in: variables, the nodes that made them, and tracing.

Real Theano builds a graph of ``Variable``s, each made by an ``Apply`` of an op to other variables.
The stand-in does the same, with plain Python objects:

* :class:`SymbolicVariable` is a tensor variable: ``dtype``, ``broadcastable`` (hence ``ndim``) as
  Theano infers them, the :class:`Apply` node that made it (``owner``, None for a free variable such
  as a network input), and what the stand-in knows statically (``static_shape``: sizes or None;
  ``static_value``: the numpy value of shape arithmetic the sizes decide).  Neither static field is
  Theano's; they only serve checks and messages, never the exported computation.
* :class:`SharedVariable` is ``theano.shared``: a numpy value, usable as a leaf of the graph.
* :class:`Constant` is a literal (``x * 2``: Theano's dtype rules decide its dtype).
* :class:`Apply` records the op's public Theano name (``theano.tensor.sum``), its inputs, its
  non-tensor arguments (``attrs``: axis, keepdims ...) and where in the user's code it was made.
* :class:`LazyValue` is what a Theano function the stand-in does not model returns while tracing
  (``theano.function``, ``T.grad`` of unknown things, ``T.extra_ops.cumsum`` ...): any operation on it
  gives another; exporting a layer that depends on one is refused, naming the op and the line.

Operations build nodes only inside :func:`tracing` (the exporter runs build functions and traces
layers inside it); outside, they raise :class:`TheanoRequiredError` as they always did, so a user
who reaches for the Theano-free API to compute something learns at once that it cannot.

The tracing context, the refusals and :class:`LazyValue` live in ``context``, the table of op
builders in ``registry`` (both below this module, which re-exports their names); the op families
sit above it, and the variables' operators reach them through the table.
"""
import types

import numpy as np

from . import dtypes as D
from .context import (_EXPORTER_DIR, LazyValue, NotTraceable, TheanoRequiredError, _LazyUse, find_lazy,  # noqa: F401
                      is_tracing, lazy, require_theano, tracing, user_location)
from .operators import TensorOperators
from .registry import BUILDERS, build, builder, call_builder  # noqa: F401


# -- graph objects ---------------------------------------------------------------------------------------
class Apply(object):
    """One application of an op: ``op`` (Theano's public dotted name), ``inputs`` (variables),
    ``attrs`` (plain values: axes, flags, ...), ``where`` (the user's ``file:line``).
    ``kind`` is None for computation, "random" for sampling, "lazy" for a result the export cannot
    use (a gradient, an update)."""

    __slots__ = ("op", "inputs", "attrs", "where", "kind")

    def __init__(self, op, inputs, attrs=None, where=None, kind=None):
        self.op = op
        self.inputs = list(inputs)
        self.attrs = dict(attrs or {})
        self.where = where
        self.kind = kind

    def __repr__(self):
        return f"<{self.op} at {self.where}>"


class TensorType(object):
    """``var.type``: dtype and broadcastable pattern; calling it makes a free variable, as in Theano."""

    def __init__(self, dtype, broadcastable, name=None):
        self.dtype = str(dtype)
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.name = name

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        return SymbolicVariable(name, dtype=self.dtype, broadcastable=self.broadcastable)

    make_variable = __call__  # Theano's Type.make_variable (users' ops: Apply(self, [x], [x.type.make_variable()]))

    def __eq__(self, other):
        return (isinstance(other, TensorType) and self.dtype == other.dtype
                and self.broadcastable == other.broadcastable)

    def __hash__(self):
        return hash((self.dtype, self.broadcastable))

    def __repr__(self):
        return f"TensorType({self.dtype}, {self.broadcastable})"


class SymbolicVariable(TensorOperators):
    """A Theano tensor variable: a free one (network inputs, ``T.tensor4('x')``) or the result of
    an op (``owner``)."""

    _kind = "symbolic variable"

    def __init__(self, name=None, ndim=None, dtype=None, broadcastable=None, owner=None, shape=None):
        if broadcastable is None:
            if ndim is None:
                raise ValueError("SymbolicVariable needs ndim or broadcastable")
            broadcastable = (False,) * ndim
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.dtype = str(np.dtype(dtype)) if dtype is not None else D.float_x()
        self.name = name
        self.owner = owner
        if shape is None:
            shape = (None,) * len(self.broadcastable)
        self.static_shape = tuple(1 if b else (None if s is None else int(s))
                                  for s, b in zip(shape, self.broadcastable))
        self.static_value = None
        self.theano_constant = False  # whether Theano's get_scalar_constant_value knows static_value
        self.tag = types.SimpleNamespace()

    @property
    def ndim(self):
        return len(self.broadcastable)

    @property
    def type(self):
        return TensorType(self.dtype, self.broadcastable)

    def __repr__(self):
        if self.name:
            return self.name
        if self.owner is not None:
            return f"{self.owner.op.rsplit('.', 1)[-1]}.0"
        return f"<{self.dtype} {self.ndim}-d variable>"

    __str__ = __repr__


class SharedVariable(SymbolicVariable):
    """A parameter backed by a numpy array (Theano's ``theano.shared``, without Theano).

    Identity is the object itself (hashable, not comparable by value), as with Theano variables,
    so one parameter object shared between layers is counted once by ``get_all_params``.  Unlike
    Theano's, ``shape`` is the value's (a tuple of ints): a shared variable's size is fixed.
    """

    _kind = "shared variable"

    def __init__(self, value, name=None, strict=False, allow_downcast=None, borrow=False,
                 broadcastable=None):
        if isinstance(value, SharedVariable):
            value = value.get_value(borrow=True)
        if not isinstance(value, np.ndarray):
            if isinstance(value, (list, tuple)) or np.isscalar(value) or isinstance(value, np.generic):
                value = np.asarray(value)
            else:
                raise TypeError(f"shared(): value must be a numpy array or a number, got {type(value).__name__}")
        value = value if borrow else np.array(value, copy=True)
        self._value = value
        self.name = name
        self.owner = None
        self.static_value = None
        self.theano_constant = False
        self.tag = types.SimpleNamespace()
        if broadcastable is None:
            broadcastable = (False,) * value.ndim
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        if len(self.broadcastable) != value.ndim:
            raise ValueError(f"shared(): broadcastable {broadcastable} does not match a {value.ndim}-d value")

    # -- Theano's SharedVariable interface ---------------------------------------------------------
    def get_value(self, borrow=False, return_internal_type=False):
        return self._value if borrow else self._value.copy()

    def set_value(self, new_value, borrow=False):
        new_value = np.asarray(new_value)
        if new_value.ndim != self._value.ndim:
            raise TypeError(f"set_value on {self.name or 'a shared variable'!r}: expected a "
                            f"{self._value.ndim}-d value, got {new_value.ndim}-d (shape {new_value.shape})")
        if new_value.dtype != self._value.dtype:
            new_value = new_value.astype(self._value.dtype)
        elif not borrow:
            new_value = new_value.copy()
        self._value = new_value

    @property
    def dtype(self):
        return str(self._value.dtype)

    @dtype.setter
    def dtype(self, value):  # the base constructor is not used; the value decides
        pass

    @property
    def shape(self):
        """The value's shape (a tuple; Theano's is symbolic)."""
        return self._value.shape

    @property
    def static_shape(self):
        return tuple(self._value.shape)

    def __repr__(self):
        return self.name if self.name else f"<SharedVariable {self._value.dtype}{list(self._value.shape)}>"

    __str__ = __repr__


class Constant(SymbolicVariable):
    """A literal value in the graph (``data``: a numpy array)."""

    _kind = "constant"

    def __init__(self, value, name=None):
        value = np.asarray(value)
        super().__init__(name, dtype=value.dtype, broadcastable=[d == 1 for d in value.shape], shape=value.shape)
        self.data = value
        self.static_value = value
        self.theano_constant = True

    @property
    def value(self):
        return self.data

    def __repr__(self):
        return self.name or (repr(self.data.item()) if self.data.ndim == 0 else f"Constant{list(self.data.shape)}")

    __str__ = __repr__


# -- making nodes -----------------------------------------------------------------------------------------
def theano_constant(v):
    """The value Theano's ``get_scalar_constant_value`` finds for the scalar ``v`` (literals, sizes of
    broadcastable axes, elementwise arithmetic of those), or None: what makes a reshaped or allocated
    axis broadcastable."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, SymbolicVariable) and v.theano_constant and v.static_value is not None:
        return v.static_value
    return None


def is_variable(x) -> bool:
    return isinstance(x, SymbolicVariable)


def constant(value, dtype=None, name=None) -> Constant:
    if dtype is not None:
        return Constant(np.asarray(value, dtype=dtype), name=name)
    auto = D.autocast_value(value)
    if auto is None:
        auto = np.asarray(value)
        if auto.size == 0 and not hasattr(value, "dtype"):
            auto = np.asarray(value, dtype=D.float_x())
    if auto.dtype.kind not in "biuf":
        raise TypeError(f"cannot make a Theano constant of {value!r} ({auto.dtype})")
    return Constant(auto, name=name)


def as_variable(x, name=None):
    """Theano's ``as_tensor_variable``: a variable stays, numbers and arrays become constants, a list
    holding variables becomes their ``stack`` (Theano's MakeVector)."""
    if isinstance(x, SymbolicVariable):
        return x
    if isinstance(x, LazyValue):
        raise _LazyUse(x)
    if isinstance(x, (list, tuple)):
        if any(isinstance(e, (SymbolicVariable, LazyValue)) for e in x) or any(isinstance(e, (list, tuple)) for e in x):
            return build("theano.tensor.stack", [as_variable(e) for e in x])
    if hasattr(x, "output_shape") and hasattr(x, "get_output_for"):
        raise TypeError(f"a Lasagne layer ({type(x).__name__}) was used where a Theano expression was "
                        f"expected; use lasagne.layers.get_output(layer)")
    return constant(x, name=name)


def make_node(op, inputs, attrs=None, dtype=None, broadcastable=None, shape=None, value=None, kind=None, name=None):
    """A new variable made by ``op`` applied to ``inputs`` (variables), with its inferred type."""
    node = Apply(op, inputs, attrs, user_location(), kind)
    out = SymbolicVariable(name, dtype=dtype, broadcastable=broadcastable, owner=node, shape=shape)
    if value is not None:
        out.static_value = np.asarray(value)
    return out


@builder("theano.tensor.constant", "theano.tensor.basic.constant")
def constant_builder(x, name=None, ndim=None, dtype=None):
    c = constant(x, dtype=dtype, name=name)
    if ndim is not None and c.ndim < ndim:
        c = Constant(c.data.reshape((1,) * (ndim - c.ndim) + c.data.shape), name=name)
    return c


@builder("theano.tensor.as_tensor_variable", "theano.tensor.as_tensor", "theano.tensor.basic.as_tensor_variable")
def as_tensor_variable(x, name=None, ndim=None):
    v = as_variable(x, name=name)
    if ndim is not None and v.ndim != ndim:
        if v.ndim > ndim:
            raise ValueError(f"as_tensor_variable: {v!r} has {v.ndim} dimensions, more than ndim={ndim}")
        v = build("theano.tensor.shape_padleft", v, ndim - v.ndim)
    return v
