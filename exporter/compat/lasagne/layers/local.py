"""``lasagne.layers.local``: LocallyConnected2DLayer (unshared 2-D convolution weights)."""
from .. import init
from .. import nonlinearities
from .conv import Conv2DLayer

__all__ = ["LocallyConnected2DLayer"]


class LocallyConnected2DLayer(Conv2DLayer):
    """Like Conv2DLayer with pad='same', stride 1, but a separate filter per output position.

    W: (num_filters, channels, *filter_size, rows, cols), or (num_filters, *filter_size, rows, cols)
    when ``channelwise``.
    """

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad="same", untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, channelwise=False, **kwargs):
        self.channelwise = channelwise
        super(LocallyConnected2DLayer, self).__init__(
            incoming, num_filters, filter_size, stride=stride, pad=pad, untie_biases=untie_biases, W=W, b=b,
            nonlinearity=nonlinearity, flip_filters=flip_filters, **kwargs)
        if self.stride != (1, 1):
            raise NotImplementedError("LocallyConnected2DLayer requires stride=1 / (1, 1), but got %r." % (stride,))
        if self.pad != "same":
            raise NotImplementedError("LocallyConnected2DLayer requires pad='same', but got %r." % (pad,))

    def get_W_shape(self):
        if any(s is None for s in self.input_shape[1:]):
            raise ValueError("A LocallyConnected2DLayer requires a fixed input shape (except for the batch size). "
                             "Got %r." % (self.input_shape,))
        num_input_channels = self.input_shape[1]
        output_shape = self.get_output_shape_for(self.input_shape)
        if self.channelwise:
            if self.num_filters != num_input_channels:
                raise ValueError("num_filters and the number of input channels should match when channelwise is "
                                 "true, but got num_filters=%r and %d input channels"
                                 % (self.num_filters, num_input_channels))
            return (self.num_filters,) + self.filter_size + tuple(output_shape[-2:])
        return (self.num_filters, num_input_channels) + self.filter_size + tuple(output_shape[-2:])
