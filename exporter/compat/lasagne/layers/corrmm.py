"""``lasagne.layers.corrmm``: Conv2DMMLayer (GpuCorrMM; no GPU needed here)."""
from .. import init
from .. import nonlinearities
from .conv import BaseConvLayer

__all__ = ["Conv2DMMLayer"]


class Conv2DMMLayer(BaseConvLayer):
    """2-D convolution through GpuCorrMM; cross-correlation by default (``flip_filters=False``)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, num_groups=1, **kwargs):
        super(Conv2DMMLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                            nonlinearity, flip_filters, num_groups, n=2, **kwargs)
