"""LocallyConnected2DLayer (Lasagne 0.2): a 'same'-padded, stride-1 convolution with a separate filter
at every output position, W of shape (F, C, kh, kw, H, W), or (C, kh, kw, H, W) with ``channelwise``
(each channel filtered on its own).

Lasagne adds ``input[y + i - kh//2, x + j - kw//2] * W[..., i', j', y, x]`` over the filter taps that
fall inside the image (``i' = kh-1-i`` with ``flip_filters``, the default).  Here: the input is
zero-padded (kh//2 before, kh-1-kh//2 after), the kh*kw shifted views are stacked, and

* full: a batched MatMul over the H*W positions, patches (HW, N, C*kh*kw) @ W (HW, C*kh*kw, F);
* channelwise: patches (N, C, kh*kw, H, W) * W, summed over the taps;

then the tied (F,) or untied (F, H, W) bias is added.  The nonlinearity becomes a layer of its own
(``split_nonlinearities``).
"""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NONLINEARITY, ODD, POSITIVE, array, obj, shape_problem


@capture_rule("LocallyConnected", "LocallyConnected2DLayer", params=("W", "b"))
def capture_locally_connected(layer, ctx):
    if tuple(layer.stride) != (1, 1) or layer.pad != "same":  # Lasagne refuses these itself
        raise ctx.unsupported(f"stride={layer.stride}, pad={layer.pad!r}: Lasagne computes only stride 1, pad 'same'")
    return {
        "num_filters": int(layer.num_filters),
        "filter_size": [int(k) for k in layer.filter_size],
        "flip_filters": bool(layer.flip_filters),
        "channelwise": bool(layer.channelwise),
        "untie_biases": bool(layer.untie_biases),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@attrs_schema("LocallyConnected", obj({
    "num_filters": POSITIVE,
    "filter_size": array(ODD, 2, 2),  # Lasagne's pad='same' needs odd sizes
    "flip_filters": BOOL,
    "channelwise": BOOL,
    "untie_biases": BOOL,
    "nonlinearity": NONLINEARITY,
}), required_params=("W",))
def check_locally_connected(layer):
    a = layer.attrs
    if layer.rank != 4 or None in layer.input_shape[1:]:
        return f"an input of shape {list(layer.input_shape)}: LocallyConnected2DLayer needs (batch, channels, " \
               f"height, width), known"
    _, c, h, w = layer.input_shape
    f = a["num_filters"]
    if a["channelwise"] and f != c:
        return f"num_filters {f} with channelwise=true must be the input's {c} channels"
    return (shape_problem("W", layer, [f, *([] if a["channelwise"] else [c]), *a["filter_size"], h, w],
                          ("num_filters", "channelwise", "filter_size"))
            or shape_problem("b", layer, [f, h, w] if a["untie_biases"] else [f], ("num_filters", "untie_biases")))


def _taps(w, flip):
    """W with its filter axes (2, 3 of the full form) in the order the stacked views use."""
    return np.ascontiguousarray(w[:, :, ::-1, ::-1] if flip else w)


@converter("LocallyConnected", emits=("Pad", "Slice", "Unsqueeze", "Concat", "Reshape", "Transpose", "MatMul",
                                      "Mul", "ReduceSum", "Add"))
def convert_locally_connected(spec, g):
    a = spec.attrs
    _, c, h, w = g.input_shape(spec)
    kh, kw = a["filter_size"]
    f = a["num_filters"]
    x = g.input(spec)
    pads = [0, 0, kh // 2, kw // 2, 0, 0, kh - 1 - kh // 2, kw - 1 - kw // 2]
    padded = g.node("Pad", [x, g.ints(f"{spec.name}.pads", pads)], spec.name)
    views = []
    for i in range(kh):
        for j in range(kw):
            view = g.node("Slice", [padded, g.ints(f"{spec.name}.starts", [i, j]),
                                    g.ints(f"{spec.name}.ends", [i + h, j + w]), g.ints(f"{spec.name}.axes", [2, 3])],
                          spec.name)
            views.append(g.unsqueeze(view, [2], spec.name))
    patches = views[0] if len(views) == 1 else g.node("Concat", views, spec.name, axis=2)  # (N, C, kh*kw, H, W)
    has_b = spec.param("b") is not None
    if a["channelwise"]:  # W (C, kh, kw, H, W)
        weight = g.param(spec, "W", transform=lambda v: _taps(v[:, None], a["flip_filters"]).reshape(c, kh * kw, h, w))
        y = g.reduce("ReduceSum", g.node("Mul", [patches, weight], spec.name), [2], spec.name, keepdims=False,
                     output=None if has_b else g.out(spec))
    else:  # W (F, C, kh, kw, H, W) -> (H*W, C*kh*kw, F)
        weight = g.param(spec, "W", transform=lambda v: np.ascontiguousarray(
            _taps(v, a["flip_filters"]).reshape(f, c * kh * kw, h * w).transpose(2, 1, 0)))
        rows = g.node("Reshape", [patches, g.ints(f"{spec.name}.rows", [0, c * kh * kw, h * w])], spec.name)
        rows = g.node("Transpose", [rows], spec.name, perm=[2, 0, 1])  # (HW, N, C*kh*kw)
        y = g.node("Transpose", [g.node("MatMul", [rows, weight], spec.name)], spec.name, perm=[1, 2, 0])
        y = g.node("Reshape", [y, g.ints(f"{spec.name}.out_shape", [0, f, h, w])], spec.name,
                   output=None if has_b else g.out(spec))
    if not has_b:
        return y
    bias = g.param(spec, "b", transform=lambda v: v if a["untie_biases"] else v.reshape(-1, 1, 1))
    return g.node("Add", [y, bias], spec.name, output=g.out(spec))
