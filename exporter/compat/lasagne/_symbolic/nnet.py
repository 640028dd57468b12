"""Neural-network ops: softmax, log-softmax, 2-d convolution and its transpose (``AbstractConv2d_gradInputs``,
``conv2d_grad_wrt_inputs``, ``conv2d_transpose``) and Theano's ``bilinear_upsampling`` (a formula of those), 2-d
pooling, and batch normalization
(a formula of elementwise ops, as Theano's ``bn.batch_normalization`` is).

Losses (``categorical_crossentropy`` ...) are training-only: they are lazy values (see ``graph``).
"""
import numpy as np

from . import dtypes as D
from . import elemwise as E
from .graph import NotTraceable, as_variable, make_node, user_location
from .registry import build, builder


@builder("theano.tensor.nnet.softmax", "theano.tensor.nnet.nnet.softmax", "theano.tensor.nnet.softmax_op",
         "theano.tensor.nnet.nnet.softmax_op")
def softmax(c):
    """Theano's row-wise softmax of a 2-d input (over its last axis); a vector is made a row first."""
    return _rowwise("theano.tensor.nnet.softmax", c)


@builder("theano.tensor.nnet.logsoftmax", "theano.tensor.nnet.nnet.logsoftmax")
def logsoftmax(c):
    return _rowwise("theano.tensor.nnet.logsoftmax", c)


def _rowwise(op, c):
    from .shape import shape_padleft

    c = as_variable(c)
    if c.ndim not in (1, 2) or not D.is_float(c.dtype):
        raise ValueError(f"{op} takes a 1-d or 2-d float input, got a {c.ndim}-d {c.dtype} (reshape first)")
    if c.ndim == 1:
        c = shape_padleft(c, 1)
    return make_node(op, [c], dtype=c.dtype, broadcastable=c.broadcastable, shape=c.static_shape)


# -- convolution -------------------------------------------------------------------------------------------------
def _pair(v, what):
    if isinstance(v, (list, tuple)):
        if len(v) != 2 or not all(isinstance(i, int) for i in v):
            raise NotTraceable(f"conv2d: {what} must be two integers here, got {v!r}", "theano.tensor.nnet.conv2d",
                               user_location())
        return [int(i) for i in v]
    return [int(v), int(v)]


def _conv_length(n, k, s, p, d):
    if n is None or k is None:
        return None
    return (n + 2 * p - ((k - 1) * d + 1)) // s + 1


@builder("theano.tensor.nnet.conv2d", "theano.tensor.nnet.abstract_conv.conv2d")
def conv2d(input, filters, input_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
           filter_flip=True, image_shape=None, filter_dilation=(1, 1), num_groups=1, unshared=False, **kwargs):
    """Theano 1.0's ``conv2d``: a true convolution unless ``filter_flip=False``.  ``border_mode``:
    'valid', 'full', 'half' (k//2 each side), an int or a pair of ints."""
    input, filters = as_variable(input), as_variable(filters)
    if unshared:
        raise NotTraceable("unshared convolution is not traced", "theano.tensor.nnet.conv2d", user_location())
    if input.ndim != 4 or filters.ndim != 4:
        raise TypeError(f"conv2d takes 4-d input and filters, got {input.ndim}-d and {filters.ndim}-d")
    subsample = _pair(subsample, "subsample")
    dilation = _pair(filter_dilation, "filter_dilation")
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"conv2d: border_mode {border_mode!r} is not valid, full, half or integers")
        mode = border_mode
    else:
        mode = _pair(border_mode, "border_mode")
    ks = [filters.static_shape[2], filters.static_shape[3]]
    if mode == "valid":
        pads = [0, 0]
    elif mode == "full":
        pads = [None if k is None else (k - 1) * d for k, d in zip(ks, dilation)]
    elif mode == "half":
        pads = [None if k is None else ((k - 1) * d + 1) // 2 for k, d in zip(ks, dilation)]
    else:
        pads = mode
    spatial = [_conv_length(n, k, s, p, d) if p is not None else None
               for n, k, s, p, d in zip(input.static_shape[2:], ks, subsample, pads, dilation)]
    shape = (input.static_shape[0], filters.static_shape[0], *spatial)
    bc = (input.broadcastable[0], filters.broadcastable[0], False, False)
    return make_node("theano.tensor.nnet.conv2d", [input, filters],
                     {"border_mode": mode, "subsample": subsample, "filter_flip": bool(filter_flip),
                      "filter_dilation": dilation, "num_groups": int(num_groups)},
                     dtype=D.upcast(input.dtype, filters.dtype), broadcastable=bc, shape=shape)


@builder("theano.tensor.nnet.conv.conv2d")
def conv2d_legacy(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1, 1),
                  **kwargs):
    """The old ``theano.tensor.nnet.conv.conv2d``: always a true convolution; 'valid' or 'full'."""
    return conv2d(input, filters, border_mode=border_mode, subsample=subsample, filter_flip=True)


