"""``lasagne.layers.dnn``: the cuDNN layer classes (no GPU needed here: only shapes and parameters).

Their ``flip_filters`` defaults to False (cross-correlation), unlike Conv2DLayer's.
"""
from .. import init
from .. import nonlinearities
from ..utils import as_tuple
from .conv import BaseConvLayer, _conv2d, _conv3d
from .normalization import BatchNormLayer, _strip_nonlinearity_and_bias
from .pool import pool_output_length
from .base import Layer

__all__ = ["Pool2DDNNLayer", "MaxPool2DDNNLayer", "Pool3DDNNLayer", "MaxPool3DDNNLayer", "Conv2DDNNLayer",
           "Conv3DDNNLayer", "SpatialPyramidPoolingDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn"]

dnn_enabled = True  # what lasagne.layers.dnn users sometimes check


class _DNNPool(Layer):
    _n = None

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max", **kwargs):
        super(_DNNPool, self).__init__(incoming, **kwargs)
        n = self._n
        if len(self.input_shape) != n + 2:
            raise ValueError("Tried to create a %dD pooling layer with input shape %r. Expected %d input "
                             "dimensions (batchsize, channels, %d spatial dimensions)."
                             % (n, self.input_shape, n + 2, n))
        self.pool_size = as_tuple(pool_size, n)
        self.stride = self.pool_size if stride is None else as_tuple(stride, n)
        self.pad = as_tuple(pad, n)
        self.mode = mode
        if not ignore_border:
            raise NotImplementedError("%s does not support ignore_border=False." % type(self).__name__)

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for k in range(self._n):
            output_shape[2 + k] = pool_output_length(input_shape[2 + k], pool_size=self.pool_size[k],
                                                     stride=self.stride[k], pad=self.pad[k], ignore_border=True)
        return tuple(output_shape)


class Pool2DDNNLayer(_DNNPool):
    """cuDNN 2-D pooling ('max', 'average_inc_pad', 'average_exc_pad'); ignore_border must be True."""
    _n = 2

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, mode="max", **kwargs):
        super(Pool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super(MaxPool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode="max",
                                                **kwargs)


class Pool3DDNNLayer(_DNNPool):
    """cuDNN 3-D pooling; ignore_border must be True."""
    _n = 3

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, mode="max",
                 **kwargs):
        super(Pool3DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class MaxPool3DDNNLayer(Pool3DDNNLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, **kwargs):
        super(MaxPool3DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode="max",
                                                **kwargs)


def _dnn_convolve(layer, input, convolution):
    """Lasagne's cuDNN ``convolve``: ``dnn_conv`` / ``dnn_conv3d`` with ``conv_mode='conv'`` when
    ``flip_filters``, else 'cross', and ``pad='same'`` as ``filter_size // 2``; traced as Theano's
    conv2d / conv3d with ``filter_flip=flip_filters``, which Theano itself swaps for ``dnn_conv`` on a GPU."""
    border_mode = tuple(s // 2 for s in layer.filter_size) if layer.pad == "same" else layer.pad
    extra_kwargs = {"num_groups": layer.num_groups} if layer.num_groups > 1 else {}
    return convolution(input, layer.W, subsample=layer.stride, border_mode=border_mode,
                       filter_flip=layer.flip_filters, **extra_kwargs)


class Conv2DDNNLayer(BaseConvLayer):
    """cuDNN 2-D convolution; cross-correlation by default (``flip_filters=False``)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, num_groups=1, **kwargs):
        super(Conv2DDNNLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                             nonlinearity, flip_filters, num_groups, n=2, **kwargs)

    def convolve(self, input, **kwargs):
        return _dnn_convolve(self, input, _conv2d)


class Conv3DDNNLayer(BaseConvLayer):
    """cuDNN 3-D convolution; cross-correlation by default (``flip_filters=False``)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, num_groups=1, **kwargs):
        super(Conv3DDNNLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                             nonlinearity, flip_filters, num_groups, n=3, **kwargs)

    def convolve(self, input, **kwargs):
        return _dnn_convolve(self, input, _conv3d)


class SpatialPyramidPoolingDNNLayer(Layer):
    """cuDNN spatial pyramid pooling into ``sum(d*d for d in pool_dims)`` bins per channel."""

    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", **kwargs):
        super(SpatialPyramidPoolingDNNLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError("Tried to create a SPP layer with input shape %r. Expected 4 input dimensions "
                             "(batchsize, channels, 2 spatial dimensions)." % (self.input_shape,))
        self.mode = mode
        self.pool_dims = pool_dims

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], input_shape[1], sum(p * p for p in self.pool_dims))


class BatchNormDNNLayer(BatchNormLayer):
    """BatchNormLayer computed by cuDNN: axes must be (0,) or all but axis 1."""

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
                 gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1), **kwargs):
        super(BatchNormDNNLayer, self).__init__(incoming, axes, epsilon, alpha, beta, gamma, mean, inv_std,
                                                **kwargs)
        all_but_second_axis = (0,) + tuple(range(2, len(self.input_shape)))
        if self.axes not in ((0,), all_but_second_axis):
            raise ValueError("BatchNormDNNLayer only supports normalization across the first axis, or across all "
                             "but the second axis, got axes=%r" % (axes,))


def batch_norm_dnn(layer, **kwargs):
    """:func:`lasagne.layers.batch_norm` with a BatchNormDNNLayer."""
    nonlinearity = _strip_nonlinearity_and_bias(layer)
    bn_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_bn")
    layer = BatchNormDNNLayer(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        from .special import NonlinearityLayer
        layer = NonlinearityLayer(layer, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return layer
