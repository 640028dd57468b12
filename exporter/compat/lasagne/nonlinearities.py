"""``lasagne.nonlinearities`` as plain callables.

Called on numpy arrays (or numbers) they compute the activation with numpy; called on a symbolic
variable while tracing they build Lasagne 0.2's Theano expression (``rectify`` is
``theano.tensor.nnet.relu``, ``elu`` a ``switch`` ...); outside tracing a symbolic variable is refused.
The exporter reads their identity (``__name__`` / class and parameters) for layers it does not trace.
"""
import numpy as np

from ._shared import SharedVariable, SymbolicVariable, is_tracing, require_theano
from ._symbolic import elemwise as _E

__all__ = ["sigmoid", "softmax", "tanh", "ScaledTanH", "ScaledTanh", "rectify", "LeakyRectify", "leaky_rectify",
           "very_leaky_rectify", "elu", "SELU", "selu", "softplus", "linear", "identity"]


def _is_symbolic(x):
    return isinstance(x, (SymbolicVariable, SharedVariable)) or getattr(x, "lasagne2onnx_lazy", False) or \
        type(x).__module__.startswith("theano")


def _numeric(x, fn_name):
    if _is_symbolic(x):
        require_theano(f"lasagne.nonlinearities.{fn_name} on a symbolic variable")
    return np.asarray(x)


def _symbolic(x, fn_name):
    """Whether ``x`` is to be computed symbolically (while tracing); refuses a symbolic ``x`` otherwise."""
    if not _is_symbolic(x):
        return False
    if not is_tracing():
        require_theano(f"lasagne.nonlinearities.{fn_name} on a symbolic variable")
    if getattr(x, "lasagne2onnx_lazy", False):
        raise _Lazy(x)
    return True


class _Lazy(Exception):
    def __init__(self, value):
        super().__init__()
        self.value = value


def _lazy_passthrough(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*args):
        try:
            return fn(*args)
        except _Lazy as e:
            return e.value

    return wrapper


@_lazy_passthrough
def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x))."""
    if _symbolic(x, "sigmoid"):
        return _E.sigmoid(x)
    x = _numeric(x, "sigmoid")
    return (0.5 * (np.tanh(0.5 * x) + 1)).astype(x.dtype if x.dtype.kind == "f" else np.float64)


@_lazy_passthrough
def softmax(x):
    """Row-wise softmax of a 2-D input."""
    if _symbolic(x, "softmax"):
        from ._symbolic.nnet import softmax as _softmax

        return _softmax(x)
    x = _numeric(x, "softmax")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@_lazy_passthrough
def tanh(x):
    """Hyperbolic tangent."""
    if _symbolic(x, "tanh"):
        return _E.tanh(x)
    return np.tanh(_numeric(x, "tanh"))


class ScaledTanH(object):
    """``scale_out * tanh(scale_in * x)``."""

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in = scale_in
        self.scale_out = scale_out

    @_lazy_passthrough
    def __call__(self, x):
        if _symbolic(x, "ScaledTanH"):
            return _E.mul(_E.tanh(_E.mul(x, self.scale_in)), self.scale_out)
        return np.tanh(_numeric(x, "ScaledTanH") * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


@_lazy_passthrough
def rectify(x):
    """Rectified linear unit max(0, x)."""
    if _symbolic(x, "rectify"):
        return _E.relu(x)
    x = _numeric(x, "rectify")
    return np.where(x > 0, x, np.zeros_like(x))


class LeakyRectify(object):
    """Leaky rectifier: x for x > 0, ``leakiness * x`` otherwise."""

    def __init__(self, leakiness=0.01):
        self.leakiness = leakiness

    @_lazy_passthrough
    def __call__(self, x):
        if _symbolic(x, "LeakyRectify"):
            return _E.relu(x, self.leakiness)
        x = _numeric(x, "LeakyRectify")
        return np.where(x > 0, x, x * self.leakiness)


leaky_rectify = LeakyRectify()  # leakiness 0.01
very_leaky_rectify = LeakyRectify(1.0 / 3)


@_lazy_passthrough
def elu(x):
    """Exponential linear unit: x for x > 0, exp(x) - 1 otherwise."""
    if _symbolic(x, "elu"):
        return _E.switch(_E.gt(x, 0), x, _E.expm1(x))
    x = _numeric(x, "elu")
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


class SELU(object):
    """Scaled exponential linear unit: ``scale * (x if x > 0 else scale_neg * (exp(x) - 1))``."""

    def __init__(self, scale=1, scale_neg=1):
        self.scale = scale
        self.scale_neg = scale_neg

    @_lazy_passthrough
    def __call__(self, x):
        if _symbolic(x, "SELU"):
            return _E.mul(self.scale, _E.switch(_E.gt(x, 0.0), x, _E.mul(self.scale_neg, _E.expm1(x))))
        x = _numeric(x, "SELU")
        return self.scale * np.where(x > 0.0, x, self.scale_neg * np.expm1(np.minimum(x, 0)))


selu = SELU(scale=1.0507009873554805, scale_neg=1.6732632423543772)


@_lazy_passthrough
def softplus(x):
    """log(1 + exp(x))."""
    if _symbolic(x, "softplus"):
        return _E.softplus(x)
    x = _numeric(x, "softplus")
    return np.logaddexp(0, x).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def linear(x):
    """Identity: returns its input unchanged."""
    return x


identity = linear
