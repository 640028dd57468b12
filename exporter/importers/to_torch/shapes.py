"""Shape ops: reshape/flatten/transpose/slice/concat/pad/resize..., and ``Shape`` -> ``Gather`` -> ``Concat``
arithmetic kept as Python expressions so the generated code works for any batch size."""
from __future__ import annotations

import numpy as np

from ..codegen import float_source
from ..onnx_reader import UnsupportedNodeError, float_literal, identifier, split_sizes
from .generator import _TORCH_DTYPES, TARGET, op, shape_elems, torch_pads, tup
from .indexing import embedding


_INT_MAX = 2 ** 62


@op("Flatten", attrs=("axis",))
def flatten(g, n):
    x = g.x(n.inputs[0], n)
    axis = n.attr("axis", 1)
    if axis < 0:
        axis += g.view.rank(n.inputs[0], n)
    if axis == 1:
        m = g.module(n, "nn.Flatten()")
        g.assign(n, n.outputs[0], f"{m}({x})")
    elif axis == 0:
        g.assign(n, n.outputs[0], f"{x}.reshape(1, -1)")
    else:
        g.assign(n, n.outputs[0], f"torch.flatten(torch.flatten({x}, {axis}), 0, {axis - 1})")


@op("Reshape", attrs=("allowzero",))
def reshape(g, n):
    x = g.x(n.inputs[0], n)
    elems, _ = shape_elems(g, n.inputs[1], n)
    allowzero = n.attr("allowzero", 0)
    dims = [f"{x}.shape[{i}]" if e == "0" and not allowzero else e for i, e in enumerate(elems)]
    g.assign(n, n.outputs[0], f"{x}.reshape({', '.join(dims)}{',' if len(dims) == 1 else ''})")


@op("Shape", attrs=("start", "end"))
def shape(g, n):
    rank = g.view.rank(n.inputs[0], n)
    x = g.x(n.inputs[0], n)
    static = g.view.shape(n.inputs[0])
    elems = [str(d) if d is not None else f"{x}.shape[{i}]" for i, d in enumerate(static)]
    g.shape_vals[n.outputs[0]] = (elems[n.attr("start", 0):n.attr("end", rank)], False)


def _shape_op(g, n):
    return n.inputs and n.inputs[0] in g.shape_vals


@op("Gather", attrs=("axis",))
def gather(g, n):
    idx = g.const(n.inputs[1])
    if idx is None:
        return embedding(g, n)
    axis = n.attr("axis", 0)
    if _shape_op(g, n):
        elems, _ = g.shape_vals[n.inputs[0]]
        picked = [elems[int(i)] for i in idx.reshape(-1)]
        g.shape_vals[n.outputs[0]] = (picked, idx.ndim == 0)
        return
    x = g.x(n.inputs[0], n)
    if axis < 0:
        axis += g.view.rank(n.inputs[0], n)
    lead = ":, " * axis
    if idx.ndim == 0:
        g.assign(n, n.outputs[0], f"{x}[{lead}{int(idx)}]")
    elif idx.size == 1 and idx.ndim == 1:
        i = int(idx[0])
        g.assign(n, n.outputs[0], f"{x}[{lead}{i}:{i + 1 if i != -1 else ''}]")
    else:
        buf = g.param(n, n.inputs[1], idx.astype(np.int64), trainable=False)
        g.assign(n, n.outputs[0], f"{x}[{lead}{buf}]")


@op("Cast", attrs=("to", "saturate", "round_mode"))
def cast(g, n):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(n.attr("to")))
    if _shape_op(g, n):
        if dtype.kind not in "iu":
            raise UnsupportedNodeError(n, f"casting a shape to {dtype} is not supported", TARGET)
        g.shape_vals[n.outputs[0]] = g.shape_vals[n.inputs[0]]
        return
    g.assign(n, n.outputs[0], f"{g.x(n.inputs[0], n)}.to({_TORCH_DTYPES.get(dtype.name, 'torch.float32')})")


def _ints_input(g, n, i, attr=None, default=None):
    if len(n.inputs) > i and n.inputs[i]:
        arr = g.const(n.inputs[i])
        if arr is None:
            raise UnsupportedNodeError(n, f"input {i} ({n.inputs[i]!r}) must be a constant", TARGET)
        return [int(v) for v in arr.reshape(-1)]
    if attr is not None and n.attr(attr) is not None:
        return list(n.attr(attr))
    return default


@op("Split", attrs=("axis", "num_outputs"))
def split(g, n):
    axis, sizes = split_sizes(g.view, n, TARGET)
    names = [identifier(g.pretty(o or f"{n.name}_{k}"), g.var_names) for k, o in enumerate(n.outputs)]
    g.lines.append(f"{', '.join(names)}{',' if len(names) == 1 else ''} = torch.split({g.x(n.inputs[0], n)}, "
                   f"{list(sizes)}, {axis})")
    g.vars.update((o, v) for o, v in zip(n.outputs, names) if o)


