"""``lasagne.layers.embedding``: EmbeddingLayer."""
from .. import init
from .base import Layer, symbolic

__all__ = ["EmbeddingLayer"]


class EmbeddingLayer(Layer):
    """Look up rows of W (input_size, output_size) by integer index; appends an axis of output_size."""

    def __init__(self, incoming, input_size, output_size, W=init.Normal(), **kwargs):
        super(EmbeddingLayer, self).__init__(incoming, **kwargs)
        self.input_size = input_size
        self.output_size = output_size
        self.W = self.add_param(W, (input_size, output_size), name="W")

    def get_output_shape_for(self, input_shape):
        return tuple(input_shape) + (self.output_size,)

    @symbolic
    def get_output_for(self, input, **kwargs):
        return self.W[input]
