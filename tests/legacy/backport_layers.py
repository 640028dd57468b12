"""Lasagne 0.2 layers of issue 12 for the legacy reference environment (Theano 1.0.5 + PyPI Lasagne 0.1).

Written here from Lasagne 0.2's documentation (formulas, shape rules, defaults) as Theano expressions,
so the parity tests of these layers have a Theano reference; each computes what the 0.2 docstring
describes, with Lasagne's own float32 rounding points (linspace grids, coordinate scaling) where
they matter:

* StandardizationLayer ((x - mean) / sqrt(var + epsilon) over ``axes``), ``instance_norm``, ``layer_norm``;
* RandomizedRectifierLayer / ``rrelu`` (deterministic: ``relu(x, (lower + upper) / 2)``);
* TransformerLayer / TPSTransformerLayer: a float32 ``linspace(-1, 1, n)`` output grid, the affine or
  thin-plate-spline transform of it, and bilinear sampling at ``(x + 1) / 2 * (size - 1)`` whose four
  neighbours are clipped / mirrored / wrapped into the image (weights from the unclipped neighbours).
  0.2's TPS with ``precompute_grid=False`` builds its U terms as ``switch(isnan(log r²), r² log r², 0)``,
  which is 0 for every finite r²: reproduced, since the export must match what Lasagne computes;
* LocallyConnected2DLayer: stride 1, 'same' zero padding, a separate filter per output position
  (flipped, i.e. a true convolution, unless ``flip_filters=False``), ``channelwise`` filtering each
  channel on its own;
* SpatialPyramidPoolingLayer ('fast': Theano's pool_2d with windows ceil(size / d) every size // d
  pixels, ignore_border; 'kaiming': bin r of n from floor(r / n * size) to ceil((r + 1) / n * size))
  and SpatialPyramidPoolingDNNLayer in the CPU stand-in ``lasagne.layers.dnn`` (the 'fast' windows);
* the cuda-convnet layers in a CPU stand-in ``lasagne.layers.cuda_convnet`` (the real module needs a
  GPU): Conv2DCCLayer (a cross-correlation unless ``flip_filters``, symmetric zero padding, the
  standard strided length), MaxPool2DCCLayer (square windows, partial windows kept), the bc01 <-> c01b
  shuffles and NINLayer_c01b (``tensordot(W, x, [[1], [0]]) + b``), each in the c01b layout when
  ``dimshuffle=False``;
* CustomRecurrentLayer with 0.2's ``only_return_final`` (0.1's class computes the rest): the last
  step's state, of shape (batch,) + the hidden state's;
* InverseLayer: the derivative of the inverted layer's output with respect to its input, applied to
  the incoming values (``theano.grad`` with ``known_grads``, as documented).

``install()`` is called at the end of ``lasagne02_backport.install()``.
"""
import sys

import numpy as np
import theano
import theano.tensor as T
from theano.tensor.signal.pool import pool_2d

import lasagne
from lasagne import init, nonlinearities
from lasagne.layers import Layer, MergeLayer
from lasagne.utils import as_tuple

L01 = lasagne.layers


# -- normalisation --------------------------------------------------------------------------------------
class StandardizationLayer(Layer):
    def __init__(self, incoming, axes="auto", epsilon=1e-4, **kwargs):
        super(StandardizationLayer, self).__init__(incoming, **kwargs)
        rank = len(self.input_shape)
        named = {"spatial": tuple(range(2, rank)), "features": tuple(range(1, rank)),
                 "auto": (1,) if rank == 2 else tuple(range(2, rank))}
        if isinstance(axes, str):
            axes = named[axes]
        self.axes = (axes,) if isinstance(axes, int) else tuple(axes)
        self.epsilon = epsilon

    def get_output_for(self, input, **kwargs):
        centered = input - input.mean(self.axes, keepdims=True)
        return centered / T.sqrt(T.var(input, self.axes, keepdims=True) + self.epsilon)


def _take_nonlinearity_and_bias(layer):
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def _normalize(layer, axes, suffix, scale, bias, kwargs):
    nonlinearity = _take_nonlinearity_and_bias(layer)
    name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + suffix)
    layer = StandardizationLayer(layer, axes=axes, name=name, **kwargs)
    if scale:
        layer = L01.ScaleLayer(layer, shared_axes="auto", name=name and name + "_scale")
    if bias:
        layer = L01.BiasLayer(layer, shared_axes="auto", name=name and name + "_bias")
    if nonlinearity is not None:
        layer = L01.NonlinearityLayer(layer, nonlinearity, name=name and name + "_nonlin")
    return layer


