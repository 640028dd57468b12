"""``lasagne.nonlinearities`` as plain callables.

Called on numpy arrays (or numbers) they compute the activation with numpy; called on a symbolic
variable they raise, since building a Theano graph needs Theano.  The exporter only reads their
identity (``__name__`` / class and parameters).
"""
import numpy as np

from ._shared import SharedVariable, SymbolicVariable, require_theano

__all__ = ["sigmoid", "softmax", "tanh", "ScaledTanH", "ScaledTanh", "rectify", "LeakyRectify", "leaky_rectify",
           "very_leaky_rectify", "elu", "SELU", "selu", "softplus", "linear", "identity"]


def _numeric(x, fn_name):
    if isinstance(x, (SymbolicVariable, SharedVariable)) or type(x).__module__.startswith("theano"):
        require_theano(f"lasagne.nonlinearities.{fn_name} on a symbolic variable")
    return np.asarray(x)


def sigmoid(x):
    """Logistic sigmoid 1 / (1 + exp(-x))."""
    x = _numeric(x, "sigmoid")
    return (0.5 * (np.tanh(0.5 * x) + 1)).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def softmax(x):
    """Row-wise softmax of a 2-D input."""
    x = _numeric(x, "softmax")
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def tanh(x):
    """Hyperbolic tangent."""
    return np.tanh(_numeric(x, "tanh"))


class ScaledTanH(object):
    """``scale_out * tanh(scale_in * x)``."""

    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in = scale_in
        self.scale_out = scale_out

    def __call__(self, x):
        return np.tanh(_numeric(x, "ScaledTanH") * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


def rectify(x):
    """Rectified linear unit max(0, x)."""
    x = _numeric(x, "rectify")
    return np.where(x > 0, x, np.zeros_like(x))


class LeakyRectify(object):
    """Leaky rectifier: x for x > 0, ``leakiness * x`` otherwise."""

    def __init__(self, leakiness=0.01):
        self.leakiness = leakiness

    def __call__(self, x):
        x = _numeric(x, "LeakyRectify")
        return np.where(x > 0, x, x * self.leakiness)


leaky_rectify = LeakyRectify()  # leakiness 0.01
very_leaky_rectify = LeakyRectify(1.0 / 3)


def elu(x):
    """Exponential linear unit: x for x > 0, exp(x) - 1 otherwise."""
    x = _numeric(x, "elu")
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))


class SELU(object):
    """Scaled exponential linear unit: ``scale * (x if x > 0 else scale_neg * (exp(x) - 1))``."""

    def __init__(self, scale=1, scale_neg=1):
        self.scale = scale
        self.scale_neg = scale_neg

    def __call__(self, x):
        x = _numeric(x, "SELU")
        return self.scale * np.where(x > 0.0, x, self.scale_neg * np.expm1(np.minimum(x, 0)))


selu = SELU(scale=1.0507009873554805, scale_neg=1.6732632423543772)


def softplus(x):
    """log(1 + exp(x))."""
    x = _numeric(x, "softplus")
    return np.logaddexp(0, x).astype(x.dtype if x.dtype.kind == "f" else np.float64)


def linear(x):
    """Identity: returns its input unchanged."""
    return x


identity = linear
