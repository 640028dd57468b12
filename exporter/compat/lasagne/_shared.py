"""Theano-free stand-ins for the two Theano objects network-building code touches.

* :class:`SharedVariable` holds a parameter's value in a numpy array; it has Theano's
  ``get_value(borrow=...)`` / ``set_value`` / ``name`` interface and nothing symbolic.
* :class:`SymbolicVariable` is what ``theano.tensor.matrix()`` & co. and ``InputLayer`` hand out:
  a named placeholder with ``ndim``/``dtype``/``broadcastable`` that refuses every computation.

Everything that would build a Theano graph raises :class:`TheanoRequiredError`.
"""
import numpy as np

__all__ = ["TheanoRequiredError", "SharedVariable", "SymbolicVariable", "theano_op", "require_theano"]

FLOATX = "float32"


class TheanoRequiredError(RuntimeError):
    """Raised by every operation that needs Theano's symbolic computation."""


def require_theano(what):
    raise TheanoRequiredError(
        f"{what} needs Theano: lasagne2onnx's Theano-free Lasagne API only builds networks "
        f"(layers, shapes and parameter values); it cannot compute or train them. "
        f"Export the network to ONNX and run it with onnxruntime, or use real Lasagne on Theano.")


class _NoSymbolicOps:
    """Arithmetic, indexing and Theano tensor methods raise a clear error."""

    _kind = "symbolic variable"

    def _refuse(self, op):
        require_theano(f"{op} on {self._kind} {self.name!r}")

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr in _TENSOR_METHODS:
            def method(*args, **kwargs):
                self._refuse(f".{attr}()")
            return method
        raise AttributeError(f"{type(self).__name__!s} has no attribute {attr!r}")

    def __getitem__(self, item):
        self._refuse("indexing")

    def __bool__(self):
        return True

    def __iter__(self):
        self._refuse("iteration")


_TENSOR_METHODS = frozenset(
    "dimshuffle reshape flatten sum mean max min var std prod dot transpose astype clip norm "
    "nonzero sort argmax argmin repeat round squeeze any all cumsum eval".split())


def _binary(name):
    def op(self, *args):
        self._refuse(f"operator {name}")
    op.__name__ = name
    return op


for _name in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow neg pos abs "
              "lt le gt ge matmul rmatmul and or xor invert").split():
    setattr(_NoSymbolicOps, f"__{_name}__", _binary(f"__{_name}__"))


class SharedVariable(_NoSymbolicOps):
    """A parameter backed by a numpy array (Theano's ``theano.shared``, without Theano).

    Identity is the object itself (hashable, not comparable by value), as with Theano variables,
    so one parameter object shared between layers is counted once by ``get_all_params``.
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
    def ndim(self):
        return self._value.ndim

    @property
    def dtype(self):
        return str(self._value.dtype)

    @property
    def shape(self):
        """The value's shape (a tuple; Theano's is symbolic)."""
        return self._value.shape

    def __repr__(self):
        return self.name if self.name else f"<SharedVariable {self._value.dtype}{list(self._value.shape)}>"

    __str__ = __repr__


class SymbolicVariable(_NoSymbolicOps):
    """A named placeholder for a Theano tensor variable (network inputs, ``T.tensor4('x')``)."""

    def __init__(self, name=None, ndim=None, dtype=None, broadcastable=None):
        if broadcastable is None:
            if ndim is None:
                raise ValueError("SymbolicVariable needs ndim or broadcastable")
            broadcastable = (False,) * ndim
        self.broadcastable = tuple(bool(b) for b in broadcastable)
        self.ndim = len(self.broadcastable)
        self.dtype = dtype or FLOATX
        self.name = name

    def __repr__(self):
        return self.name or f"<{self.dtype} {self.ndim}-d variable>"

    __str__ = __repr__


def theano_op(qualname, name=None):
    """A plain function standing for a Theano function or op, that refuses to run."""
    short = name or qualname.rsplit(".", 1)[-1]

    def op(*args, **kwargs):
        require_theano(qualname)

    op.__name__ = short
    op.__qualname__ = short
    op.__module__ = qualname.rsplit(".", 1)[0]  # as the real function's
    op.lasagne2onnx_standin_for = qualname  # the capture rules recognise stand-ins by this
    op.__doc__ = f"Stand-in for {qualname} (needs Theano when called)."
    return op