def instance_norm(layer, learn_scale=True, learn_bias=True, **kwargs):
    return _normalize(layer, "spatial", "_in", learn_scale, learn_bias, kwargs)


def layer_norm(layer, **kwargs):
    return _normalize(layer, "features", "_ln", True, True, kwargs)


# -- randomized rectifier -----------------------------------------------------------------------------------
class RandomizedRectifierLayer(Layer):
    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super(RandomizedRectifierLayer, self).__init__(incoming, **kwargs)
        lasagne.random.get_rng().randint(1, 2147462579)  # 0.2 seeds its random stream here
        self.lower, self.upper = lower, upper
        if lower > upper:
            raise ValueError("Upper bound for RandomizedRectifierLayer needs to be higher than lower bound.")
        rank = len(self.input_shape)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, rank))
        elif shared_axes == "all":
            shared_axes = tuple(range(rank))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = shared_axes

    def get_output_for(self, input, deterministic=False, **kwargs):
        if not deterministic and self.upper != self.lower:
            raise NotImplementedError("the reference runs deterministic outputs only")
        return T.nnet.relu(input, (self.upper + self.lower) / 2.0)


def rrelu(layer, **kwargs):
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return RandomizedRectifierLayer(layer, **kwargs)


# -- spatial transformers ------------------------------------------------------------------------------------
def _float_linspace(n):
    """-1 .. 1 in n float32 steps, as 0.2 computes its grid: arange(n) * (2 / (n - 1)) - 1."""
    n = T.cast(n, "float32")
    return T.arange(n, dtype="float32") * (np.float32(2) / (n - 1)) + np.float32(-1)


def _output_grid(height, width):
    """(3, height*width): x and y of every output pixel (row-major) and ones."""
    xs = T.tile(_float_linspace(width).dimshuffle("x", 0), (height, 1)).flatten()
    ys = T.tile(_float_linspace(height).dimshuffle(0, "x"), (1, width)).flatten()
    return T.stack([xs, ys, T.ones_like(xs)])


def _neighbour(v, size, mode):
    if mode == "nearest":
        return T.clip(v, 0, size - 1)
    if mode == "wrap":
        return v % size
    if mode == "mirror":
        period = 2 * (size - 1)
        return T.minimum(v % period, (-v) % period)
    raise ValueError("border_mode must be one of 'nearest', 'mirror', 'wrap'")


def _sample(image, points, out_height, out_width, mode):
    """Bilinear sampling of image (N, C, H, W) at points (N, 2, P) given in [-1, 1]."""
    height, width = image.shape[2], image.shape[3]
    h_f, w_f = T.cast(height, "float32"), T.cast(width, "float32")
    x = (points[:, 0] + 1) / 2 * (w_f - 1)
    y = (points[:, 1] + 1) / 2 * (h_f - 1)
    x0, y0 = T.floor(x), T.floor(y)
    x1, y1 = x0 + 1, y0 + 1
    ix = [T.cast(_neighbour(v, w_f, mode), "int64") for v in (x0, x1)]
    iy = [T.cast(_neighbour(v, h_f, mode), "int64") for v in (y0, y1)]
    pixels = image.dimshuffle(0, 2, 3, 1)
    batch = T.arange(image.shape[0]).dimshuffle(0, "x") + T.zeros_like(ix[0])
    terms = []
    for xi, wx in ((ix[0], x1 - x), (ix[1], x - x0)):
        for yi, wy in ((iy[0], y1 - y), (iy[1], y - y0)):
            terms.append((wx * wy).dimshuffle(0, 1, "x") * pixels[batch, yi, xi])
    out = T.sum(T.stack(terms), axis=0)  # a Theano sum: float64 accumulator, one rounding to float32
    out = T.reshape(out, (image.shape[0], out_height, out_width, image.shape[1]))
    return out.dimshuffle(0, 3, 1, 2)


