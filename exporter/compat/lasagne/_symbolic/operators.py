"""Theano's tensor-variable interface (``_tensor_py_operators``): operators, indexing and methods.

While tracing, each builds a graph node through the functions in :mod:`.tensor` (``x + y`` is
``theano.tensor.add(x, y)``, ``x.sum(axis=1)`` is ``theano.tensor.sum(x, axis=1)``, ``x[:, ::2]``
is a ``Subtensor``).  Outside tracing each raises :class:`TheanoRequiredError` naming itself.
"""
import functools


def _tensor():
    from . import tensor

    return tensor


def _graph():
    from . import graph

    return graph


def _traced(label):
    """Wrap a method so that it builds nodes only while tracing; ``label`` names it in the error."""

    def deco(fn):
        @functools.wraps(fn)
        def method(self, *args, **kwargs):
            g = _graph()
            if not g.is_tracing():
                self._refuse(label)
            try:
                return fn(self, *args, **kwargs)
            except g._LazyUse as e:
                return e.lazy

        return method

    return deco


def _binary(name, fn_name, reflected=False):
    @_traced(f"operator __{name}__")
    def op(self, other):
        T = _tensor()
        if _is_foreign(other):
            return NotImplemented
        f = getattr(T, fn_name)
        return f(other, self) if reflected else f(self, other)

    op.__name__ = f"__{name}__"
    return op


def _is_foreign(other):
    """Objects Theano's operators do not take (so that Python tries the other operand's method)."""
    import numbers

    import numpy as np

    g = _graph()
    if isinstance(other, (bool, np.bool_)):  # Theano refuses Python bools as operands
        return True
    if isinstance(other, (g.SymbolicVariable, g.LazyValue, numbers.Number, np.ndarray, np.generic, list, tuple)):
        return False
    return True


