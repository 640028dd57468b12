"""Turn Lasagne padding conventions into explicit ONNX ``pads`` (begin..., end...).

Convolutions: ``'valid'`` = 0, ``'full'`` = k-1, ``'same'`` = k//2 (see :func:`conv_pads`), ints
as given.  Pooling: ``pad`` on both sides; ``ignore_border=False`` keeps Theano's trailing partial
window, expressed as ``ceil_mode=1`` where ONNX's ceil rule gives Theano's length (a window longer
than its axis shrunk to the axis) and as extra end padding (ignored by MaxPool, excluded from
averages) where it does not: a stride longer than the window whose last window would start past the
input, which ONNX's shape inference and onnxruntime count differently.
"""
from exporter.errors import UnsupportedLayerError


def conv_pads(spec):
    """ONNX pads (begin..., end...) for a Conv layer's Lasagne ``pad``.

    'same' pads k//2 before and (k-1)//2 after: equal for odd kernels, and for even kernels the
    split Lasagne 0.1 implements (its output keeps the input length at stride 1).
    """
    pad, ks = spec.attrs["pad"], spec.attrs["filter_size"]
    if pad == "full":
        return [k - 1 for k in ks] * 2
    if pad == "same":
        return [k // 2 for k in ks] + [(k - 1) // 2 for k in ks]
    if pad == "valid":
        return [0] * (2 * len(ks))
    return list(pad) * 2


def theano_pool_length(n, k, s, pad, ignore_border):
    """Theano's pooled length (Lasagne's ``pool_output_length``)."""
    if ignore_border:
        return (n + 2 * pad - k) // s + 1
    if s >= k:
        return (n + s - 1) // s
    return max(0, (n - k + s - 1) // s) + 1


def onnx_ceil_length(n, k, s):
    return -(-(n - k) // s) + 1


def pool_pads(spec, in_shape):
    a = spec.attrs
    ks, ss, ps = a["pool_size"], a["stride"], a["pad"]
    if a["ignore_border"]:
        return {"pads": ps + ps, "ceil_mode": 0, "count_include_pad": int(a["mode"] == "average_inc_pad")}
    if any(ps):
        raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                    "ignore_border=False requires pad=0 (as Theano does)")
    spatial = in_shape[len(in_shape) - len(ks):]
    # a window longer than its axis: Theano's one partial window is the whole axis, which a window of
    # the axis' length computes without padding (ONNX needs padding to the window's length, and end-only
    # padding is what converters such as onnx2torch refuse)
    ks = [n if n is not None and n < k else k for n, k in zip(spatial, ks)]
    shrunk = {"pool_size": ks} if ks != list(a["pool_size"]) else {}
    ceil_ok, extra = True, []
    for n, k, s in zip(spatial, ks, ss):
        if n is None:
            if s > k:
                raise UnsupportedLayerError(
                    spec.name, spec.lasagne_class, spec.position,
                    "ignore_border=False with stride > pool_size needs a known input size (set --input-shape)")
            extra.append(None)
            continue
        out = theano_pool_length(n, k, s, 0, False)
        ceil_ok &= onnx_ceil_length(n, k, s) == out
        extra.append(max(0, (out - 1) * s + k - n))
    if ceil_ok:
        return {**shrunk, "pads": [0] * (2 * len(ks)), "ceil_mode": 1, "count_include_pad": 0}
    return {**shrunk, "pads": [0] * len(ks) + extra, "ceil_mode": 0, "count_include_pad": 0}


def explicit_pads(graph, weights):
    graph = graph.copy()
    layers = graph.by_name()
    for spec in graph.layers:
        if spec.kind == "Conv" and "pads" not in spec.attrs:
            spec.attrs = {**spec.attrs, "pads": conv_pads(spec)}
        elif spec.kind == "Pool" and "pads" not in spec.attrs:
            spec.attrs = {**spec.attrs, **pool_pads(spec, layers[spec.inputs[0]].output_shape)}
    return graph, weights