# -- transposed convolution (the gradient of conv2d with respect to its input) ----------------------------------
GRAD_INPUTS = "theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs"


def _border_mode(border_mode, where):
    """Theano's ``BaseAbstractConv`` normalisation: 'valid', 'full', 'half' or a pair of paddings (equal
    pairs of sides become one; all zero is 'valid'); asymmetric padding is not traced."""
    if isinstance(border_mode, str):
        if border_mode not in ("valid", "full", "half"):
            raise ValueError(f"{where}: border_mode {border_mode!r} is not valid, full, half or integers")
        return border_mode
    modes = [border_mode] * 2 if isinstance(border_mode, int) else list(border_mode)
    if len(modes) != 2:
        raise ValueError(f"{where}: border_mode {border_mode!r} is not a pair")
    pads = []
    for m in modes:
        if isinstance(m, (list, tuple)) and len(m) == 2 and m[0] == m[1]:
            m = m[0]
        if not isinstance(m, int) or m < 0:
            raise NotTraceable(f"{where}: padding {border_mode!r} (asymmetric or not integers) is not traced", where,
                               user_location())
        pads.append(int(m))
    return "valid" if pads == [0, 0] else pads


class AbstractConv2dGradInputs(object):
    """``theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs``: the op Lasagne's and research
    code's transposed convolutions apply as ``op(W, x, output_size)`` (``output_size``: the image's two
    spatial sizes, which decide the result's size when ``subsample`` has several).  ``imshp``/``kshp``
    only serve Theano's checks; the node records the forward convolution's attributes."""

    def __init__(self, imshp=None, kshp=None, border_mode="valid", subsample=(1, 1), filter_flip=True,
                 filter_dilation=(1, 1), num_groups=1, unshared=False):
        if unshared:
            raise NotTraceable("unshared convolution is not traced", GRAD_INPUTS, user_location())
        self.imshp = list(imshp) if imshp else [None] * 4
        self.kshp = kshp
        self.border_mode = _border_mode(border_mode, GRAD_INPUTS)
        self.subsample = _pair(subsample, "subsample")
        self.filter_flip = bool(filter_flip)
        self.filter_dilation = _pair(filter_dilation, "filter_dilation")
        self.num_groups = int(num_groups)

    def __call__(self, kern, topgrad, shape):
        kern, topgrad = as_variable(kern), as_variable(topgrad)
        if kern.ndim != 4 or topgrad.ndim != 4:
            raise TypeError(f"{GRAD_INPUTS} takes 4-d filters and 4-d input, got {kern.ndim}-d and {topgrad.ndim}-d")
        shape = as_variable(list(shape) if isinstance(shape, tuple) else shape)
        if shape.ndim != 1 or shape.dtype not in D.INT_DTYPES or shape.static_shape[0] not in (None, 2):
            raise TypeError(f"{GRAD_INPUTS}: the output size must be two integers, got {shape!r}")
        known = shape.static_value
        spatial = [None, None] if known is None else [int(v) for v in known]
        channels = kern.static_shape[1]
        channels = None if channels is None else channels * self.num_groups
        fallback = [topgrad.static_shape[0], channels] + spatial
        out_shape = [f if not isinstance(i, (int, np.integer)) else int(i) for i, f in zip(self.imshp, fallback)]
        bc = (topgrad.broadcastable[0], kern.broadcastable[1] if self.num_groups == 1 else False, False, False)
        return make_node(GRAD_INPUTS, [kern, topgrad, shape],
                         {"border_mode": self.border_mode, "subsample": self.subsample,
                          "filter_flip": self.filter_flip, "filter_dilation": self.filter_dilation,
                          "num_groups": self.num_groups},
                         dtype=kern.dtype, broadcastable=bc, shape=out_shape)


@builder(GRAD_INPUTS)
def abstract_conv2d_grad_inputs(*args, **kwargs):
    return AbstractConv2dGradInputs(*args, **kwargs)


