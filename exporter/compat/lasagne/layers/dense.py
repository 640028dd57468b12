"""``lasagne.layers.dense``: DenseLayer and NINLayer."""
import numpy as np

from .. import init
from .. import nonlinearities
from .._symbolic import elemwise as E, linalg as LA
from .base import Layer, symbolic

__all__ = ["DenseLayer", "NINLayer"]


class DenseLayer(Layer):
    """Fully connected layer: ``nonlinearity(dot(flatten(input), W) + b)``.

    The leading ``num_leading_axes`` axes are kept, the rest flattened; W has shape
    ``(prod(trailing input dims), num_units)``.
    """

    def __init__(self, incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, num_leading_axes=1, **kwargs):
        super(DenseLayer, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        rank = len(self.input_shape)
        if num_leading_axes >= rank:
            raise ValueError("Got num_leading_axes=%d for a %d-dimensional input, leaving no trailing axes for "
                             "the dot product." % (num_leading_axes, rank))
        elif num_leading_axes < -rank:
            raise ValueError("Got num_leading_axes=%d for a %d-dimensional input, requesting more trailing axes "
                             "than there are input dimensions." % (num_leading_axes, rank))
        self.num_leading_axes = num_leading_axes
        if any(s is None for s in self.input_shape[num_leading_axes:]):
            raise ValueError("A DenseLayer requires a fixed input shape (except for the leading axes). Got %r for "
                             "num_leading_axes=%d." % (self.input_shape, self.num_leading_axes))
        num_inputs = int(np.prod(self.input_shape[num_leading_axes:]))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        if b is None:
            self.b = None
        else:
            self.b = self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return input_shape[:self.num_leading_axes] + (self.num_units,)

    @symbolic
    def get_output_for(self, input, **kwargs):
        num_leading_axes = self.num_leading_axes
        if num_leading_axes < 0:
            num_leading_axes += input.ndim
        if input.ndim > num_leading_axes + 1:
            input = input.flatten(num_leading_axes + 1)
        activation = LA.dot(input, self.W)
        if self.b is not None:
            activation = E.add(activation, self.b)
        return self.nonlinearity(activation)


class NINLayer(Layer):
    """Network-in-network layer: a dense layer over axis 1 applied at every position (W: (C_in, units))."""

    def __init__(self, incoming, num_units, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, **kwargs):
        super(NINLayer, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        self.untie_biases = untie_biases
        num_input_channels = self.input_shape[1]
        self.W = self.add_param(W, (num_input_channels, num_units), name="W")
        if b is None:
            self.b = None
        else:
            if self.untie_biases:
                biases_shape = (num_units,) + self.output_shape[2:]
            else:
                biases_shape = (num_units,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_units) + tuple(input_shape[2:])

    @symbolic
    def get_output_for(self, input, **kwargs):
        out_r = LA.tensordot(self.W, input, axes=[[0], [1]])
        remaining_dims = range(2, input.ndim)
        out = out_r.dimshuffle(1, 0, *remaining_dims)
        if self.b is None:
            activation = out
        else:
            if self.untie_biases:
                remaining_dims_biases = range(1, input.ndim - 1)
            else:
                remaining_dims_biases = ["x"] * (input.ndim - 2)
            activation = E.add(out, self.b.dimshuffle("x", 0, *remaining_dims_biases))
        return self.nonlinearity(activation)
