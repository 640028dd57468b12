"""More Lasagne 0.2 layers for the legacy reference environment (Theano 1.0.5 + PyPI Lasagne 0.1).

Written from Lasagne 0.2's documented formulas and shape rules as Theano expressions, so the parity
tests of the model-zoo layers have a real Theano reference:

* TransposedConv2D/3DLayer (= Deconv2D/3DLayer): Theano's ``AbstractConv*_gradInputs`` of a forward
  convolution with kernel W (C_in, F, k...), ``border_mode`` = crop, ``filter_flip = not flip_filters``;
* DilatedConv2DLayer: ``AbstractConv2d_gradWeights`` with the kernel as output gradient
  (a cross-correlation with the dilated kernel), pad 0, no flip;
* Conv3DLayer (``T.nnet.conv3d``), Pool3DLayer / MaxPool3DLayer (``pool_3d``) and their cuDNN
  names in the CPU stand-in ``lasagne.layers.dnn`` (flip_filters False / ignore_border True);
* Upscale1D/2D/3DLayer ('repeat': ``T.extra_ops.repeat``; 'dilate': zeros with the input at every
  factor-th position);
* ParametricRectifierLayer / prelu (``T.nnet.relu(x, alpha)``);
* the ``cropping`` of ConcatLayer / ElemwiseSumLayer / ElemwiseMergeLayer (0.2 ``autocrop``: every cropped axis cut to the smallest input size,
  'lower' / 'upper' / 'center');
* ExpressionLayer (``function(input)``; ``output_shape`` None, a tuple or a callable).

``install()`` is called at the end of ``lasagne02_backport.install()``.
"""
import sys

import theano
import theano.tensor as T
from theano.tensor.nnet import abstract_conv
from theano.tensor.signal.pool import pool_3d

import lasagne
from lasagne import init, nonlinearities
from lasagne.layers import Layer, MergeLayer
from lasagne.layers.pool import pool_output_length
from lasagne.utils import as_tuple

L01 = lasagne.layers
_INTS = (int,)


# -- shape rules ----------------------------------------------------------------------------------------
def _pad_amount(pad, k):
    """A forward convolution's padding on one axis as a number ('valid' 0, 'full' k-1, 'same' k//2)."""
    return {"valid": 0, "full": k - 1, "same": k // 2}.get(pad, pad) if isinstance(pad, str) else pad


def _forward_length(n, k, s, pad):
    if n is None:
        return None
    return (n + 2 * _pad_amount(pad, k) - k) // s + 1


def _backward_length(n, k, s, crop):
    """Smallest input length of a forward convolution whose output has length n."""
    if n is None:
        return None
    return (n - 1) * s - 2 * _pad_amount(crop, k) + k


def _border_mode(pad):
    return "half" if pad == "same" else pad


# -- n-d convolutions with 0.2's parameters ---------------------------------------------------------------
class _ConvBase(Layer):
    """0.2's BaseConvLayer: W then b; ``pad`` 'valid' becomes zeros; 'same' needs odd filters."""

    n = None
    default_flip = True

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=None, **kwargs):
        super(_ConvBase, self).__init__(incoming, **kwargs)
        n = self.n
        if len(self.input_shape) != n + 2:
            raise ValueError("expected a %d-D input, got shape %r" % (n + 2, self.input_shape))
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, _INTS)
        self.stride = as_tuple(stride, n, _INTS)
        self.flip_filters = self.default_flip if flip_filters is None else flip_filters
        self.untie_biases = untie_biases
        self.num_groups = 1
        if pad == "same" and any(k % 2 == 0 for k in self.filter_size):
            raise NotImplementedError("`same` padding requires odd filter size.")
        self.pad = as_tuple(0, n) if pad == "valid" else pad if pad in ("full", "same") else as_tuple(pad, n, _INTS)
        self._before_params()
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_filters,) + tuple(self.output_shape[2:]) if untie_biases else (num_filters,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def _before_params(self):
        pass

    def _pads(self):
        return self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n

    def get_W_shape(self):
        return (self.num_filters, self.input_shape[1]) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            _forward_length(length, k, s, p)
            for length, k, s, p in zip(input_shape[2:], self.filter_size, self.stride, self._pads()))

    def get_output_for(self, input, **kwargs):
        out = self.convolve(input)
        if self.b is not None:
            if self.untie_biases:
                out = out + T.shape_padleft(self.b, 1)
            else:
                out = out + self.b.dimshuffle(("x", 0) + ("x",) * self.n)
        return self.nonlinearity(out)