@op("Concat", attrs=("axis",))
def concat(g, n):
    if any(i in g.shape_vals for i in n.inputs):
        elems = []
        for i in n.inputs:
            elems += shape_elems(g, i, n)[0]
        g.shape_vals[n.outputs[0]] = (elems, False)
        return
    xs = [g.x(i, n) for i in n.inputs]
    g.assign(n, n.outputs[0], f"torch.cat([{', '.join(xs)}], dim={n.attr('axis')})")


@op("Slice", attrs=("starts", "ends", "axes"))
def slice_(g, n):
    starts = _ints_input(g, n, 1, "starts")
    ends = _ints_input(g, n, 2, "ends")
    axes = _ints_input(g, n, 3, "axes", list(range(len(starts))))
    steps = _ints_input(g, n, 4, None, [1] * len(starts))
    if any(s == 0 for s in steps):
        raise UnsupportedNodeError(n, "step 0 is invalid", TARGET)

    def bound(v):
        return "" if v >= _INT_MAX or v <= -_INT_MAX else str(v)

    if _shape_op(g, n):
        elems, _ = g.shape_vals[n.inputs[0]]
        (s, e, st), = zip(starts, ends, steps)
        g.shape_vals[n.outputs[0]] = (elems[slice(s if abs(s) < _INT_MAX else None,
                                                  e if abs(e) < _INT_MAX else None, st)], False)
        return
    rank = g.view.rank(n.inputs[0]) if any(a < 0 for a in axes) else max(axes) + 1
    axes = [a + rank if a < 0 else a for a in axes]
    idx = [":"] * (max(axes) + 1)
    x = g.x(n.inputs[0], n)
    flips = []
    shape = g.view.shape(n.inputs[0])
    for a, s, e, st in zip(axes, starts, ends, steps):
        if st < 0:  # torch has no negative steps: flip the axis, then slice forwards
            d = shape[a] if shape is not None else None
            if d is None:
                raise UnsupportedNodeError(n, "a negative step needs a static size on that axis", TARGET)
            picked = range(*slice(max(min(s, d - 1), -d - 1) if abs(s) < _INT_MAX else None,
                                  e if abs(e) < _INT_MAX else None, st).indices(d))
            first = d - 1 - picked[0] if len(picked) else 0
            flips.append(a)
            s, e, st = first, first + len(picked) * -st, -st
        idx[a] = f"{bound(s) if s != 0 else ''}:{bound(e)}" + (f":{st}" if st != 1 else "")
    if flips:
        x = f"torch.flip({x}, {tup(flips)})"
    g.assign(n, n.outputs[0], f"{x}[{', '.join(idx)}]")


@op("Expand")
def expand(g, n):
    target, _ = shape_elems(g, n.inputs[1], n)
    rank = g.view.rank(n.inputs[0], n)
    sizes = ["-1" if t == "1" and k >= len(target) - rank else t for k, t in enumerate(target)]
    g.assign(n, n.outputs[0], f"{g.x(n.inputs[0], n)}.expand({', '.join(sizes)})")


@op("Tile")
def tile(g, n):
    repeats = _ints_input(g, n, 1)
    g.assign(n, n.outputs[0], f"{g.x(n.inputs[0], n)}.repeat{tup(repeats)}")


@op("Transpose", attrs=("perm",))
def transpose(g, n):
    perm = n.attr("perm") or list(reversed(range(g.view.rank(n.inputs[0], n))))
    g.assign(n, n.outputs[0], f"{g.x(n.inputs[0], n)}.permute{tup(perm)}")


@op("Squeeze", "Unsqueeze", attrs=("axes",))
def squeeze(g, n):
    axes = _ints_input(g, n, 1, "axes")
    if _shape_op(g, n):
        elems, scalar = g.shape_vals[n.inputs[0]]
        if n.op_type == "Unsqueeze" and scalar and axes in ([0], [-1]):
            g.shape_vals[n.outputs[0]] = (elems, False)
            return
        if n.op_type == "Squeeze" and len(elems) == 1:
            g.shape_vals[n.outputs[0]] = (elems, True)
            return
    x = g.x(n.inputs[0], n)
    if n.op_type == "Squeeze":
        g.assign(n, n.outputs[0], f"torch.squeeze({x}, dim={tup(axes)})" if axes else f"torch.squeeze({x})")
        return
    out_rank = g.view.rank(n.inputs[0], n) + len(axes)
    expr = x
    for a in sorted(a + out_rank if a < 0 else a for a in axes):
        expr = f"{expr}.unsqueeze({a})"
    g.assign(n, n.outputs[0], expr)


@op("Identity")
def identity(g, n):
    if _shape_op(g, n):
        g.shape_vals[n.outputs[0]] = g.shape_vals[n.inputs[0]]
    else:
        g.alias(n.outputs[0], g.x(n.inputs[0], n))


