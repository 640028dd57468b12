"""A minimal Theano stand-in for network-building code run by lasagne2onnx without Theano.

It offers what build files pass to Lasagne layers -- ``theano.config.floatX``, ``theano.shared``,
tensor-variable constructors (``theano.tensor.tensor4('x')``) and functions such as
``theano.tensor.tanh``, ``theano.tensor.nnet.sigmoid``, ``theano.tensor.mean`` / ``max`` /
``maximum`` -- as plain Python objects.  Nothing here computes: calling a Theano function, or doing
arithmetic on a variable, raises a clear error.
"""
import types

__version__ = "0.0+lasagne2onnx.standin"
LASAGNE2ONNX_STANDIN = True

config = types.SimpleNamespace(floatX="float32", device="cpu", mode="FAST_RUN")


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None, **kwargs):
    """A numpy-backed shared variable (``get_value`` / ``set_value``), usable as a Lasagne parameter."""
    from lasagne._shared import SharedVariable

    return SharedVariable(value, name=name, borrow=borrow, broadcastable=broadcastable)


def function(*args, **kwargs):
    from lasagne._shared import require_theano

    require_theano("theano.function")


def grad(*args, **kwargs):
    from lasagne._shared import require_theano

    require_theano("theano.grad")


def scan(*args, **kwargs):
    from lasagne._shared import require_theano

    require_theano("theano.scan")


from . import tensor  # noqa: E402

__all__ = ["config", "shared", "function", "grad", "scan", "tensor"]


def __getattr__(name):
    raise AttributeError(f"theano.{name} is not available in lasagne2onnx's Theano stand-in (it provides "
                         f"config.floatX, shared, tensor and the functions passed to Lasagne layers)")
