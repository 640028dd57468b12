"""``lasagne.layers.cuda_convnet``: the cuda-convnet layer classes (shapes and parameters only).

With ``dimshuffle=True`` (the default) they take and return bc01 tensors like the other layers;
with ``dimshuffle=False`` they work on c01b tensors and W is (channels, rows, cols, filters).
"""
from .. import init
from .. import nonlinearities
from ..utils import as_tuple
from .base import Layer
from .conv import BaseConvLayer
from .pool import pool_output_length

__all__ = ["Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "bc01_to_c01b", "ShuffleC01BToBC01Layer",
           "c01b_to_bc01", "NINLayer_c01b"]


class Conv2DCCLayer(BaseConvLayer):
    """cuda-convnet 2-D convolution: square filters and strides, num_filters a multiple of 16;
    cross-correlation by default (``flip_filters=False``)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0, untie_biases=False, W=None,
                 b=init.Constant(0.), nonlinearity=nonlinearities.rectify, dimshuffle=True, flip_filters=False,
                 partial_sum=1, **kwargs):
        if W is None:
            W = init.GlorotUniform() if dimshuffle else init.GlorotUniform(c01b=True)
        self.dimshuffle = dimshuffle
        super(Conv2DCCLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                            nonlinearity, flip_filters, n=2, **kwargs)
        self.partial_sum = partial_sum
        if self.filter_size[0] != self.filter_size[1]:
            raise RuntimeError("Conv2DCCLayer only supports square filters, but filter_size=(%d, %d)"
                               % tuple(self.filter_size))
        if self.stride[0] != self.stride[1]:
            raise RuntimeError("Conv2DCCLayer only supports square strides, but stride=(%d, %d)" % tuple(self.stride))
        if self.num_filters % 16 != 0:
            raise RuntimeError("Conv2DCCLayer requires num_filters to be a multiple of 16, but num_filters is %d"
                               % num_filters)
        if not (self.num_input_channels < 4 or self.num_input_channels % 4 == 0):
            raise RuntimeError("Conv2DCCLayer requires the number of input channels to be 1, 2, 3 or a multiple "
                               "of 4, but it is %d" % self.num_input_channels)
        if isinstance(self.pad, tuple) and self.pad[0] != self.pad[1]:
            raise RuntimeError("Conv2DCCLayer only supports square padding, but pad=(%d, %d)" % tuple(self.pad))
        if not self.dimshuffle and self.untie_biases and self.b is not None:
            del self.params[self.b]  # c01b: biases per (filter, row, col) of the c01b output
            biases_shape = (num_filters, self.output_shape[1], self.output_shape[2])
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    @property
    def num_input_channels(self):
        return self.input_shape[1] if self.dimshuffle else self.input_shape[0]

    def get_W_shape(self):
        if self.dimshuffle:
            return super(Conv2DCCLayer, self).get_W_shape()
        return (self.num_input_channels,) + self.filter_size + (self.num_filters,)

    def get_output_shape_for(self, input_shape):
        if not self.dimshuffle:  # c01b -> bc01
            input_shape = (input_shape[3], input_shape[0], input_shape[1], input_shape[2])
        shape = super(Conv2DCCLayer, self).get_output_shape_for(input_shape)
        if not self.dimshuffle:
            shape = (shape[1], shape[2], shape[3], shape[0])
        return shape


class MaxPool2DCCLayer(Layer):
    """cuda-convnet max pooling: square windows, stride <= pool_size, ignore_border must be False."""

    def __init__(self, incoming, pool_size, stride=None, ignore_border=False, dimshuffle=True, **kwargs):
        if "pad" in kwargs:
            pad = kwargs.pop("pad")
            if as_tuple(pad, 2) != (0, 0):
                raise NotImplementedError("MaxPool2DCCLayer does not support padding")
        super(MaxPool2DCCLayer, self).__init__(incoming, **kwargs)
        pool_size = as_tuple(pool_size, 2)
        if pool_size[0] != pool_size[1]:
            raise NotImplementedError("MaxPool2DCCLayer only supports square pooling regions, but "
                                      "pool_size=(%d, %d)" % pool_size)
        self.pool_size = pool_size[0]
        if stride is None:
            self.stride = self.pool_size
        else:
            stride = as_tuple(stride, 2)
            if stride[0] != stride[1]:
                raise NotImplementedError("MaxPool2DCCLayer only supports using the same stride in both "
                                          "directions but stride=(%d, %d)" % stride)
            self.stride = stride[0]
        if self.stride > self.pool_size:
            raise NotImplementedError("MaxPool2DCCLayer only supports stride <= pool_size.")
        if ignore_border:
            raise NotImplementedError("MaxPool2DCCLayer does not support ignore_border=True.")
        self.dimshuffle = dimshuffle

    def get_output_shape_for(self, input_shape):
        if self.dimshuffle:
            batch_size, channels, rows, cols = input_shape
        else:
            channels, rows, cols, batch_size = input_shape
        out_rows = pool_output_length(rows, pool_size=self.pool_size, stride=self.stride, pad=0, ignore_border=False)
        out_cols = pool_output_length(cols, pool_size=self.pool_size, stride=self.stride, pad=0, ignore_border=False)
        if self.dimshuffle:
            return (batch_size, channels, out_rows, out_cols)
        return (channels, out_rows, out_cols, batch_size)


class ShuffleBC01ToC01BLayer(Layer):
    """bc01 -> c01b axis order."""

    def get_output_shape_for(self, input_shape):
        return (input_shape[1], input_shape[2], input_shape[3], input_shape[0])


bc01_to_c01b = ShuffleBC01ToC01BLayer


class ShuffleC01BToBC01Layer(Layer):
    """c01b -> bc01 axis order."""

    def get_output_shape_for(self, input_shape):
        return (input_shape[3], input_shape[0], input_shape[1], input_shape[2])


c01b_to_bc01 = ShuffleC01BToBC01Layer


class NINLayer_c01b(Layer):
    """NINLayer on c01b tensors: W (num_units, channels)."""

    def __init__(self, incoming, num_units, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, **kwargs):
        super(NINLayer_c01b, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        self.untie_biases = untie_biases
        self.W = self.add_param(W, (num_units, self.input_shape[0]), name="W")
        if b is None:
            self.b = None
        else:
            biases_shape = (num_units,) + tuple(self.output_shape[1:-1]) if self.untie_biases else (num_units,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (self.num_units,) + tuple(input_shape[1:])