@op("Dropout", attrs=("seed",))
def dropout(g, n):
    if len(n.inputs) > 2 and n.inputs[2]:
        t = g.const(n.inputs[2])
        if t is None or bool(t):
            raise UnsupportedNodeError(n, "Dropout in training mode is not supported", TARGET)
    if len(n.outputs) > 1 and n.outputs[1]:
        raise UnsupportedNodeError(n, "the Dropout mask output is not supported", TARGET)
    g.alias(n.outputs[0], g.x(n.inputs[0], n))


@op("Pad", attrs=("mode",))
def pad(g, n):
    mode = n.attr("mode", "constant")
    pads = _ints_input(g, n, 1)
    value = 0.0
    if len(n.inputs) > 2 and n.inputs[2]:
        v = g.const(n.inputs[2])
        if v is None:
            raise UnsupportedNodeError(n, "constant_value must be a constant", TARGET)
        value = float_literal(v.reshape(()).item()) if v.size else 0.0
    rank = g.view.rank(n.inputs[0], n)
    axes = _ints_input(g, n, 3, None, list(range(rank)))
    axes = [a + rank if a < 0 else a for a in axes]
    begins, ends = [0] * rank, [0] * rank
    for k, a in enumerate(axes):
        begins[a], ends[a] = pads[k], pads[k + len(axes)]
    used = [a for a in range(rank) if begins[a] or ends[a]]
    x = g.x(n.inputs[0], n)
    if not used:
        g.alias(n.outputs[0], x)
        return
    first = min(used)
    k = rank - first
    tp = torch_pads(begins[first:], ends[first:])
    torch_mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(mode)
    if torch_mode is None:
        raise UnsupportedNodeError(n, f"mode={mode!r} is not supported", TARGET)
    module_ok = k <= 3 and first >= (1 if mode == "constant" else 2) and min(tp) >= 0 and mode != "wrap"
    if module_ok:
        if mode == "constant":
            ctor = f"nn.ZeroPad{k}d({tup(tp)})" if value == 0.0 else f"nn.ConstantPad{k}d({tup(tp)}, {float_source(value)})"
        else:
            ctor = f"nn.{'Reflection' if mode == 'reflect' else 'Replication'}Pad{k}d({tup(tp)})"
        m = g.module(n, ctor)
        g.assign(n, n.outputs[0], f"{m}({x})")
        return
    extra = f", value={float_source(value)}" if mode == "constant" and value != 0.0 else ""
    g.assign(n, n.outputs[0], f"F.pad({x}, {tup(tp)}, mode={torch_mode!r}{extra})")


@op("Resize", attrs=("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                     "exclude_outside", "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy"))
def resize(g, n):
    factors = resize_factors(g.view, n, TARGET)
    nd = len(factors)
    scale = "(" + ", ".join(f"{float(int(f))!r}" for f in factors) + ")"
    m = g.module(n, f"nn.Upsample(scale_factor={scale}, mode='nearest')")
    g.assign(n, n.outputs[0], f"{m}({g.x(n.inputs[0], n)})")


def resize_factors(view, n, target):
    """Integer spatial upsampling factors of a nearest-neighbour Resize, or raise."""
    mode = n.attr("mode", "nearest")
    if mode != "nearest":
        raise UnsupportedNodeError(n, f"mode={mode!r} is not supported (only nearest)", target)
    ctm = n.attr("coordinate_transformation_mode", "half_pixel")
    nm = n.attr("nearest_mode", "round_prefer_floor")
    ok = (ctm == "asymmetric" and nm == "floor") or \
        (ctm in ("half_pixel", "pytorch_half_pixel") and nm in ("round_prefer_floor", "round_prefer_ceil"))
    if not ok:
        raise UnsupportedNodeError(n, f"coordinate_transformation_mode={ctm!r} with nearest_mode={nm!r} "
                                      "is not supported", target)
    if n.attr("antialias", 0) or n.attr("axes") is not None or n.attr("exclude_outside", 0):
        raise UnsupportedNodeError(n, "antialias, axes and exclude_outside are not supported", target)
    in_shape = view.shape(n.inputs[0])
    scales = view.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    if scales is not None and scales.size:
        scales = [float(s) for s in scales]
    else:
        sizes = view.const(n.inputs[3]) if len(n.inputs) > 3 and n.inputs[3] else None
        if sizes is None or in_shape is None or any(d is None for d in in_shape[1:]):
            raise UnsupportedNodeError(n, "needs constant scales (or sizes with a static input shape)", target)
        scales = [1.0] + [s / d for s, d in zip(list(sizes)[1:], in_shape[1:])]
    if len(scales) < 3 or scales[0] != 1 or scales[1] != 1:
        raise UnsupportedNodeError(n, f"scales {scales} must keep the batch and channel axes", target)
    if any(s != int(s) or s < 1 for s in scales[2:]):
        raise UnsupportedNodeError(n, f"scales {scales} must be whole numbers >= 1", target)
    return [int(s) for s in scales[2:]]
