"""Neural-network ops: softmax, log-softmax, 2-d convolution, 2-d pooling, and batch normalization
(a formula of elementwise ops, as Theano's ``bn.batch_normalization`` is).

Losses (``categorical_crossentropy`` ...) are training-only: they are lazy values (see ``graph``).
"""
from . import dtypes as D
from . import elemwise as E
from .graph import NotTraceable, as_variable, builder, make_node, user_location


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
