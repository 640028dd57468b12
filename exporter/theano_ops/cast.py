"""Casts: ``theano.tensor.cast`` (``x.astype``, ``T.iround`` ...).  Theano converts a float to an
integer by C's conversion (toward zero), as ONNX's Cast does; to ``bool``, nonzero is True."""
from ..registry import lowering
from .lower import cast as cast_value


@lowering("theano.tensor.cast", emits=("Cast",))
def cast(node, g, args):
    return cast_value(g, args[0], node.attrs["dtype"], node.scope)
