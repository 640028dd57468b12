"""``lasagne.layers.conv``: N-d convolutions, transposed and dilated convolutions."""
from .. import init
from .. import nonlinearities
from .._shared import theano_op
from ..theano_extensions import conv as _conv_ext
from .._symbolic import elemwise as E, shape as S
from ..utils import as_tuple, int_types
from .base import Layer, symbolic, untraced_output

__all__ = ["Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "TransposedConv2DLayer", "Deconv2DLayer",
           "DilatedConv2DLayer", "TransposedConv3DLayer", "Deconv3DLayer"]

# what Lasagne passes as ``convolution`` by default (never called here)
_conv1d = _conv_ext.conv1d_mc0
_conv2d = theano_op("theano.tensor.nnet.conv2d")
_conv3d = theano_op("theano.tensor.nnet.conv3d")
_grad_inputs = theano_op("theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs")


def conv_output_length(input_length, filter_size, stride, pad=0):
    """Output length of a convolution along one axis (``None`` stays ``None``).

    ``pad`` is 'valid' (no padding), 'full' (filter_size - 1 each side), 'same' (output length
    equals input length before striding) or an int (that many each side).  The result is the
    number of filter positions, taking every ``stride``-th: ceil(length / stride).
    """
    if input_length is None:
        return None
    if pad == "valid":
        length = input_length - filter_size + 1
    elif pad == "full":
        length = input_length + filter_size - 1
    elif pad == "same":
        length = input_length
    elif isinstance(pad, int_types):
        length = input_length + 2 * pad - filter_size + 1
    else:
        raise ValueError("Invalid pad: {0}".format(pad))
    return (length + stride - 1) // stride


def conv_input_length(output_length, filter_size, stride, pad=0):
    """Smallest input length whose convolution has ``output_length`` (used by transposed convolutions)."""
    if output_length is None:
        return None
    if pad == "valid":
        pad = 0
    elif pad == "full":
        pad = filter_size - 1
    elif pad == "same":
        pad = filter_size // 2
    if not isinstance(pad, int_types):
        raise ValueError("Invalid pad: {0}".format(pad))
    return (output_length - 1) * stride - 2 * pad + filter_size


class BaseConvLayer(Layer):
    """Shared logic of the n-d convolution layers (parameters W then b)."""

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, num_groups=1, n=None, **kwargs):
        super(BaseConvLayer, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        if n is None:
            n = len(self.input_shape) - 2
        elif n != len(self.input_shape) - 2:
            raise ValueError("Tried to create a %dD convolution layer with input shape %r. Expected %d input "
                             "dimensions (batchsize, channels, %d spatial dimensions)."
                             % (n, self.input_shape, n + 2, n))
        self.n = n
        self.num_filters = num_filters
        self.filter_size = as_tuple(filter_size, n, int_types)
        self.flip_filters = flip_filters
        self.stride = as_tuple(stride, n, int_types)
        self.untie_biases = untie_biases
        if pad == "same":
            if any(s % 2 == 0 for s in self.filter_size):
                raise NotImplementedError("`same` padding requires odd filter size.")
        if pad == "valid":
            self.pad = as_tuple(0, n)
        elif pad in ("full", "same"):
            self.pad = pad
        else:
            self.pad = as_tuple(pad, n, int_types)
        channels = self.input_shape[1]
        if (num_groups <= 0 or self.num_filters % num_groups != 0
                or (channels is not None and channels % num_groups != 0)):
            raise ValueError("num_groups (here: %d) must be positive and evenly divide the number of input and "
                             "output channels (here: %s and %d)" % (num_groups, channels, self.num_filters))
        self.num_groups = num_groups
        self.W = self.add_param(W, self.get_W_shape(), name="W")
        if b is None:
            self.b = None
        else:
            if self.untie_biases:
                biases_shape = (num_filters,) + tuple(self.output_shape[2:])
            else:
                biases_shape = (num_filters,)
            self.b = self.add_param(b, biases_shape, name="b", regularizable=False)

    def get_W_shape(self):
        """Shape of W: (num_filters, input channels / num_groups, *filter_size)."""
        channels = self.input_shape[1]
        num_input_channels = None if channels is None else channels // self.num_groups
        return (self.num_filters, num_input_channels) + self.filter_size

    def get_output_shape_for(self, input_shape):
        pad = self.pad if isinstance(self.pad, tuple) else (self.pad,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(length, f, s, p)
            for length, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, pad))

    def convolve(self, input, **kwargs):
        """Lasagne's transposed, dilated convolutions have a ``convolve`` the tracer does not model: their
        output is a lazy value (see ``untraced_output``)."""
        return untraced_output(self, abstract=(BaseConvLayer,),
                               message="BaseConvLayer does not implement the convolve() method. You will want to "
                                       "use a subclass such as Conv2DLayer.")

    @symbolic
    def get_output_for(self, input, **kwargs):
        conved = self.convolve(input, **kwargs)
        if self.b is None:
            activation = conved
        elif self.untie_biases:
            activation = E.add(conved, S.shape_padleft(self.b, 1))
        else:
            activation = E.add(conved, self.b.dimshuffle(("x", 0) + ("x",) * self.n))
        return self.nonlinearity(activation)