class Conv3DLayer(_ConvBase):
    """0.2 Conv3DLayer: ``T.nnet.conv3d`` with ``filter_flip = flip_filters`` (default True)."""

    n = 3

    def convolve(self, input):
        return T.nnet.conv3d(input, self.W, self.input_shape, self.get_W_shape(), subsample=self.stride,
                             border_mode=_border_mode(self.pad), filter_flip=self.flip_filters)


class Conv3DDNNLayer(Conv3DLayer):
    """cuDNN's 3-D convolution: same computation, ``flip_filters`` defaults to False."""

    default_flip = False


class TransposedConv2DLayer(_ConvBase):
    """0.2 TransposedConv2DLayer: the input-gradient of a convolution with kernel W (C_in, F, k...)."""

    n = 2
    default_flip = False

    def __init__(self, incoming, num_filters, filter_size, stride=1, crop=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, output_size=None, **kwargs):
        self.output_size = None if output_size is None else as_tuple(output_size, self.n, _INTS)
        super(TransposedConv2DLayer, self).__init__(incoming, num_filters, filter_size, stride, crop, untie_biases,
                                                    W, b, nonlinearity, flip_filters, **kwargs)
        self.crop = self.pad
        del self.pad

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        if self.output_size is not None:
            return (input_shape[0], self.num_filters) + tuple(self.output_size)
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crops = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            _backward_length(length, k, s, c)
            for length, k, s, c in zip(input_shape[2:], self.filter_size, self.stride, crops))

    def convolve(self, input):
        op_class = abstract_conv.AbstractConv2d_gradInputs if self.n == 2 else abstract_conv.AbstractConv3d_gradInputs
        op = op_class(imshp=self.output_shape, kshp=self.get_W_shape(), subsample=self.stride,
                      border_mode=_border_mode(self.crop), filter_flip=not self.flip_filters)
        size = self.output_shape[2:]
        if any(s is None for s in size):
            size = self.get_output_shape_for(input.shape)[2:]
        return op(self.W, input, size)


class TransposedConv3DLayer(TransposedConv2DLayer):
    n = 3


class DilatedConv2DLayer(_ConvBase):
    """0.2 DilatedConv2DLayer: W (C_in, F, k...) dilated by ``dilation``, cross-correlated, no padding."""

    n = 2
    default_flip = False

    def __init__(self, incoming, num_filters, filter_size, dilation=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, **kwargs):
        self.dilation = as_tuple(dilation, 2, _INTS)
        super(DilatedConv2DLayer, self).__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b,
                                                 nonlinearity, flip_filters, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError("DilatedConv2DLayer requires pad=0 / (0,0) / 'valid', but got %r" % (pad,))
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False.")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            None if length is None else length - (k - 1) * d
            for length, k, d in zip(input_shape[2:], self.filter_size, self.dilation))

    def convolve(self, input):
        # backward pass wrt the weights: batch and channels swap roles, the kernel is the "output gradient"
        inp, out = self.input_shape, self.output_shape
        op = abstract_conv.AbstractConv2d_gradWeights(
            imshp=(inp[1], inp[0]) + tuple(inp[2:]), kshp=(out[1], out[0]) + tuple(out[2:]),
            subsample=self.dilation, border_mode="valid", filter_flip=False)
        size = out[2:]
        if any(s is None for s in size):
            size = self.get_output_shape_for(input.shape)[2:]
        return op(input.dimshuffle(1, 0, 2, 3), self.W, size).dimshuffle(1, 0, 2, 3)


