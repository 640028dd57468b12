"""Theano's tensor-variable interface (``_tensor_py_operators``): operators, indexing and methods.

While tracing, each builds a graph node through the table of op builders (:func:`.registry.build`):
``x + y`` is ``theano.tensor.add(x, y)``, ``x.sum(axis=1)`` is ``theano.tensor.sum(x, axis=1)``,
``x[:, ::2]`` is a ``Subtensor``.  Outside tracing each raises :class:`TheanoRequiredError` naming
itself.  This mixin sits below the graph objects and the op families: it imports only ``context``
and ``registry``.
"""
import functools
import numbers

import numpy as np

from .context import LazyValue, NotTraceable, TheanoRequiredError, _LazyUse, is_tracing, require_theano, user_location
from .registry import build

# ops whose result Python's ``if``/``while``/``and`` would branch on
COMPARISONS = frozenset(f"theano.tensor.{n}" for n in ("eq", "neq", "lt", "le", "gt", "ge"))


def _traced(label):
    """Wrap a method so that it builds nodes only while tracing; ``label`` names it in the error."""

    def deco(fn):
        @functools.wraps(fn)
        def method(self, *args, **kwargs):
            if not is_tracing():
                self._refuse(label)
            try:
                return fn(self, *args, **kwargs)
            except _LazyUse as e:
                return e.lazy

        return method

    return deco


def _binary(name, op_name, reflected=False):
    @_traced(f"operator __{name}__")
    def op(self, other):
        if _is_foreign(other):
            return NotImplemented
        return build(op_name, other, self) if reflected else build(op_name, self, other)

    op.__name__ = f"__{name}__"
    return op


def _is_foreign(other):
    """Objects Theano's operators do not take (so that Python tries the other operand's method)."""
    if isinstance(other, (bool, np.bool_)):  # Theano refuses Python bools as operands
        return True
    if isinstance(other, (TensorOperators, LazyValue, numbers.Number, np.ndarray, np.generic, list, tuple)):
        return False
    return True


