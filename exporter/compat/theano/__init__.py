"""A minimal Theano stand-in for network-building code run by lasagne2onnx without Theano.

It offers what build files pass to Lasagne layers -- ``theano.config.floatX``, ``theano.shared``,
tensor-variable constructors (``theano.tensor.tensor4('x')``) and functions such as
``theano.tensor.tanh``, ``theano.tensor.nnet.sigmoid``, ``theano.tensor.mean`` / ``max`` /
``maximum`` -- as plain Python objects, and random streams that can be constructed.  Any other
public name (``theano.grad``, ``T.set_subtensor``, ``theano.ifelse.ifelse``) and any submodule
(``import theano.gpuarray``) is a stand-in too (see ``_standin``), so that build files import.
Nothing here computes numbers: inside ``tracing()`` (``lasagne._symbolic``) Theano functions and
operators on variables build an expression graph; outside it they raise a clear error.
"""
import sys
import types

from ._standin import install_finder, module_getattr

__version__ = "0.0+lasagne2onnx.standin"
LASAGNE2ONNX_STANDIN = True

config = types.SimpleNamespace(floatX="float32", device="cpu", mode="FAST_RUN")


def shared(value, name=None, strict=False, allow_downcast=None, borrow=False, broadcastable=None, **kwargs):
    """A numpy-backed shared variable (``get_value`` / ``set_value``), usable as a Lasagne parameter."""
    from lasagne._shared import SharedVariable

    return SharedVariable(value, name=name, borrow=borrow, broadcastable=broadcastable)


install_finder(sys.modules[__name__])
from . import gof, sandbox, scalar, tensor  # noqa: E402,F401
from .gof import Apply, Constant, Op, Variable  # noqa: E402,F401
from lasagne._symbolic.opfromgraph import OpFromGraph  # noqa: E402,F401

__all__ = ["config", "shared", "function", "grad", "scan", "tensor"]
__getattr__ = module_getattr(globals())