# -- 3-D pooling -----------------------------------------------------------------------------------------------
class Pool3DLayer(Layer):
    """0.2 Pool3DLayer: ``pool_3d`` over the last three axes of a 5-D input."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, mode="max", **kwargs):
        super(Pool3DLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 5:
            raise ValueError("Pool3DLayer needs a 5-D input, got %r" % (self.input_shape,))
        self.pool_size = as_tuple(pool_size, 3)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 3)
        self.pad = as_tuple(pad, 3)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        out = list(input_shape)
        for i in range(3):
            out[2 + i] = pool_output_length(input_shape[2 + i], self.pool_size[i], self.stride[i], self.pad[i],
                                            self.ignore_border)
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        return pool_3d(input, ws=self.pool_size, stride=self.stride, ignore_border=self.ignore_border, pad=self.pad,
                       mode=self.mode)


class MaxPool3DLayer(Pool3DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, **kwargs):
        super(MaxPool3DLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, "max", **kwargs)


class Pool3DDNNLayer(Pool3DLayer):
    """cuDNN 3-D pooling: always ignores the border."""

    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, mode="max", **kwargs):
        assert ignore_border, "cuDNN pooling ignores borders"
        super(Pool3DDNNLayer, self).__init__(incoming, pool_size, stride, pad, True, mode, **kwargs)


class MaxPool3DDNNLayer(Pool3DDNNLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0, 0), ignore_border=True, **kwargs):
        super(MaxPool3DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, "max", **kwargs)


# -- upscaling -----------------------------------------------------------------------------------------------------
class _Upscale(Layer):
    n = None

    def __init__(self, incoming, scale_factor, mode="repeat", **kwargs):
        super(_Upscale, self).__init__(incoming, **kwargs)
        self.scale_factor = as_tuple(scale_factor, self.n)
        if any(f < 1 for f in self.scale_factor):
            raise ValueError("Scale factor must be >= 1, not {0}".format(self.scale_factor))
        if mode not in ("repeat", "dilate"):
            raise ValueError("Mode must be either 'repeat' or 'dilate', not {0}".format(mode))
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        out = list(input_shape)
        for i, f in enumerate(self.scale_factor):
            if out[2 + i] is not None:
                out[2 + i] *= f
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        factors = self.scale_factor
        if all(f == 1 for f in factors):
            return input
        if self.mode == "repeat":
            out = input
            for i in reversed(range(self.n)):
                if factors[i] > 1:
                    out = T.extra_ops.repeat(out, factors[i], 2 + i)
            return out
        shape = self.get_output_shape_for(input.shape)
        zeros = T.zeros(shape, dtype=input.dtype)
        index = (slice(None), slice(None)) + tuple(slice(None, None, f) for f in factors)
        return T.set_subtensor(zeros[index], input)


class Upscale1DLayer(_Upscale):
    n = 1


class Upscale2DLayer(_Upscale):
    n = 2


class Upscale3DLayer(_Upscale):
    n = 3


# -- parametric rectifier -----------------------------------------------------------------------------------------------
class ParametricRectifierLayer(Layer):
    """0.2: ``relu(x, alpha)``, alpha over the axes not in ``shared_axes`` ('auto': per channel)."""

    def __init__(self, incoming, alpha=init.Constant(0.25), shared_axes="auto", **kwargs):
        super(ParametricRectifierLayer, self).__init__(incoming, **kwargs)
        rank = len(self.input_shape)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, rank))
        elif shared_axes == "all":
            shared_axes = tuple(range(rank))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = shared_axes
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in shared_axes]
        if any(size is None for size in shape):
            raise ValueError("ParametricRectifierLayer needs input sizes for all axes that alpha's are not "
                             "shared over.")
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    def get_output_for(self, input, **kwargs):
        kept = iter(range(self.alpha.ndim))
        pattern = ["x" if ax in self.shared_axes else next(kept) for ax in range(input.ndim)]
        return T.nnet.relu(input, self.alpha.dimshuffle(pattern))


def prelu(layer, **kwargs):
    if getattr(layer, "nonlinearity", None) is not None:
        layer.nonlinearity = nonlinearities.identity
    return ParametricRectifierLayer(layer, **kwargs)


# -- concatenation with cropping ------------------------------------------------------------------------------------------
def _crop_shapes(shapes, cropping):
    if cropping is None:
        return shapes
    ndim = len(shapes[0])
    cropping = list(cropping) + [None] * (ndim - len(cropping))
    columns = []
    for sizes, mode in zip(zip(*shapes), cropping):
        if mode is None:
            columns.append(sizes)
        elif mode in ("lower", "upper", "center"):
            smallest = None if any(s is None for s in sizes) else min(sizes)
            columns.append([smallest] * len(sizes))
        else:
            raise ValueError("Unknown crop mode '{0}'".format(mode))
    return [tuple(s) for s in zip(*columns)]


def _crop_inputs(inputs, cropping):
    if cropping is None:
        return inputs
    ndim = inputs[0].ndim
    cropping = list(cropping) + [None] * (ndim - len(cropping))
    shapes = [x.shape for x in inputs]
    smallest = T.min(T.as_tensor_variable(shapes), axis=0)
    out = []
    for x, shape in zip(inputs, shapes):
        index = []
        for axis, mode in enumerate(cropping):
            size = smallest[axis]
            if mode is None:
                index.append(slice(None))
            elif mode == "lower":
                index.append(slice(None, size))
            elif mode == "upper":
                index.append(slice(-size, None))
            else:
                offset = (shape[axis] - size) // 2
                index.append(slice(offset, offset + size))
        out.append(x[tuple(index)])
    return out


class ConcatLayer(MergeLayer):
    """0.2 ConcatLayer: 0.1's concatenation plus ``cropping`` (never on the concatenation axis)."""

    def __init__(self, incomings, axis=1, cropping=None, **kwargs):
        super(ConcatLayer, self).__init__(incomings, **kwargs)
        self.axis = axis
        if cropping is not None:
            cropping = list(cropping)
            cropping[axis] = None
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        input_shapes = _crop_shapes(input_shapes, self.cropping)
        out = [next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes)]
        sizes = [s[self.axis] for s in input_shapes]
        out[self.axis] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(out)

    def get_output_for(self, inputs, **kwargs):
        return T.concatenate(_crop_inputs(inputs, self.cropping), axis=self.axis)