class TensorOperators(object):
    """Mixin of the stand-in's tensor variables (see the module docstring)."""

    _kind = "symbolic variable"
    __array_ufunc__ = None  # numpy hands ``np.float32(2) * x`` to x.__rmul__, as with Theano's variables
    __array_priority__ = 1000

    def _refuse(self, op):
        _graph().require_theano(f"{op} on {self._kind} {self.name!r}")

    # -- Python protocols ------------------------------------------------------------------------------
    def __bool__(self):
        owner = getattr(self, "owner", None)
        if _graph().is_tracing() and owner is not None and owner.op in _tensor().COMPARISONS:
            raise _graph().NotTraceable(
                "Python control flow on a symbolic value (if/while/and/or on a comparison) cannot be traced: the "
                "condition is known only when the network runs (Theano refuses it too); use theano.tensor.switch",
                owner.op, _graph().user_location())
        return True

    def __iter__(self):
        g = _graph()
        if not g.is_tracing():
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
            g = _graph()
            if not g.is_tracing():
                self._refuse(what)
            raise g.NotTraceable(f"{what} of a symbolic value cannot be traced: its value is known only when the "
                                 f"network runs", repr(self), g.user_location())
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
        return _tensor().getitem(self, item)

    def __setitem__(self, item, value):
        raise TypeError("Theano variables are immutable: use theano.tensor.set_subtensor(x[...], value)")

    # -- shape and type ----------------------------------------------------------------------------------
    @property
    def shape(self):
        if not _graph().is_tracing():
            raise AttributeError(f"{type(self).__name__} has no attribute 'shape' outside tracing")
        return _tensor().shape(self)

    @property
    def size(self):
        if not _graph().is_tracing():
            raise AttributeError(f"{type(self).__name__} has no attribute 'size' outside tracing")
        return _tensor().prod(self.shape)

    @property
    def T(self):
        if not _graph().is_tracing():
            self._refuse(".T")
        return _tensor().transpose(self)

    @_traced(".transpose()")
    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (list, tuple)):
            axes = axes[0]
        return _tensor().transpose(self, axes or None)

    @_traced(".dimshuffle()")
    def dimshuffle(self, *pattern):
        if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
            pattern = pattern[0]
        return _tensor().dimshuffle(self, pattern)

    @_traced(".reshape()")
    def reshape(self, shape, ndim=None):
        return _tensor().reshape(self, shape, ndim=ndim)

    @_traced(".flatten()")
    def flatten(self, ndim=1, outdim=None):
        return _tensor().flatten(self, outdim if outdim is not None else ndim)

    @_traced(".ravel()")
    def ravel(self):
        return _tensor().flatten(self, 1)

    @_traced(".squeeze()")
    def squeeze(self):
        return _tensor().squeeze(self)

    @_traced(".swapaxes()")
    def swapaxes(self, axis1, axis2):
        return _tensor().swapaxes(self, axis1, axis2)

    @_traced(".astype()")
    def astype(self, dtype):
        return _tensor().cast(self, dtype)

    @_traced(".copy()")
    def copy(self, name=None):
        out = _tensor().tensor_copy(self)
        out.name = name
        return out

    @_traced(".repeat()")
    def repeat(self, repeats, axis=None):
        return _tensor().repeat(self, repeats, axis)

    @_traced(".take()")
    def take(self, indices, axis=None, mode="raise"):
        return _tensor().take(self, indices, axis, mode)

    @_traced(".nonzero()")
    def nonzero(self, return_matrix=False):
        raise _graph().NotTraceable("nonzero() has a data-dependent shape and is not traced", "nonzero",
                                    _graph().user_location())

    # -- reductions -----------------------------------------------------------------------------------------
    @_traced(".sum()")
    def sum(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor().sum(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".prod()")
    def prod(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor().prod(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".mean()")
    def mean(self, axis=None, dtype=None, keepdims=False, acc_dtype=None):
        return _tensor().mean(self, axis=axis, dtype=dtype, keepdims=keepdims, acc_dtype=acc_dtype)

    @_traced(".var()")
    def var(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _tensor().var(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    @_traced(".std()")
    def std(self, axis=None, ddof=0, keepdims=False, corrected=False):
        return _tensor().std(self, axis=axis, ddof=ddof, keepdims=keepdims, corrected=corrected)

    @_traced(".max()")
    def max(self, axis=None, keepdims=False):
        return _tensor().max(self, axis=axis, keepdims=keepdims)

    @_traced(".min()")
    def min(self, axis=None, keepdims=False):
        return _tensor().min(self, axis=axis, keepdims=keepdims)

    @_traced(".argmax()")
    def argmax(self, axis=None, keepdims=False):
        return _tensor().argmax(self, axis=axis, keepdims=keepdims)

    @_traced(".argmin()")
    def argmin(self, axis=None, keepdims=False):
        return _tensor().argmin(self, axis=axis, keepdims=keepdims)

    @_traced(".any()")
    def any(self, axis=None, keepdims=False):
        return _tensor().any(self, axis=axis, keepdims=keepdims)

    @_traced(".all()")
    def all(self, axis=None, keepdims=False):
        return _tensor().all(self, axis=axis, keepdims=keepdims)

    @_traced(".norm()")
    def norm(self, L, axis=None, keepdims=False):
        return _tensor().norm(self, L, axis=axis, keepdims=keepdims)

    @_traced(".cumsum()")
    def cumsum(self, axis=None):
        return _tensor().cumsum(self, axis)

    # -- elementwise methods ----------------------------------------------------------------------------------
    @_traced(".clip()")
    def clip(self, a_min, a_max):
        return _tensor().clip(self, a_min, a_max)

    @_traced(".round()")
    def round(self, mode=None):
        return _tensor().round(self, mode)

    @_traced(".dot()")
    def dot(self, other):
        return _tensor().dot(self, other)

    @_traced(".zeros_like()")
    def zeros_like(self, dtype=None):
        return _tensor().zeros_like(self, dtype)

    @_traced(".ones_like()")
    def ones_like(self, dtype=None):
        return _tensor().ones_like(self, dtype)

    @_traced(".eval()")
    def eval(self, inputs_to_values=None):
        g = _graph()
        raise g.TheanoRequiredError(f"evaluating {self!r} (.eval() at {g.user_location() or 'an unknown line'}) "
                                    f"needs Theano: lasagne2onnx's Theano-free API only builds networks for export")


for _name, _fn in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "true_div"), ("div", "true_div"),
                   ("floordiv", "floor_div"), ("mod", "mod"), ("pow", "pow"), ("and", "and_"), ("or", "or_"),
                   ("xor", "xor"), ("lt", "lt"), ("le", "le"), ("gt", "gt"), ("ge", "ge")):
    setattr(TensorOperators, f"__{_name}__", _binary(_name, _fn))
    if _name not in ("lt", "le", "gt", "ge"):
        setattr(TensorOperators, f"__r{_name}__", _binary(f"r{_name}", _fn, reflected=True))


def _unary(name, fn_name):
    @_traced(f"operator __{name}__")
    def op(self):
        return getattr(_tensor(), fn_name)(self)

    op.__name__ = f"__{name}__"
    return op


for _name, _fn in (("neg", "neg"), ("abs", "abs_"), ("invert", "invert"), ("pos", "tensor_copy")):
    setattr(TensorOperators, f"__{_name}__", _unary(_name, _fn))
