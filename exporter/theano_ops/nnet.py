"""Neural-network ops: softmax and log-softmax (Theano's are row-wise: over the last axis of a 1-d
or 2-d input), ``conv2d`` (true convolution unless ``filter_flip=False``: the kernel is flipped, at
export when it is constant), its transpose ``AbstractConv2d_gradInputs`` (ConvTranspose) and ``pool_2d`` (over the last two axes; ``ignore_border=False`` keeps
Theano's trailing partial window, as the Pool converter does)."""
import numpy as np

from ..registry import lowering
from ..schema import BOOL, NON_NEGATIVE, POSITIVE, array
from .checks import INT_DTYPES, constant_value, count, fits, rank, same_dtype, unary
from .lower import Value, cast

INT64_MIN = np.iinfo(np.int64).min
PAIR = array(POSITIVE, 2, 2)


def check_rowwise(node, inputs):
    """Over the last axis of a 2-d input (the tracer makes a vector a row first, as Theano does)."""
    problem = unary(node, inputs)
    if not problem and rank(inputs[0]) != 2:
        problem = f"takes a 2-d input, not {rank(inputs[0])}-d"
    return problem or same_dtype(node, inputs[0])


@lowering("theano.tensor.nnet.softmax", since=13, emits=("Softmax",), check=check_rowwise)
def softmax(node, g, args):
    return g.node("Softmax", [args[0]], node.scope, axis=-1)


@lowering("theano.tensor.nnet.logsoftmax", since=13, emits=("LogSoftmax",), check=check_rowwise)
def logsoftmax(node, g, args):
    return g.node("LogSoftmax", [args[0]], node.scope, axis=-1)


def _conv_length(n, k, stride, pad, dilation):
    if n is None or k is None or pad is None:
        return None
    return (n + 2 * pad - ((k - 1) * dilation + 1)) // stride + 1


