"""``lasagne.layers.pool``: pooling, upscaling, feature pooling and global pooling."""
from .._shared import theano_op
from .._symbolic import elemwise as E, nnet as NN, reduce as R, shape as S
from ..utils import as_tuple
from .base import Layer, symbolic

__all__ = ["MaxPool1DLayer", "MaxPool2DLayer", "MaxPool3DLayer", "Pool1DLayer", "Pool2DLayer", "Pool3DLayer",
           "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer", "FeaturePoolLayer", "FeatureWTALayer",
           "GlobalPoolLayer", "SpatialPyramidPoolingLayer"]

# Lasagne's default pool functions are theano.tensor.max / mean; these stand-ins share their names
_T_max = theano_op("theano.tensor.max")
_T_mean = theano_op("theano.tensor.mean")


def pool_output_length(input_length, pool_size, stride, pad, ignore_border):
    """Output length of a pooling along one axis (``None`` stays ``None``).

    With ``ignore_border`` only whole windows of the (padded) input count; without it a trailing
    partial window is kept too, as Theano's pooling does (``pad`` must then be 0).
    """
    if input_length is None or pool_size is None:
        return None
    if ignore_border:
        length = input_length + 2 * pad - pool_size + 1
        return (length + stride - 1) // stride
    assert pad == 0
    if stride >= pool_size:
        return (input_length + stride - 1) // stride
    return max(0, (input_length - pool_size + stride - 1) // stride) + 1


def _check_rank(layer, n):
    if len(layer.input_shape) != n + 2:
        raise ValueError("Tried to create a %dD pooling layer with input shape %r. Expected %d input dimensions "
                         "(batchsize, channels, %d spatial dimensions)." % (n, layer.input_shape, n + 2, n))


class _PoolND(Layer):
    _n = None

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max", **kwargs):
        super(_PoolND, self).__init__(incoming, **kwargs)
        n = self._n
        _check_rank(self, n)
        self.pool_size = as_tuple(pool_size, n)
        self.stride = self.pool_size if stride is None else as_tuple(stride, n)
        self.pad = as_tuple(pad, n)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for k in range(self._n):
            output_shape[2 + k] = pool_output_length(input_shape[2 + k], pool_size=self.pool_size[k],
                                                     stride=self.stride[k], pad=self.pad[k],
                                                     ignore_border=self.ignore_border)
        return tuple(output_shape)


class Pool1DLayer(_PoolND):
    """1-D pooling (modes 'max', 'average_inc_pad', 'average_exc_pad') over (batch, channels, length)."""
    _n = 1

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max", **kwargs):
        super(Pool1DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    @symbolic
    def get_output_for(self, input, **kwargs):
        input_4d = S.shape_padright(input, 1)
        pooled = NN.pool_2d(input_4d, ws=(self.pool_size[0], 1), stride=(self.stride[0], 1),
                            ignore_border=self.ignore_border, pad=(self.pad[0], 0), mode=self.mode)
        return pooled[:, :, :, 0]


class Pool2DLayer(_PoolND):
    """2-D pooling over (batch, channels, rows, columns)."""
    _n = 2

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, mode="max", **kwargs):
        super(Pool2DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)

    @symbolic
    def get_output_for(self, input, **kwargs):
        return NN.pool_2d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border, pad=self.pad,
                          mode=self.mode)


class Pool3DLayer(_PoolND):
    """3-D pooling over (batch, channels, depth, rows, columns)."""
    _n = 3

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, mode="max",
                 **kwargs):
        super(Pool3DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode, **kwargs)


