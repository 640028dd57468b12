"""The tracing context: whether Theano operations build graph nodes now (:func:`tracing`), where in
the user's code they are made (:func:`user_location`), and what the tracer refuses or leaves for
later: :class:`TheanoRequiredError` outside tracing, :class:`NotTraceable` for what cannot be
exported exactly, and :class:`LazyValue`, the result of an operation the stand-in does not model.

The variables' operators (``operators``), the graph objects (``graph``) and every op family rely on
these; this module imports nothing of the package.
"""
import contextlib
import os
import sys
import threading

_EXPORTER_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class TheanoRequiredError(RuntimeError):
    """Raised by every operation that needs Theano's symbolic computation."""


class NotTraceable(TheanoRequiredError):
    """What a layer computes cannot be exported exactly (random sampling on the deterministic path,
    Python control flow on a symbolic value, an op the tracer does not model ...).  ``op`` names
    the operation, ``where`` the user's ``file:line``."""

    def __init__(self, reason, op=None, where=None):
        self.reason, self.op, self.where = reason, op, where
        super().__init__(reason + (f" ({op}" if op else "") + (f" at {where}" if where else "") + (")" if op else ""))


def require_theano(what):
    raise TheanoRequiredError(
        f"{what} needs Theano: lasagne2onnx's Theano-free Lasagne API only builds networks "
        f"(layers, shapes and parameter values); it cannot compute or train them. "
        f"Export the network to ONNX and run it with onnxruntime, or use real Lasagne on Theano.")


# -- tracing -------------------------------------------------------------------------------------------
_state = threading.local()


def _depth():
    return getattr(_state, "depth", 0)


@contextlib.contextmanager
def tracing():
    """While inside, Theano operations on stand-in variables build graph nodes (nest freely)."""
    _state.depth = _depth() + 1
    try:
        yield
    finally:
        _state.depth = _depth() - 1


def is_tracing() -> bool:
    return _depth() > 0


def user_location(skip_dirs=(_EXPORTER_DIR,)) -> str | None:
    """``file.py:line`` of the innermost frame outside lasagne2onnx (the user's code), or None."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith("<") and not any(os.path.abspath(filename).startswith(d + os.sep)
                                                    for d in skip_dirs):
            return f"{os.path.basename(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return None


# -- lazy values ---------------------------------------------------------------------------------------
class LazyValue(object):
    """The result of a Theano operation the stand-in does not model, or cannot export: anything
    done with it gives another, so training code builds; using one in an exported layer, or
    evaluating one, is refused naming ``origin`` (the op) and ``where`` (the user's line)."""

    lasagne2onnx_lazy = True

    def __init__(self, origin, where=None, reason=None):
        self._origin, self._where = origin, where
        self._reason = reason or f"{origin} is not modelled by lasagne2onnx's Theano stand-in"

    def _again(self, *args, **kwargs):
        return self

    def __getattr__(self, name):
        if name in _LAZY_PROPERTIES:
            return self
        if name in _TYPE_ATTRIBUTES:  # what a layer asks of its input: the op itself is the refusal
            raise self.refusal()
        if name not in _LAZY_METHODS:
            raise AttributeError(f"{name!r}: the result of {self._origin} (made at {self._where}) is a lazy value")
        return _LazyMethod(self)

    def __call__(self, *args, **kwargs):
        return self

    def __getitem__(self, item):
        return self

    def __iter__(self):
        raise NotTraceable("cannot iterate over the result of an operation lasagne2onnx does not model",
                           self._origin, self._where)

    def __bool__(self):
        return True

    def __index__(self):  # a size taken from a value that is not modelled: the op is the refusal
        raise self.refusal()

    __int__ = __float__ = __index__

    def eval(self, *args, **kwargs):
        raise TheanoRequiredError(f"evaluating {self._origin} (made at {self._where or 'an unknown line'}) needs "
                                  f"Theano: lasagne2onnx's Theano-free API only builds networks for export")

    def refusal(self):
        return NotTraceable(self._reason, self._origin, self._where)

    def __repr__(self):
        return f"<lazy {self._origin} at {self._where}>"


_LAZY_METHODS = frozenset("sum mean max min prod var std argmax argmin any all norm dimshuffle reshape flatten ravel "
                          "transpose swapaxes astype clip round dot repeat squeeze copy take cumsum zeros_like "
                          "ones_like".split())
_LAZY_PROPERTIES = frozenset(("T", "shape", "size"))
_TYPE_ATTRIBUTES = frozenset(("ndim", "dtype", "broadcastable", "type"))


class _LazyMethod(object):
    def __init__(self, lazy):
        self._lazy = lazy

    def __call__(self, *args, **kwargs):
        return self._lazy


for _name in ("add radd sub rsub mul rmul truediv rtruediv floordiv rfloordiv mod rmod pow rpow neg pos abs "
              "lt le gt ge matmul rmatmul and rand or ror xor rxor invert div rdiv").split():
    setattr(LazyValue, f"__{_name}__", LazyValue._again)


def lazy(origin, reason=None) -> LazyValue:
    return LazyValue(origin, user_location(), reason)


def find_lazy(values):
    """The first LazyValue among ``values`` (nested lists/tuples/dicts too), or None."""
    for v in values:
        if isinstance(v, LazyValue):
            return v
        if isinstance(v, (list, tuple)):
            found = find_lazy(v)
            if found is not None:
                return found
        if isinstance(v, dict):
            found = find_lazy(list(v.values()))
            if found is not None:
                return found
    return None


class _LazyUse(Exception):
    """Internal: an op got a LazyValue; the op wrapper returns a LazyValue instead."""

    def __init__(self, lazy_value):
        super().__init__(lazy_value)
        self.lazy = lazy_value