def _output_size(shape, factors):
    return tuple(None if s is None else int(s // f) for s, f in zip(shape, factors))


class TransformerLayer(MergeLayer):
    def __init__(self, incoming, localization_network, downsample_factor=1, border_mode="nearest", **kwargs):
        super(TransformerLayer, self).__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.border_mode = border_mode

    def get_output_shape_for(self, input_shapes):
        return tuple(input_shapes[0][:2]) + _output_size(input_shapes[0][2:], self.downsample_factor)

    def get_output_for(self, inputs, **kwargs):
        image, theta = inputs
        ho, wo = (T.cast(s // f, "int64") for s, f in zip(image.shape[2:], self.downsample_factor))
        points = T.dot(T.reshape(theta, (-1, 2, 3)), _output_grid(ho, wo))
        return _sample(image, points, ho, wo, self.border_mode)


def _tps_constants(control_points, height, width, precompute):
    """0.2's source points (2, k), float32 L^-1 and (with precompute) right_mat, in numpy."""
    n = int(round(np.sqrt(control_points)))
    gx, gy = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    source = np.vstack([gx.ravel(), gy.ravel()]).astype("float32")
    k = control_points
    system = np.zeros((k + 3, k + 3), "float32")
    system[0, 3:], system[1:3, 3:], system[3:, 0], system[3:, 1:3] = 1, source, 1, source.T
    for i in range(k):
        for j in range(i + 1, k):
            d = source[:, j] - source[:, i]
            r2 = d[0] ** 2 + d[1] ** 2
            system[i + 3, j + 3] = system[j + 3, i + 3] = r2 * np.log(r2)
    right = None
    if precompute:
        ox, oy = np.meshgrid(np.linspace(-1, 1, width), np.linspace(-1, 1, height))
        grid = np.vstack([ox.ravel(), oy.ravel()]).astype("float32")
        r2 = ((grid[None] - source.T[:, :, None]) ** 2).sum(axis=1)
        with np.errstate(divide="ignore"):
            log_r2 = np.log(r2)
        log_r2[np.isinf(log_r2)] = 0
        right = np.concatenate([np.ones((1, grid.shape[1]), "float32"), grid, r2 * log_r2])
    return source, np.linalg.inv(system), right


class TPSTransformerLayer(MergeLayer):
    def __init__(self, incoming, localization_network, downsample_factor=1, control_points=16,
                 precompute_grid="auto", border_mode="nearest", **kwargs):
        super(TPSTransformerLayer, self).__init__([incoming, localization_network], **kwargs)
        self.border_mode = border_mode
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.control_points = control_points
        shape = self.input_shapes[0]
        if precompute_grid == "auto":
            precompute_grid = shape[2] is not None and shape[3] is not None
        self.precompute_grid = precompute_grid
        out = _output_size(shape[2:], self.downsample_factor)
        self.source, self.L_inv, self.right_mat = _tps_constants(control_points, out[0], out[1], precompute_grid)

    def get_output_shape_for(self, input_shapes):
        return tuple(input_shapes[0][:2]) + _output_size(input_shapes[0][2:], self.downsample_factor)

    def get_output_for(self, inputs, **kwargs):
        image, offsets = inputs
        k = self.control_points
        dest = T.constant(self.source) + T.reshape(offsets, (image.shape[0], 2, k))
        coefficients = T.dot(dest, T.constant(self.L_inv[:, 3:].T))  # (N, 2, k + 3)
        ho, wo = (T.cast(s // f, "int64") for s, f in zip(image.shape[2:], self.downsample_factor))
        if self.precompute_grid:
            right = T.constant(self.right_mat).dimshuffle("x", 0, 1)
            points = T.batched_dot(coefficients, T.tile(right, (image.shape[0], 1, 1)))
        else:
            grid = _output_grid(ho, wo)[:2]  # (2, P)
            r2 = T.sum((grid.dimshuffle("x", 0, 1) - T.constant(self.source.T).dimshuffle(0, 1, "x")) ** 2, axis=1)
            log_r2 = T.log(r2)
            u = T.switch(T.isnan(log_r2), r2 * log_r2, 0.)  # 0.2's graph: zero for every finite r2
            right = T.concatenate([T.ones_like(grid[:1]), grid, u], axis=0)
            points = T.batched_dot(coefficients, T.tile(right.dimshuffle("x", 0, 1), (image.shape[0], 1, 1)))
        return _sample(image, points, ho, wo, self.border_mode)


# -- locally connected ---------------------------------------------------------------------------------------
class LocallyConnected2DLayer(Layer):
    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad="same", untie_biases=False,
                 W=init.GlorotUniform(), b=init.Constant(0.), nonlinearity=nonlinearities.rectify,
                 flip_filters=True, channelwise=False, **kwargs):
        super(LocallyConnected2DLayer, self).__init__(incoming, **kwargs)
        self.num_filters, self.filter_size = num_filters, as_tuple(filter_size, 2)
        self.stride, self.pad = as_tuple(stride, 2), pad
        if self.stride != (1, 1) or pad != "same":
            raise NotImplementedError("LocallyConnected2DLayer computes stride 1, pad 'same' only")
        self.untie_biases, self.flip_filters, self.channelwise = untie_biases, flip_filters, channelwise
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        _, channels, height, width = self.input_shape
        taps = self.filter_size + (height, width)
        self.W = self.add_param(W, ((num_filters,) if channelwise else (num_filters, channels)) + taps, name="W")
        if b is None:
            self.b = None
        else:
            self.b = self.add_param(b, (num_filters, height, width) if untie_biases else (num_filters,), name="b",
                                    regularizable=False)

    def get_output_for(self, input, **kwargs):
        kh, kw = self.filter_size
        height, width = self.input_shape[2:]
        padded = T.zeros((input.shape[0], input.shape[1], height + kh - 1, width + kw - 1), dtype=input.dtype)
        padded = T.set_subtensor(padded[:, :, kh // 2:kh // 2 + height, kw // 2:kw // 2 + width], input)
        W = self.W[..., ::-1, ::-1, :, :] if self.flip_filters else self.W
        out = 0
        for i in range(kh):
            for j in range(kw):
                view = padded[:, :, i:i + height, j:j + width]
                if self.channelwise:
                    out = out + view * W[:, i, j]
                else:
                    out = out + (view.dimshuffle(0, "x", 1, 2, 3) * W[:, :, i, j]).sum(axis=2)
        if self.b is not None:
            out = out + (self.b.dimshuffle("x", 0, 1, 2) if self.untie_biases else self.b.dimshuffle("x", 0, "x", "x"))
        return self.nonlinearity(out)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], self.num_filters) + tuple(input_shape[2:])


# -- spatial pyramid pooling -----------------------------------------------------------------------------------
def _pyramid(input, known, pool_dims, mode, implementation):
    sizes = [input.shape[2 + i] if s is None else s for i, s in enumerate(known)]
    levels = []
    for d in pool_dims:
        if implementation == "fast":
            windows = tuple((s + d - 1) // d for s in sizes)
            strides = tuple(s // d for s in sizes)
            pooled = pool_2d(input, ws=windows, stride=strides, ignore_border=True, pad=None, mode=mode)
            levels.append(pooled.flatten(3))
            continue
        reduce = T.max if mode == "max" else T.mean
        h, w = input.shape[2], input.shape[3]
        for r in range(d):
            for c in range(d):
                rows = slice(T.floor(r / float(d) * h).astype("int32"), T.ceil((r + 1) / float(d) * h).astype("int32"))
                cols = slice(T.floor(c / float(d) * w).astype("int32"), T.ceil((c + 1) / float(d) * w).astype("int32"))
                levels.append(reduce(input[:, :, rows, cols], axis=(2, 3)).dimshuffle(0, 1, "x"))
    return T.concatenate(levels, axis=2)


class SpatialPyramidPoolingLayer(Layer):
    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", implementation="fast", **kwargs):
        super(SpatialPyramidPoolingLayer, self).__init__(incoming, **kwargs)
        if len(self.input_shape) != 4:
            raise ValueError("SpatialPyramidPoolingLayer needs a 4-d input")
        self.pool_dims, self.mode, self.implementation = pool_dims, mode, implementation

    def get_output_for(self, input, **kwargs):
        return _pyramid(input, self.input_shape[2:], self.pool_dims, self.mode, self.implementation)

    def get_output_shape_for(self, input_shape):
        return (input_shape[0], input_shape[1], sum(d * d for d in self.pool_dims))


class SpatialPyramidPoolingDNNLayer(SpatialPyramidPoolingLayer):
    def __init__(self, incoming, pool_dims=[4, 2, 1], mode="max", **kwargs):
        super(SpatialPyramidPoolingDNNLayer, self).__init__(incoming, pool_dims, mode, "fast", **kwargs)
        del self.implementation  # cuDNN's layer has none

    def get_output_for(self, input, **kwargs):
        return _pyramid(input, self.input_shape[2:], self.pool_dims, self.mode, "fast")


# -- inverse ---------------------------------------------------------------------------------------------------
class InverseLayer(MergeLayer):
    def __init__(self, incoming, layer, **kwargs):
        super(InverseLayer, self).__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]

    def get_output_for(self, inputs, **kwargs):
        incoming, layer_out, layer_in = inputs
        return theano.grad(None, wrt=layer_in, known_grads={layer_out: incoming})


# -- cuda-convnet ------------------------------------------------------------------------------------------------
def _length(n, k, s, pad):
    if n is None:
        return None
    p = {"valid": 0, "same": k // 2, "full": k - 1}.get(pad, pad) if isinstance(pad, str) else pad
    return (n + 2 * p - k) // s + 1


class Conv2DCCLayer(Layer):
    def __init__(self, incoming, num_filters, filter_size, stride=(1, 1), pad=0, untie_biases=False, W=None,
                 b=init.Constant(0.), nonlinearity=nonlinearities.rectify, dimshuffle=True, flip_filters=False,
                 partial_sum=1, **kwargs):
        super(Conv2DCCLayer, self).__init__(incoming, **kwargs)
        self.num_filters, self.filter_size, self.stride = num_filters, as_tuple(filter_size, 2), as_tuple(stride, 2)
        self.pad = (0, 0) if pad == "valid" else pad if isinstance(pad, str) else as_tuple(pad, 2)
        self.untie_biases, self.dimshuffle, self.flip_filters = untie_biases, dimshuffle, flip_filters
        self.partial_sum = partial_sum
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        channels = self.input_shape[1] if dimshuffle else self.input_shape[0]
        if W is None:
            W = init.GlorotUniform() if dimshuffle else init.GlorotUniform(c01b=True)
        shape = ((num_filters, channels) + self.filter_size if dimshuffle
                 else (channels,) + self.filter_size + (num_filters,))
        self.W = self.add_param(W, shape, name="W")
        rows, cols = self._out_rows_cols(self.input_shape)
        if b is None:
            self.b = None
        else:
            self.b = self.add_param(b, (num_filters, rows, cols) if untie_biases else (num_filters,), name="b",
                                    regularizable=False)

    def _out_rows_cols(self, input_shape):
        rows, cols = input_shape[2:] if self.dimshuffle else input_shape[1:3]
        k, s = self.filter_size[0], self.stride[0]
        pad = self.pad if isinstance(self.pad, str) else self.pad[0]
        return _length(rows, k, s, pad), _length(cols, k, s, pad)

    def get_output_shape_for(self, input_shape):
        rows, cols = self._out_rows_cols(input_shape)
        if self.dimshuffle:
            return (input_shape[0], self.num_filters, rows, cols)
        return (self.num_filters, rows, cols, input_shape[3])

    def get_output_for(self, input, **kwargs):
        x = input if self.dimshuffle else input.dimshuffle(3, 0, 1, 2)
        W = self.W if self.dimshuffle else self.W.dimshuffle(3, 0, 1, 2)
        k = self.filter_size[0]
        pad = {"same": k // 2, "full": k - 1}[self.pad] if isinstance(self.pad, str) else self.pad[0]
        out = T.nnet.conv2d(x, W, border_mode=(pad, pad), subsample=self.stride, filter_flip=self.flip_filters)
        if self.b is not None:
            out = out + (self.b.dimshuffle("x", 0, 1, 2) if self.untie_biases else self.b.dimshuffle("x", 0, "x", "x"))
        out = self.nonlinearity(out)
        return out if self.dimshuffle else out.dimshuffle(1, 2, 3, 0)


class MaxPool2DCCLayer(Layer):
    def __init__(self, incoming, pool_size, stride=None, ignore_border=False, dimshuffle=True, **kwargs):
        super(MaxPool2DCCLayer, self).__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 2)[0]
        self.stride = self.pool_size if stride is None else as_tuple(stride, 2)[0]
        if self.stride > self.pool_size or ignore_border:
            raise NotImplementedError("stride <= pool_size and ignore_border=False only")
        self.dimshuffle = dimshuffle

    def get_output_shape_for(self, input_shape):
        def length(n):
            return None if n is None else -(-max(0, n - self.pool_size) // self.stride) + 1
        if self.dimshuffle:
            return tuple(input_shape[:2]) + (length(input_shape[2]), length(input_shape[3]))
        return (input_shape[0], length(input_shape[1]), length(input_shape[2]), input_shape[3])

    def get_output_for(self, input, **kwargs):
        x = input if self.dimshuffle else input.dimshuffle(3, 0, 1, 2)
        out = pool_2d(x, ws=(self.pool_size,) * 2, stride=(self.stride,) * 2, ignore_border=False, mode="max")
        return out if self.dimshuffle else out.dimshuffle(1, 2, 3, 0)


class ShuffleBC01ToC01BLayer(Layer):
    def get_output_shape_for(self, input_shape):
        return (input_shape[1], input_shape[2], input_shape[3], input_shape[0])

    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(1, 2, 3, 0)


class ShuffleC01BToBC01Layer(Layer):
    def get_output_shape_for(self, input_shape):
        return (input_shape[3], input_shape[0], input_shape[1], input_shape[2])

    def get_output_for(self, input, **kwargs):
        return input.dimshuffle(3, 0, 1, 2)


class NINLayer_c01b(Layer):
    def __init__(self, incoming, num_units, untie_biases=False, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, **kwargs):
        super(NINLayer_c01b, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units, self.untie_biases = num_units, untie_biases
        self.W = self.add_param(W, (num_units, self.input_shape[0]), name="W")
        if b is None:
            self.b = None
        else:
            shape = (num_units,) + tuple(self.input_shape[1:-1]) if untie_biases else (num_units,)
            self.b = self.add_param(b, shape, name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return (self.num_units,) + tuple(input_shape[1:])

    def get_output_for(self, input, **kwargs):
        out = T.tensordot(self.W, input, axes=[[1], [0]])
        if self.b is not None:
            out = out + (self.b.dimshuffle(0, 1, 2, "x") if self.untie_biases else self.b.dimshuffle(0, "x", "x", "x"))
        return self.nonlinearity(out)


# -- recurrence --------------------------------------------------------------------------------------------------
class CustomRecurrentLayer(L01.CustomRecurrentLayer):
    def __init__(self, *args, **kwargs):
        self.only_return_final = kwargs.pop("only_return_final", False)
        super(CustomRecurrentLayer, self).__init__(*args, **kwargs)

    def get_output_shape_for(self, input_shapes):
        shape = super(CustomRecurrentLayer, self).get_output_shape_for(input_shapes)
        return (shape[0],) + tuple(shape[2:]) if self.only_return_final else shape

    def get_output_for(self, inputs, **kwargs):
        out = super(CustomRecurrentLayer, self).get_output_for(inputs, **kwargs)
        return out[:, 0 if self.backwards else -1] if self.only_return_final else out


def _cuda_convnet_module():
    import types

    from .lasagne02_backport import adopt

    module = types.ModuleType("lasagne.layers.cuda_convnet")
    for name in ("Conv2DCCLayer", "MaxPool2DCCLayer", "ShuffleBC01ToC01BLayer", "ShuffleC01BToBC01Layer",
                 "NINLayer_c01b"):
        adopt(module, name, globals()[name])
    module.bc01_to_c01b, module.c01b_to_bc01 = ShuffleBC01ToC01BLayer, ShuffleC01BToBC01Layer
    sys.modules[module.__name__] = L01.cuda_convnet = module


def install():
    from .lasagne02_backport import adopt

    for name in ("StandardizationLayer", "instance_norm", "layer_norm", "RandomizedRectifierLayer", "rrelu",
                 "TransformerLayer", "TPSTransformerLayer", "LocallyConnected2DLayer", "SpatialPyramidPoolingLayer",
                 "InverseLayer", "CustomRecurrentLayer"):
        adopt(L01, name, globals()[name])
    adopt(sys.modules["lasagne.layers.dnn"], "SpatialPyramidPoolingDNNLayer", SpatialPyramidPoolingDNNLayer)
    _cuda_convnet_module()