class MaxPool1DLayer(Pool1DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, **kwargs):
        super(MaxPool1DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool2DLayer(Pool2DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super(MaxPool2DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class MaxPool3DLayer(Pool3DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, **kwargs):
        super(MaxPool3DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, mode="max", **kwargs)


class _UpscaleND(Layer):
    _n = None

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(_UpscaleND, self).__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self._n)
        if any(s < 1 for s in self.scale_factor):
            raise ValueError("Scale factor must be >= 1, not {0}".format(self.scale_factor))
        if mode not in {"repeat", "dilate"}:
            raise ValueError("Mode must be either 'repeat' or 'dilate', not {0}".format(mode))
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        for k in range(self._n):
            if output_shape[2 + k] is not None:
                output_shape[2 + k] *= self.scale_factor[k]
        return tuple(output_shape)

    @symbolic
    def get_output_for(self, input, **kwargs):
        """Lasagne 0.2: 'repeat' repeats along each spatial axis (last first); 'dilate' writes the input
        into every scale_factor-th position of zeros."""
        upscaled = input
        if self.mode == "repeat":
            for k in reversed(range(self._n)):
                if self.scale_factor[k] > 1:
                    upscaled = S.repeat(upscaled, self.scale_factor[k], 2 + k)
        elif any(f > 1 for f in self.scale_factor):
            shape = list(input.shape)
            for k in range(self._n):
                shape[2 + k] = E.mul(shape[2 + k], self.scale_factor[k])
            upscaled = S.zeros(shape, dtype=input.dtype)
            index = (slice(None), slice(None)) + tuple(slice(None, None, f) for f in self.scale_factor)
            upscaled = S.set_subtensor(upscaled[index], input)
        return upscaled


class Upscale1DLayer(_UpscaleND):
    """Upscale the last axis by an integer factor ('repeat' or 'dilate' with zeros)."""
    _n = 1

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(Upscale1DLayer, self).__init__(incoming, scale_factor, mode, **kwargs)


class Upscale2DLayer(_UpscaleND):
    """Upscale the two spatial axes by integer factors ('repeat' or 'dilate' with zeros)."""
    _n = 2

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(Upscale2DLayer, self).__init__(incoming, scale_factor, mode, **kwargs)


class Upscale3DLayer(_UpscaleND):
    """Upscale the three spatial axes by integer factors."""
    _n = 3

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(Upscale3DLayer, self).__init__(incoming, scale_factor, mode, **kwargs)


class FeaturePoolLayer(Layer):
    """Pool groups of ``pool_size`` consecutive features along ``axis`` with ``pool_function``."""

    def __init__(self, incoming, pool_size, axis=1, pool_function=_T_max, **kwargs):
        super(FeaturePoolLayer, self).__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        self.pool_function = pool_function
        num_feature_maps = self.input_shape[self.axis]
        if num_feature_maps % self.pool_size != 0:
            raise ValueError("Number of input feature maps (%d) is not a multiple of the pool size (pool_size=%d)"
                             % (num_feature_maps, self.pool_size))

    def get_output_shape_for(self, input_shape):
        output_shape = list(input_shape)
        output_shape[self.axis] = input_shape[self.axis] // self.pool_size
        return tuple(output_shape)

    @symbolic
    def get_output_for(self, input, **kwargs):
        input_shape = tuple(input.shape)
        num_feature_maps = input_shape[self.axis]
        num_feature_maps_out = E.int_div(num_feature_maps, self.pool_size)
        pool_shape = input_shape[:self.axis] + (num_feature_maps_out, self.pool_size) + input_shape[self.axis + 1:]
        input_reshaped = input.reshape(pool_shape)
        return self.pool_function(input_reshaped, axis=self.axis + 1)


class FeatureWTALayer(Layer):
    """Winner-take-all within groups of ``pool_size`` features along ``axis`` (shape unchanged)."""

    def __init__(self, incoming, pool_size, axis=1, **kwargs):
        super(FeatureWTALayer, self).__init__(incoming, **kwargs)
        self.pool_size = pool_size
        self.axis = axis
        num_feature_maps = self.input_shape[self.axis]
        if num_feature_maps % self.pool_size != 0:
            raise ValueError("Number of input feature maps (%d) is not a multiple of the region size "
                             "(pool_size=%d)" % (num_feature_maps, self.pool_size))

    @symbolic
    def get_output_for(self, input, **kwargs):
        num_feature_maps = input.shape[self.axis]
        num_pools = E.int_div(num_feature_maps, self.pool_size)
        pool_shape = ()
        arange_shuffle_pattern = ()
        for k in range(self.axis):
            pool_shape += (input.shape[k],)
            arange_shuffle_pattern += ("x",)
        pool_shape += (num_pools, self.pool_size)
        arange_shuffle_pattern += ("x", 0)
        for k in range(self.axis + 1, input.ndim):
            pool_shape += (input.shape[k],)
            arange_shuffle_pattern += ("x",)
        input_reshaped = input.reshape(pool_shape)
        max_indices = R.argmax(input_reshaped, axis=self.axis + 1, keepdims=True)
        arange = S.arange(self.pool_size).dimshuffle(*arange_shuffle_pattern)
        mask = E.eq(max_indices, arange).reshape(input.shape, ndim=input.ndim)
        return E.mul(input, mask)


class GlobalPoolLayer(Layer):
    """Pool over all trailing axes: ``pool_function(input.flatten(3), axis=2)``; output (batch, channels)."""

    def __init__(self, incoming, pool_function=_T_mean, **kwargs):
        super(GlobalPoolLayer, self).__init__(incoming, **kwargs)
        self.pool_function = pool_function

    def get_output_shape_for(self, input_shape):
        return input_shape[:2]

    @symbolic
    def get_output_for(self, input, **kwargs):
        return self.pool_function(input.flatten(3), axis=2)


class SpatialPyramidPoolingLayer(Layer):
    """Spatial pyramid pooling into ``sum(d*d for d in pool_dims)`` bins per channel."""

    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", implementation="fast", **kwargs):
        super(SpatialPyramidPoolingLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError("Tried to create a SPP layer with input shape %r. Expected 4 input dimensions "
                             "(batchsize, channels, 2 spatial dimensions)." % (self.input_shape,))
        self.mode = mode
        self.implementation = implementation
        self.pool_dims = pool_dims

    def get_output_shape_for(self, input_shape):
        num_features = sum(p * p for p in self.pool_dims)
        return (input_shape[0], input_shape[1], num_features)