class TensorOperators(object):
    """Mixin of the stand-in's tensor variables (see the module docstring)."""

    _kind = "symbolic variable"
    __array_ufunc__ = None  # numpy hands ``np.float32(2) * x`` to x.__rmul__, as with Theano's variables
    __array_priority__ = 1000

    def _refuse(self, op):
        require_theano(f"{op} on {self._kind} {self.name!r}")

    # -- Python protocols ------------------------------------------------------------------------------
    def __bool__(self):
        owner = getattr(self, "owner", None)
        if is_tracing() and owner is not None and owner.op in COMPARISONS:
            raise NotTraceable(
                "Python control flow on a symbolic value (if/while/and/or on a comparison) cannot be traced: the "
                "condition is known only when the network runs (Theano refuses it too); use theano.tensor.switch",
                owner.op, user_location())
        return True

    def __iter__(self):
        if not is_tracing():
            self._refuse("iteration")
        length = self.static_shape[0] if self.ndim == 1 else None
        if length is None:
            raise TypeError(f"{self!r} ({self.ndim}-d) cannot be iterated over: its length is not known while the "
                            f"graph is built (iterate over range(n) and index instead)")
        for i in range(length):
            yield self[i]

    def __len__(self):
        raise TypeError("objects of type TensorVariable have no len(); use x.shape[0] (symbolic) instead")

    def _no_number(self, what):
        def refuse(*args):
            if not is_tracing():
                self._refuse(what)
            raise NotTraceable(f"{what} of a symbolic value cannot be traced: its value is known only when the "
                               f"network runs", repr(self), user_location())
        return refuse

    def __int__(self):
        return self._no_number("int()")()

    def __float__(self):
        return self._no_number("float()")()

    def __index__(self):
        return self._no_number("use as a Python int")()

    def __array__(self, *args, **kwargs):
        return self._no_number("conversion to a numpy array")()

    __hash__ = object.__hash__

    # -- indexing --------------------------------------------------------------------------------------
    @_traced("indexing")
    def __getitem__(self, item):
        return build("theano.tensor.var._tensor_py_operators.__getitem__", self, item)

    def __setitem__(self, item, value):
        raise TypeError("Theano variables are immutable: use theano.tensor.set_subtensor(x[...], value)")

    # -- shape and type ----------------------------------------------------------------------------------
    @property
    def shape(self):
        if not is_tracing():
            raise AttributeError(f"{type(self).__name__} has no attribute 'shape' outside tracing")
        return build("theano.tensor.shape", self)

    @property
    def size(self):
        if not is_tracing():
            raise AttributeError(f"{type(self).__name__} has no attribute 'size' outside tracing")
        return build("theano.tensor.prod", self.shape)

    @property
    def T(self):
        if not is_tracing():
            self._refuse(".T")
        return build("theano.tensor.transpose", self)

    @_traced(".transpose()")
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return build("theano.tensor.transpose", self, axes or None)

    @_traced(".dimshuffle()")
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = pattern[0]
        return build("theano.tensor.dimshuffle", self, pattern)

    @_traced(".reshape()")
    def reshape(self, shape, ndim=None):
        return build("theano.tensor.reshape", self, shape, ndim=ndim)

    @_traced(".flatten()")
    def flatten(self, ndim=1, outdim=None):
        return build("theano.tensor.flatten", self, outdim if outdim is not None else ndim)

    @_traced(".ravel()")
    def ravel(self):
        return build("theano.tensor.flatten", self, 1)

    @_traced(".squeeze()")
    def squeeze(self):
        return build("theano.tensor.squeeze", self)

    @_traced(".swapaxes()")
    def swapaxes(self, axis1, axis2):
        return build("theano.tensor.swapaxes", self, axis1, axis2)

    @_traced(".astype()")
    def astype(self, dtype):
        return build("theano.tensor.cast", self, dtype)

    @_traced(".copy()")
    def copy(self, name=None):
        out = build("theano.tensor.tensor_copy", self)
        out.name = name
        return out

    @_traced(".repeat()")
    def repeat(self, repeats, axis=None):
        return build("theano.tensor.repeat", self, repeats, axis)

    @_traced(".take()")
    def take(self, indices, axis=None, mode="raise"):
        return build("theano.tensor.take", self, indices, axis, mode)

    @_traced(".nonzero()")
    def nonzero(self, return_matrix=False):
        raise NotTraceable("nonzero() has a data-dependent shape and is not traced", "nonzero", user_location())

    # -- reductions -----------------------------------------------------------------------------------------
    @_traced(".sum()")
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return build("theano.tensor.sum", self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".prod()")
    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return build("theano.tensor.prod", self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".mean()")
    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return build("theano.tensor.mean", self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".var()")
    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return build("theano.tensor.var", self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    @_traced(".std()")
    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return build("theano.tensor.std", self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    @_traced(".max()")
    def max(self, axis=None, keepdims=False):
        return build("theano.tensor.max", self, axis=axis, keepdims=keepdims)

    @_traced(".min()")
    def min(self, axis=None, keepdims=False):
        return build("theano.tensor.min", self, axis=axis, keepdims=keepdims)

    @_traced(".argmax()")
    def argmax(self, axis=None, keepdims=False):
        return build("theano.tensor.argmax", self, axis=axis, keepdims=keepdims)

    @_traced(".argmin()")
    def argmin(self, axis=None, keepdims=False):
        return build("theano.tensor.argmin", self, axis=axis, keepdims=keepdims)

    @_traced(".any()")
    def any(self, axis=None, keepdims=False):
        return build("theano.tensor.any", self, axis=axis, keepdims=keepdims)

    @_traced(".all()")
    def all(self, axis=None, keepdims=False):
        return build("theano.tensor.all", self, axis=axis, keepdims=keepdims)

    @_traced(".norm()")
    def norm(self, L, axis=None, keepdims=False):
        return build("theano.tensor.norm", self, L, axis=axis, keepdims=keepdims)

    @_traced(".cumsum()")
    def cumsum(self, axis=None):
        return build("theano.tensor.cumsum", self, axis)

    # -- elementwise methods ----------------------------------------------------------------------------------
    @_traced(".clip()")
    def clip(self, a_min, a_max):
        return build("theano.tensor.clip", self, a_min, a_max)

    @_traced(".round()")
    def round(self, mode=None):
        return build("theano.tensor.round", self, mode)

    @_traced(".dot()")
    def dot(self, other):
        return build("theano.tensor.dot", self, other)

    @_traced(".zeros_like()")
    def zeros_like(self, dtype=None):
        return build("theano.tensor.zeros_like", self, dtype)

    @_traced(".ones_like()")
    def ones_like(self, dtype=None):
        return build("theano.tensor.ones_like", self, dtype)

    @_traced(".eval()")
    def eval(self, inputs_to_values=None):
        raise TheanoRequiredError(f"evaluating {self!r} (.eval() at {user_location() or 'an unknown line'}) "
                                  f"needs Theano: lasagne2onnx's Theano-free API only builds networks for export")


for _name, _fn in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "true_div"), ("div", "true_div"),
                   ("floordiv", "floor_div"), ("mod", "mod"), ("pow", "pow"), ("and", "and_"), ("or", "or_"),
                   ("xor", "xor"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
    setattr(TensorOperators, f"__{_name}__", _binary(_name, f"theano.tensor.{_fn}"))
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(TensorOperators, f"__r{_name}__", _binary(f"r{_name}", f"theano.tensor.{_fn}", reflected=True))


def _unary(name, op_name):
    @_traced(f"operator __{name}__")
    def op(self):
        return build(op_name, self)

    op.__name__ = f"__{name}__"
    return op


for _name, _fn in (("neg", "neg"), ("abs", "abs_"), ("invert", "invert"), ("pos", "tensor_copy")):
    setattr(TensorOperators, f"__{_name}__", _unary(_name, f"theano.tensor.{_fn}"))