def check_conv2d(node, inputs):
    """4-d input and filters whose channels agree (in ``num_groups`` groups); the result's sizes."""
    problem = count(inputs, 2)
    if problem:
        return problem
    x, w = inputs
    a = node["attrs"]
    if rank(x) != 4 or rank(w) != 4:
        return f"takes a 4-d input and 4-d filters, not {rank(x)}-d and {rank(w)}-d"
    groups = a["num_groups"]
    channels, per_group, filters = x["shape"][1], w["shape"][1], w["shape"][0]
    if channels is not None and per_group is not None and channels != per_group * groups:
        return f"has filters of {per_group} channels for an input of {channels} in {groups} group(s)"
    if filters is not None and filters % groups:
        return f"has {filters} filters, not a multiple of num_groups {groups}"
    kernel = w["shape"][2:]
    mode = a["border_mode"]
    if mode == "valid":
        pads = [0, 0]
    elif mode == "full":
        pads = [None if k is None else (k - 1) * d for k, d in zip(kernel, a["filter_dilation"])]
    elif mode == "half":
        pads = [None if k is None else ((k - 1) * d + 1) // 2 for k, d in zip(kernel, a["filter_dilation"])]
    else:
        pads = mode
    spatial = [_conv_length(*v) for v in zip(x["shape"][2:], kernel, a["subsample"], pads, a["filter_dilation"])]
    if any(n is not None and n < 1 for n in spatial):
        return f"gives no output ({spatial}) for an input of {x['shape']} and filters of {w['shape']}"
    return fits(node, [x["shape"][0], filters] + spatial)


@lowering("theano.tensor.nnet.conv2d", emits=("Conv", "Slice", "Cast"),
          attrs={"border_mode": {"anyOf": [{"enum": ["valid", "full", "half"]}, array(NON_NEGATIVE, 2, 2)]},
                 "subsample": PAIR, "filter_flip": BOOL, "filter_dilation": PAIR, "num_groups": POSITIVE},
          check=check_conv2d)
def conv2d(node, g, args):
    x, w = (cast(g, v, node.dtype, node.scope) for v in args)
    a = node.attrs
    if a["filter_flip"]:
        if w.const is not None:
            w = g.lowering.constant(np.ascontiguousarray(w.const[:, :, ::-1, ::-1]), base="W_flipped")
        else:
            w = g.slice(w, [-1, -1], [INT64_MIN, INT64_MIN], [2, 3], node.scope, steps=[-1, -1])
    kernel = [s for s in node_kernel(args[1])]
    dilation = a["filter_dilation"]
    mode = a["border_mode"]
    if mode == "valid":
        pads = [0, 0]
    elif mode in ("full", "half"):
        if None in kernel:
            raise NotImplementedError(f"border_mode={mode!r} needs the kernel size")
        effective = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        pads = [e - 1 for e in effective] if mode == "full" else [e // 2 for e in effective]
    else:
        pads = list(mode)
    attrs = dict(strides=a["subsample"], pads=pads + pads, dilations=dilation, group=a["num_groups"])
    if None not in kernel:
        attrs["kernel_shape"] = kernel
    return g.node("Conv", [x, w], node.scope, **attrs)


def node_kernel(w: Value):
    return list(w.shape[2:]) if w.const is None else list(w.const.shape[2:])


def _pads(mode, kernel, dilation):
    """Theano's ``border_mode_to_pad`` of one border mode: the padding of each axis (None: unknown)."""
    if mode == "valid":
        return [0, 0]
    if mode in ("full", "half"):
        effective = [None if k is None else (k - 1) * d + 1 for k, d in zip(kernel, dilation)]
        return [None if e is None else (e - 1 if mode == "full" else e // 2) for e in effective]
    return list(mode)


def check_conv2d_grad_inputs(node, inputs):
    """4-d filters (``topgrad``'s channels, the image's channels per group, rows, columns), a 4-d
    input and the image's two sizes, which a convolution with these attributes maps onto the input's."""
    problem = count(inputs, 3)
    if problem:
        return problem
    w, x, size = inputs
    a = node["attrs"]
    if rank(w) != 4 or rank(x) != 4:
        return f"takes 4-d filters and a 4-d input, not {rank(w)}-d and {rank(x)}-d"
    if rank(size) != 1 or size["dtype"] not in INT_DTYPES or size["shape"][0] not in (None, 2):
        return f"takes the image's two sizes as an integer vector, not a {rank(size)}-d {size['dtype']} value"
    groups = a["num_groups"]
    filters, per_group = w["shape"][0], w["shape"][1]
    if filters is not None and x["shape"][1] is not None and filters != x["shape"][1]:
        return f"has {filters} filters for an input of {x['shape'][1]} channels"
    if filters is not None and filters % groups:
        return f"has {filters} filters, not a multiple of num_groups {groups}"
    if node["dtype"] != w["dtype"]:
        return f"gives its filters' dtype {w['dtype']}, but the node says {node['dtype']}"
    value = constant_value(size)
    spatial = [None, None] if value is None else [int(v) for v in value]
    pads = _pads(a["border_mode"], w["shape"][2:], a["filter_dilation"])
    for n, m, k, st, p, d in zip(spatial, x["shape"][2:], w["shape"][2:], a["subsample"], pads,
                                 a["filter_dilation"]):
        if n is not None and n < 1:
            return f"makes an image of sizes {spatial}"
        if None not in (n, m, k, p) and _conv_length(n, k, st, p, d) != m:
            return (f"makes an image of sizes {spatial}, which its convolution does not map onto the input's "
                    f"{x['shape'][2:]}")
    channels = None if per_group is None else per_group * groups
    return fits(node, [x["shape"][0], channels] + spatial)


@lowering("theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs",
          emits=("ConvTranspose", "Slice", "Cast"),
          attrs={"border_mode": {"anyOf": [{"enum": ["valid", "full", "half"]}, array(NON_NEGATIVE, 2, 2)]},
                 "subsample": PAIR, "filter_flip": BOOL, "filter_dilation": PAIR, "num_groups": POSITIVE},
          check=check_conv2d_grad_inputs)
def conv2d_grad_inputs(node, g, args):
    """The transpose of ``conv2d`` with these attributes (ONNX's ConvTranspose is that of a
    cross-correlation: a flipped kernel for ``filter_flip``), cropped as Theano crops its full
    convolution by the padding.  The image's size decides the trailing rows a stride leaves over
    (``output_padding``): from the constant size when the input's is known, else the most a stride
    allows, then sliced to the size given."""
    w, x = (cast(g, v, node.dtype, node.scope) for v in args[:2])
    size = args[2]
    a = node.attrs
    s = node.scope
    if a["filter_flip"]:
        if w.const is not None:
            w = g.lowering.constant(np.ascontiguousarray(w.const[:, :, ::-1, ::-1]), base="W_flipped")
        else:
            w = g.slice(w, [-1, -1], [INT64_MIN, INT64_MIN], [2, 3], s, steps=[-1, -1])
    kernel = node_kernel(args[0])
    if a["border_mode"] in ("full", "half") and None in kernel:
        raise NotImplementedError(f"border_mode={a['border_mode']!r} needs the kernel size")
    pads = _pads(a["border_mode"], kernel, a["filter_dilation"])
    stride, dilation = a["subsample"], a["filter_dilation"]
    spatial = None if size.const is None else [int(v) for v in size.const]
    exact = spatial is not None and None not in kernel and None not in x.shape[2:]
    if exact:
        extra = [n - ((m - 1) * st + (k - 1) * d + 1 - 2 * p)
                 for n, m, k, st, p, d in zip(spatial, x.shape[2:], kernel, stride, pads, dilation)]
    else:
        extra = [st - 1 for st in stride]
    attrs = dict(strides=stride, pads=pads + pads, dilations=dilation, group=a["num_groups"])
    if any(extra):
        attrs["output_padding"] = extra
    if None not in kernel:
        attrs["kernel_shape"] = kernel
    out = g.node("ConvTranspose", [x, w], s, **attrs)
    if exact or not any(extra):
        return out
    return g.slice(out, [0, 0], cast(g, size, "int64", s), [2, 3], s)


def _pooled_length(n, k, stride, pad, ignore_border):
    """Theano's ``Pool.out_shape`` of one axis."""
    if n is None:
        return None
    if ignore_border:
        return (n + 2 * pad - k) // stride + 1
    return (n + stride - 1) // stride if stride >= k else max(0, (n - k + stride - 1) // stride) + 1


def check_pool_2d(node, inputs):
    """Over the last two axes of an input of at least 2; padding (smaller than the window) only with
    ignore_border, as Theano has it."""
    problem = count(inputs, 1) or same_dtype(node, inputs[0])
    if problem:
        return problem
    (x,) = inputs
    a = node["attrs"]
    if rank(x) < 2:
        return f"pools the last two axes of a {rank(x)}-d input"
    if any(a["pad"]) and not a["ignore_border"]:
        return f"pads {a['pad']} with ignore_border false (Theano pads only with ignore_border)"
    if any(p >= k for p, k in zip(a["pad"], a["ws"])):
        return f"pads {a['pad']}, not less than its window {a['ws']}"
    spatial = [_pooled_length(*v, a["ignore_border"]) for v in zip(x["shape"][-2:], a["ws"], a["stride"], a["pad"])]
    if any(n is not None and n < 1 for n in spatial):
        return f"gives no output ({spatial}) for an input of {x['shape']}"
    return fits(node, x["shape"][:-2] + spatial)


@lowering("theano.tensor.signal.pool.pool_2d", emits=("MaxPool", "AveragePool", "Mul", "Reshape", "Concat",
                                                      "Shape", "Slice"),
          attrs={"ws": PAIR, "stride": PAIR, "pad": array(NON_NEGATIVE, 2, 2), "ignore_border": BOOL,
                 "mode": {"enum": ["max", "sum", "average_inc_pad", "average_exc_pad"]}},
          check=check_pool_2d)
def pool_2d(node, g, args):
    from passes.explicit_pads import onnx_ceil_length, theano_pool_length  # (imports onnx: not at module level)

    x = args[0]
    a = node.attrs
    ws, stride, pad = a["ws"], a["stride"], a["pad"]
    s = node.scope
    if a["mode"] == "sum":
        raise NotImplementedError("pool_2d(mode='sum') has no exact ONNX form here")
    attrs = dict(kernel_shape=ws, strides=stride)
    if a["ignore_border"]:
        attrs.update(pads=pad + pad, ceil_mode=0)
    else:
        spatial = x.shape[-2:]
        ceil_ok, extra = True, []
        for n, k, st in zip(spatial, ws, stride):
            if n is None:
                if st > k:
                    raise NotImplementedError("ignore_border=False with a stride larger than the window needs a "
                                              "known input size")
                extra.append(0)
                continue
            out = theano_pool_length(n, k, st, 0, False)
            ceil_ok &= onnx_ceil_length(n, k, st) == out
            extra.append(max(0, (out - 1) * st + k - n))
        attrs.update(pads=[0, 0] + ([0, 0] if ceil_ok else extra), ceil_mode=int(ceil_ok))
    if a["mode"] == "max":
        op = "MaxPool"
    else:
        op = "AveragePool"
        # Theano averages a trailing partial window (ignore_border=False) over the elements inside it
        attrs["count_include_pad"] = int(a["mode"] == "average_inc_pad" and a["ignore_border"])
    if x.ndim == 4:
        return g.node(op, [x], s, **attrs)
    # Theano pools the last two axes of any input: fold the leading axes into one batch axis
    x_shape = g.node("Shape", [x], s)
    last_two = g.slice(x_shape, [-2], [np.iinfo(np.int64).max], [0], s)
    flat = g.node("Reshape", [x, g.node("Concat", [g.ints(f"{s}.lead", [-1, 1]), last_two], s, axis=0)], s)
    pooled = g.node(op, [flat], s, **attrs)
    lead = g.slice(x_shape, [0], [x.ndim - 2], [0], s)
    tail = g.slice(g.node("Shape", [pooled], s), [2], [4], [0], s)
    return g.node("Reshape", [pooled, g.node("Concat", [lead, tail], s, axis=0)], s)