def _convolve(layer, input):
    """Lasagne 0.2's ``convolve`` of the 1-d/2-d/3-d layers: ``layer.convolution`` called as Lasagne calls it."""
    border_mode = "half" if layer.pad == "same" else layer.pad
    extra_kwargs = {}
    if layer.num_groups > 1:
        extra_kwargs["num_groups"] = layer.num_groups
    return layer.convolution(input, layer.W, layer.input_shape, layer.get_W_shape(), subsample=layer.stride,
                             border_mode=border_mode, filter_flip=layer.flip_filters, **extra_kwargs)


class Conv1DLayer(BaseConvLayer):
    """1-D convolution over (batch, channels, length) inputs."""

    def __init__(self, incoming, num_filters, filter_size, stride=1, pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, convolution=_conv1d, **kwargs):
        super(Conv1DLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                          nonlinearity, flip_filters, n=1, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return _convolve(self, input)


class Conv2DLayer(BaseConvLayer):
    """2-D convolution over (batch, channels, rows, columns) inputs; true convolution by default
    (``flip_filters=True``)."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, convolution=_conv2d, **kwargs):
        super(Conv2DLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                          nonlinearity, flip_filters, n=2, **kwargs)
        self.convolution = convolution

    def convolve(self, input, **kwargs):
        return _convolve(self, input)


class Conv3DLayer(BaseConvLayer):
    """3-D convolution over (batch, channels, depth, rows, columns) inputs."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, convolution=None, **kwargs):
        super(Conv3DLayer, self).__init__(incoming, num_filters, filter_size, stride, pad, untie_biases, W, b,
                                          nonlinearity, flip_filters, n=3, **kwargs)
        self.convolution = _conv3d if convolution is None else convolution

    def convolve(self, input, **kwargs):
        return _convolve(self, input)


class TransposedConv2DLayer(BaseConvLayer):
    """Transposed 2-D convolution (the gradient of a Conv2DLayer wrt its input).

    W has shape (input channels, num_filters, *filter_size); ``crop`` plays the role of ``pad``
    of the forward convolution; ``output_size`` fixes the output size explicitly.
    """

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), crop=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, output_size=None, **kwargs):
        if output_size is not None:
            output_size = as_tuple(output_size, 2, int_types)
        self.output_size = output_size
        super(TransposedConv2DLayer, self).__init__(incoming, num_filters, filter_size, stride, crop, untie_biases,
                                                    W, b, nonlinearity, flip_filters, n=2, **kwargs)
        self.crop = self.pad
        del self.pad

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def convolve(self, input, **kwargs):
        """Lasagne 0.2's: the gradient of the forward convolution with respect to its input (traced where
        the converter refuses the layer, or for a subclass)."""
        border_mode = "half" if self.crop == "same" else self.crop
        op = _grad_inputs(imshp=self.output_shape, kshp=self.get_W_shape(), subsample=self.stride,
                          border_mode=border_mode, filter_flip=not self.flip_filters)
        output_size = self.output_shape[2:]
        if any(s is None for s in output_size):
            output_size = self.get_output_shape_for(input.shape)[2:]
        return op(self.W, input, output_size)

    def get_output_shape_for(self, input_shape):
        if self.output_size is not None:
            return (input_shape[0], self.num_filters) + tuple(self.output_size)
        crop = getattr(self, "crop", getattr(self, "pad", None))
        crop = crop if isinstance(crop, tuple) else (crop,) * self.n
        return (input_shape[0], self.num_filters) + tuple(
            conv_input_length(length, f, s, p)
            for length, f, s, p in zip(input_shape[2:], self.filter_size, self.stride, crop))


Deconv2DLayer = TransposedConv2DLayer


class TransposedConv3DLayer(BaseConvLayer):
    """Transposed 3-D convolution; see :class:`TransposedConv2DLayer`."""

    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1, 1), crop=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, output_size=None, **kwargs):
        if output_size is not None:
            output_size = as_tuple(output_size, 3, int_types)
        self.output_size = output_size
        BaseConvLayer.__init__(self, incoming, num_filters, filter_size, stride, crop, untie_biases, W, b,
                               nonlinearity, flip_filters, n=3, **kwargs)
        self.crop = self.pad
        del self.pad

    get_W_shape = TransposedConv2DLayer.get_W_shape
    get_output_shape_for = TransposedConv2DLayer.get_output_shape_for


Deconv3DLayer = TransposedConv3DLayer


class DilatedConv2DLayer(BaseConvLayer):
    """2-D convolution with dilated filters (W: (input channels, num_filters, *filter_size)).

    Needs ``pad=0`` and ``flip_filters=False``; there is no stride.
    """

    def __init__(self, incoming, num_filters, filter_size, dilation=(1, 1), pad=0, untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=False, **kwargs):
        self.dilation = as_tuple(dilation, 2, int_types)
        super(DilatedConv2DLayer, self).__init__(incoming, num_filters, filter_size, 1, pad, untie_biases, W, b,
                                                 nonlinearity, flip_filters, n=2, **kwargs)
        del self.stride
        if self.pad != (0, 0):
            raise NotImplementedError("DilatedConv2DLayer requires pad=0 / (0,0) / 'valid', but got %r. For a "
                                      "padded dilated convolution, add a PadLayer." % (pad,))
        if self.flip_filters:
            raise NotImplementedError("DilatedConv2DLayer requires flip_filters=False.")

    def get_W_shape(self):
        return (self.input_shape[1], self.num_filters) + self.filter_size

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(
            conv_output_length(length, (f - 1) * d + 1, 1, 0)
            for length, f, d in zip(input_shape[2:], self.filter_size, self.dilation))