class ElemwiseMergeLayer(L01.ElemwiseMergeLayer):
    """0.2 ElemwiseMergeLayer: 0.1's plus ``cropping`` of the inputs before merging."""

    def __init__(self, incomings, merge_function, cropping=None, **kwargs):
        super(ElemwiseMergeLayer, self).__init__(incomings, merge_function, **kwargs)
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        return super(ElemwiseMergeLayer, self).get_output_shape_for(_crop_shapes(input_shapes, self.cropping))

    def get_output_for(self, inputs, **kwargs):
        return super(ElemwiseMergeLayer, self).get_output_for(_crop_inputs(inputs, self.cropping), **kwargs)


class ElemwiseSumLayer(L01.ElemwiseSumLayer):
    """0.2 ElemwiseSumLayer: 0.1's weighted sum plus ``cropping``."""

    def __init__(self, incomings, coeffs=1, cropping=None, **kwargs):
        super(ElemwiseSumLayer, self).__init__(incomings, coeffs, **kwargs)
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        return super(ElemwiseSumLayer, self).get_output_shape_for(_crop_shapes(input_shapes, self.cropping))

    def get_output_for(self, inputs, **kwargs):
        return super(ElemwiseSumLayer, self).get_output_for(_crop_inputs(inputs, self.cropping), **kwargs)


class ExpressionLayer(Layer):
    """0.2's ExpressionLayer: ``function(input)``; the output shape is the input's (None), a tuple, or
    what a callable gives for the input shape."""

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super(ExpressionLayer, self).__init__(incoming, **kwargs)
        self._output_shape = None if output_shape is None or callable(output_shape) else tuple(output_shape)
        if callable(output_shape):
            self.get_output_shape_for = output_shape
        self.function = function

    def get_output_shape_for(self, input_shape):
        return input_shape if self._output_shape is None else self._output_shape

    def get_output_for(self, input, **kwargs):
        return self.function(input)


def install():
    """Add the classes to ``lasagne.layers`` and the CPU stand-in ``lasagne.layers.dnn``."""
    from .lasagne02_backport import adopt

    names = ("Conv3DLayer", "TransposedConv2DLayer", "TransposedConv3DLayer", "DilatedConv2DLayer",
             "Pool3DLayer", "MaxPool3DLayer", "Upscale1DLayer", "Upscale2DLayer", "Upscale3DLayer",
             "ParametricRectifierLayer", "prelu", "ConcatLayer", "ElemwiseMergeLayer", "ElemwiseSumLayer",
             "ExpressionLayer")
    for name in names:
        adopt(L01, name, globals()[name])
    L01.Deconv2DLayer = TransposedConv2DLayer
    L01.Deconv3DLayer = TransposedConv3DLayer
    L01.concat = ConcatLayer
    L01.merge.ConcatLayer = L01.merge.concat = ConcatLayer
    # the zoo imports batch_norm from its own module (lasagne.layers.normalization), as 0.2 defines it
    L01.normalization.batch_norm, L01.normalization.BatchNormLayer = L01.batch_norm, L01.BatchNormLayer
    dnn = sys.modules["lasagne.layers.dnn"]
    for name in ("Conv3DDNNLayer", "Pool3DDNNLayer", "MaxPool3DDNNLayer"):
        adopt(dnn, name, globals()[name])
