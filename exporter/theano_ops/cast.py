"""Casts: ``theano.tensor.cast`` (``x.astype``, ``T.iround`` ...).  Theano converts a float to an
integer by C's conversion (toward zero), as ONNX's Cast does; to ``bool``, nonzero is True."""
from ..registry import lowering
from ..schema import DTYPE
from .checks import has_dtype, unary
from .lower import cast as cast_value


def check_cast(node, inputs):
    return unary(node, inputs) or has_dtype(node, node["attrs"]["dtype"])


@lowering("theano.tensor.cast", emits=("Cast",), attrs={"dtype": DTYPE}, check=check_cast)
def cast(node, g, args):
    return cast_value(g, args[0], node.attrs["dtype"], node.scope)