abstract_conv2d_grad_inputs.accepts_lazy = True  # an op, not a value


@builder("theano.tensor.nnet.abstract_conv.conv2d_grad_wrt_inputs", "theano.tensor.nnet.conv2d_grad_wrt_inputs")
def conv2d_grad_wrt_inputs(output_grad, filters, input_shape, filter_shape=None, border_mode="valid",
                           subsample=(1, 1), filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
    """Theano's function: the op above, ``input_shape``'s symbolic sizes left out of its ``imshp``."""
    imshp = [s if isinstance(s, (int, np.integer)) or s is None else None for s in input_shape]
    op = AbstractConv2dGradInputs(imshp, filter_shape, border_mode, subsample, filter_flip, filter_dilation,
                                  num_groups, unshared)
    return op(filters, output_grad, list(input_shape[-2:]))


@builder("theano.tensor.nnet.conv2d_transpose")
def conv2d_transpose(input, filters, output_shape, filter_shape=None, border_mode="valid", input_dilation=(1, 1),
                     filter_flip=True, filter_dilation=(1, 1), num_groups=1, unshared=False):
    """Theano's ``conv2d_transpose``: ``conv2d_grad_wrt_inputs`` with ``input_dilation`` as the subsample."""
    return conv2d_grad_wrt_inputs(input, filters, output_shape, filter_shape, border_mode, input_dilation,
                                  filter_flip, filter_dilation, num_groups, unshared)


# -- bilinear upsampling (Theano's formula: edge rows and columns repeated, then a transposed convolution) -------
BILINEAR = "theano.tensor.nnet.abstract_conv.bilinear_upsampling"


@builder("theano.tensor.nnet.abstract_conv.bilinear_kernel_1D")
def bilinear_kernel_1d(ratio, normalize=True):
    """``[1, 2, .. ratio, .. 2, 1]`` in floatX (divided by ``ratio`` when ``normalize``)."""
    half = build("theano.tensor.arange", 1, ratio + 1, dtype=D.float_x())
    kern = build("theano.tensor.concatenate", [half, half[-2::-1]])
    if normalize:
        kern = kern / E.cast(ratio, D.float_x())
    return kern


@builder("theano.tensor.nnet.abstract_conv.bilinear_kernel_2D")
def bilinear_kernel_2d(ratio, normalize=True):
    """The outer product of the 1-d kernels of the row ratio (``ratio[0]``) and the column ratio."""
    rows, columns = ratio if isinstance(ratio, tuple) else (ratio, ratio)
    return (bilinear_kernel_1d(columns, normalize).dimshuffle("x", 0)
            * bilinear_kernel_1d(rows, normalize).dimshuffle(0, "x"))


@builder(BILINEAR)
def bilinear_upsampling(input, ratio=None, frac_ratio=None, batch_size=None, num_input_channels=None,
                        use_1D_kernel=True):
    """Theano 1.0's ``bilinear_upsampling`` by an integer ``ratio``, built as Theano builds it: each
    image (``(-1, 1, rows, columns)``) gets its first and last row and column repeated, and the
    transposed convolution of a bilinear kernel (``conv2d_grad_wrt_inputs``, along rows then columns,
    or with the 2-d kernel) upsamples it to ``rows * ratio`` x ``columns * ratio``."""
    if ratio and frac_ratio:
        raise ValueError("bilinear_upsampling: can't use ratio and frac_ratio together")
    if frac_ratio:
        raise NotTraceable("bilinear_upsampling with frac_ratio is not traced", BILINEAR, user_location())
    if not isinstance(ratio, (int, np.integer)) or isinstance(ratio, bool) or ratio < 1:
        raise NotTraceable(f"bilinear_upsampling is traced with a constant integer ratio, not {ratio!r}", BILINEAR,
                           user_location())
    input = as_variable(input)
    if input.ndim != 4:
        raise TypeError(f"bilinear_upsampling takes a 4-d input, got {input.ndim}-d")
    ratio = int(ratio)
    try:
        images = batch_size * num_input_channels
    except TypeError:
        images = None
    rows, columns = input.shape[2:]  # (as Theano unpacks them: sizes it does not read as constants)
    x = input.reshape((-1, 1, rows, columns))
    x = build("theano.tensor.concatenate", (x[:, :, :1, :], x, x[:, :, -1:, :]), axis=2)
    x = build("theano.tensor.concatenate", (x[:, :, :, :1], x, x[:, :, :, -1:]), axis=3)
    pad = 2 * ratio - (ratio - 1) // 2 - 1
    if use_1D_kernel:
        kern = bilinear_kernel_1d(ratio)
        x = conv2d_grad_wrt_inputs(x, kern[np.newaxis, np.newaxis, :, np.newaxis],
                                   (images, 1, rows * ratio, columns + 2), (1, 1, None, 1), (pad, 0), (ratio, 1))
        x = conv2d_grad_wrt_inputs(x, kern[np.newaxis, np.newaxis, np.newaxis, :],
                                   (images, 1, rows * ratio, columns * ratio), (1, 1, 1, None), (0, pad), (1, ratio))
    else:
        kern = bilinear_kernel_2d(ratio)
        x = conv2d_grad_wrt_inputs(x, kern[np.newaxis, np.newaxis, :, :], (images, 1, rows * ratio, columns * ratio),
                                   (1, 1, None, None), (pad, pad), (ratio, ratio))
    return x.reshape((input.shape[0], input.shape[1], rows * ratio, columns * ratio))


# -- pooling ------------------------------------------------------------------------------------------------------
def pooled_length(n, k, s, pad, ignore_border):
    if n is None:
        return None
    if ignore_border:
        return (n + 2 * pad - k) // s + 1
    if s >= k:
        return (n + s - 1) // s
    return max(0, (n - k + s - 1) // s) + 1


@builder("theano.tensor.signal.pool.pool_2d")
def pool_2d(input, ws=None, ignore_border=None, stride=None, pad=(0, 0), mode="max", ds=None, st=None,
            padding=None):
    """Theano 1.0's ``pool_2d`` over the last two axes; modes max, sum, average_inc_pad, average_exc_pad."""
    input = as_variable(input)
    ws = ws if ws is not None else ds
    stride = stride if stride is not None else st
    pad = padding if padding is not None else pad
    if ws is None:
        raise TypeError("pool_2d needs ws")
    if ignore_border is None:
        ignore_border = False  # Theano 1.0's default (with a warning)
    if input.ndim < 2:
        raise TypeError("pool_2d needs an input of at least 2 dimensions")
    where = "theano.tensor.signal.pool.pool_2d"
    if not all(isinstance(v, int) for v in list(ws) + list(stride or ws) + list(pad)):
        raise NotTraceable("pool_2d is traced with constant window, stride and padding only", where, user_location())
    ws, stride, pad = [int(v) for v in ws], [int(v) for v in (stride or ws)], [int(v) for v in pad]
    if mode not in ("max", "sum", "average_inc_pad", "average_exc_pad"):
        raise ValueError(f"pool_2d: unknown mode {mode!r}")
    if any(pad) and not ignore_border:
        raise NotImplementedError("pool_2d: padding works only with ignore_border=True (as in Theano)")
    if any(p >= k for p, k in zip(pad, ws)):
        raise NotImplementedError("pool_2d: padding must be smaller than the window (as in Theano)")
    spatial = [pooled_length(n, k, s, p, ignore_border) for n, k, s, p in zip(input.static_shape[-2:], ws, stride, pad)]
    shape = tuple(input.static_shape[:-2]) + tuple(spatial)
    return make_node(where, [input], {"ws": ws, "stride": stride, "pad": pad, "ignore_border": bool(ignore_border),
                                      "mode": mode},
                     dtype=input.dtype, broadcastable=input.broadcastable[:-2] + (False, False), shape=shape)


# -- batch normalization (Theano's formulas) ------------------------------------------------------------------------
@builder("theano.tensor.nnet.bn.batch_normalization", "theano.tensor.nnet.batch_normalization")
def batch_normalization(inputs, gamma, beta, mean, std, mode="low_mem"):
    """``(inputs - mean) * (gamma / std) + beta``."""
    return E.add(E.mul(E.sub(inputs, mean), E.true_div(gamma, std)), beta)


@builder("theano.tensor.nnet.bn.batch_normalization_test")
def batch_normalization_test(inputs, gamma, beta, mean, var, axes="per-activation", epsilon=1e-4):
    """Theano's inference formula ``(inputs - mean) * (gamma / sqrt(var + epsilon)) + beta`` (the
    statistics already broadcastable to ``inputs``; epsilon in floatX)."""
    import numpy as np

    eps = np.asarray(epsilon, dtype=D.float_x())
    return E.add(E.mul(E.sub(inputs, mean), E.true_div(gamma, E.sqrt(E.add(var, eps)))), beta)
