"""Shape ops: flatten/reshape/transpose/slice/concat/pad/upsampling...; ``Shape`` -> ``Gather`` -> ``Concat``
values that only describe shapes are tracked, not built."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError, float_literal
from .builder import TARGET, _crop1d, _static, _zero_pad, onnx_op, op
from .indexing import embedding


@op("Flatten", attrs=("axis",))
def flatten(b, n):
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if axis != 1:
        raise UnsupportedNodeError(n, f"Flatten axis={axis} is not supported (only 1)", TARGET)
    name = n.inputs[0]
    L = b.keras.layers
    users = b.view.consumers.get(n.outputs[0], [])
    dense_only = users and not b.view.is_output(n.outputs[0]) and all(
        u.op_type in ("Gemm", "MatMul") and u.inputs[0] == n.outputs[0] and b.const(u.inputs[1]) is not None
        for u in users)
    shape = b.view.shape(name)
    if b.layout_of(name) == "cl" and dense_only and shape is not None and all(d is not None for d in shape[1:]):
        onnx_shape = shape[1:]
        perm = np.arange(int(np.prod(onnx_shape))).reshape(onnx_shape)
        perm = np.transpose(perm, tuple(range(1, rank - 1)) + (0,)).reshape(-1)
        t = b.layer(n, L.Flatten(name=b.lname(n, "flatten")), b.get(name, n))
        b.put(n.outputs[0], t, "cf", perm=None if np.array_equal(perm, np.arange(perm.size)) else perm)
        return
    t = b.layer(n, L.Flatten(name=b.lname(n, "flatten")), b.get(name, n, "cf"))
    b.put(n.outputs[0], t, "cf")


def _target_shape(b, n, out):
    s = b.view.shape(out)
    if s is None or sum(d is None for d in s[1:]) > 1:
        raise UnsupportedNodeError(n, f"needs an output shape known up to one axis (got {s})", TARGET)
    return tuple(-1 if d is None else int(d) for d in s[1:])


@op("Reshape", attrs=("allowzero",))
def reshape(b, n):
    target = _target_shape(b, n, n.outputs[0])
    in_shape = b.view.shape(n.inputs[0])
    out_shape = b.view.shape(n.outputs[0])
    if in_shape is None or out_shape is None or (in_shape[0] != out_shape[0] or in_shape[0] is None) and \
            not _keeps_batch(b, n):
        raise UnsupportedNodeError(n, "a Reshape that changes the batch axis is not supported", TARGET)
    t = b.layer(n, b.keras.layers.Reshape(target, name=b.lname(n, "reshape")), b.get(n.inputs[0], n, "cf"))
    b.put(n.outputs[0], t, "cf")


def _keeps_batch(b, n):
    c = b.const(n.inputs[1])
    if c is not None:
        return int(c.reshape(-1)[0]) == 0
    return n.inputs[1] in b.shape_only  # built from Shape(x)[0]: tf2onnx's flatten


@op("Transpose", attrs=("perm",))
def transpose(b, n):
    rank = b.rank(n.inputs[0], n)
    perm = list(n.attr("perm") or reversed(range(rank)))
    if perm[0] != 0:
        raise UnsupportedNodeError(n, f"a Transpose that moves the batch axis ({perm}) is not supported", TARGET)
    layout = b.layout_of(n.inputs[0])
    x = b.get(n.inputs[0], n)
    held = list(range(rank)) if layout == "cf" else [0] + list(range(2, rank)) + [1]  # onnx axis of held axis
    inv = np.argsort(held)
    total = [int(inv[p]) for p in perm]  # held axis for each output (ONNX-order) axis
    if total == list(range(rank)):
        b.put(n.outputs[0], x, "cf")
        return
    cl = [0] + list(range(2, rank)) + [1]
    if rank >= 3 and [total[a] for a in cl] == list(range(rank)):
        b.put(n.outputs[0], x, "cl")
        return
    t = b.layer(n, b.keras.layers.Permute(tuple(total[1:]), name=b.lname(n, "permute")), x)
    b.put(n.outputs[0], t, "cf")


def _producer(view, value):
    return next((m for m in view.nodes if value in m.outputs), None)


def _is_scaled_shape(b, value, x, scale):
    """True when ``value`` is ``Shape(x) * scale`` (the exporter's Upscale target for unknown sizes)."""
    mul = _producer(b.view, value)
    if mul is None or mul.op_type != "Mul" or len(mul.inputs) != 2:
        return False
    for s, c in (mul.inputs, mul.inputs[::-1]):
        shp, const = _producer(b.view, s), b.const(c)
        if shp is not None and shp.op_type == "Shape" and shp.inputs[0] == x and shp.attr("start", 0) == 0 \
                and shp.attr("end") is None and const is not None and [int(v) for v in const.reshape(-1)] == scale:
            return True
    return False


def _upsample_pattern(b, n):
    """Unsqueeze(3, 5, ...) -> Expand(1, 1, 1, f1, 1, f2, ...) -> Reshape: nearest upsampling by (f1, f2, ...);
    Unsqueeze(3, 5, ...) -> Pad(zeros after each unit axis, f - 1) -> Reshape: Lasagne's 'dilate' upscale.
    Returns ``(kind, factors, middle node, reshape node)`` or None.  The reshape target must be the
    input's size times the factors: static sizes that say so, or ``Shape(x) * (1, 1, f1, ...)``."""
    rank = b.view.rank(n.inputs[0])
    axes = b.const(n.inputs[1]) if len(n.inputs) > 1 else None
    if n.op_type != "Unsqueeze" or rank is None or axes is None or rank < 3:
        return None
    nd = rank - 2
    if sorted(int(a) for a in axes.reshape(-1)) != [3 + 2 * i for i in range(nd)]:
        return None
    users = b.view.consumers.get(n.outputs[0], [])
    if len(users) != 1 or users[0].op_type not in ("Expand", "Pad") or b.view.is_output(n.outputs[0]):
        return None
    mid = users[0]
    users2 = b.view.consumers.get(mid.outputs[0], [])
    if len(users2) != 1 or users2[0].op_type != "Reshape" or b.view.is_output(mid.outputs[0]):
        return None
    if mid.op_type == "Expand":
        kind, target = "repeat", b.const(mid.inputs[1])
        if target is None:
            return None
        target = [int(t) for t in target.reshape(-1)]
        if len(target) != 2 + 2 * nd or target[:2] != [1, 1] or any(target[2 + 2 * i] != 1 for i in range(nd)):
            return None
        factors = [target[3 + 2 * i] for i in range(nd)]
    else:
        kind, pads = "dilate", b.const(mid.inputs[1])
        value = b.const(mid.inputs[2]) if len(mid.inputs) > 2 and mid.inputs[2] else None
        if pads is None or mid.attr("mode", "constant") != "constant" or (len(mid.inputs) > 3 and mid.inputs[3]) \
                or (len(mid.inputs) > 2 and mid.inputs[2] and (value is None or value.size != 1 or value.item() != 0)):
            return None
        pads = [int(p) for p in pads.reshape(-1)]
        r6 = 2 + 2 * nd
        begins, ends = pads[:r6], pads[r6:]
        if len(ends) != r6 or any(begins) or any(ends[a] for a in range(r6) if a < 3 or a % 2 == 0):
            return None
        factors = [ends[3 + 2 * i] + 1 for i in range(nd)]
    rs = users2[0]
    in_shape, out_shape = b.view.shape(n.inputs[0]), b.view.shape(rs.outputs[0])
    if in_shape is None or out_shape is None or len(out_shape) != rank or out_shape[1] != in_shape[1]:
        return None
    static = all(i is not None and o is not None and o == i * f
                 for i, o, f in zip(in_shape[2:], out_shape[2:], factors))
    if not static and not _is_scaled_shape(b, rs.inputs[1], n.inputs[0], [1, 1] + factors):
        return None
    return kind, factors, mid, rs


@op("Expand")
def expand(b, n):
    """Broadcasting to a constant shape that keeps the batch axis (a nearest-neighbour upscale's Expand is
    taken with its Unsqueeze, above)."""
    shape = b.const(n.inputs[1])
    rank = b.rank(n.inputs[0], n)
    if shape is None:
        raise UnsupportedNodeError(n, "the target shape must be a constant", TARGET)
    shape = [int(d) for d in shape.reshape(-1)]
    if len(shape) > rank or (len(shape) == rank and shape[0] != 1):
        raise UnsupportedNodeError(n, f"Expand to {shape} changes the batch axis", TARGET)
    onnx_op(b, n, inputs=n.inputs[:1], params={"shape": shape}, elementwise=False)


@op("Tile")
def tile(b, n):
    repeats = b.const(n.inputs[1])
    if repeats is None:
        raise UnsupportedNodeError(n, "the repeats must be a constant", TARGET)
    repeats = [int(r) for r in repeats.reshape(-1)]
    if repeats[0] != 1:
        raise UnsupportedNodeError(n, "tiling the batch axis is not supported", TARGET)
    onnx_op(b, n, inputs=n.inputs[:1], params={"repeats": repeats}, elementwise=False)


@op("Squeeze", "Unsqueeze", attrs=("axes",))
def squeeze(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    pattern = _upsample_pattern(b, n)
    if pattern is not None and pattern[0] == "dilate":
        from ..keras_layers import Dilate

        _, factors, mid, rs = pattern
        b.skip.update({mid.index, rs.index})
        layout = b.layout_of(n.inputs[0])
        y = b.layer(n, Dilate(factors, b.fmt(layout), name=b.lname(n, "dilate")), b.get(n.inputs[0], n))
        b.put(rs.outputs[0], y, layout)
        return
    if pattern is not None:
        _, factors, ex, rs = pattern
        b.skip.update({ex.index, rs.index})
        L, nd = b.keras.layers, len(factors)
        layout = "cl" if nd == 1 else b.pref  # UpSampling1D only knows (N, steps, C)
        x = b.get(n.inputs[0], n, layout)
        if nd == 1:
            y = b.layer(n, L.UpSampling1D(factors[0], name=b.lname(n, "upsampling")), x)
        elif nd == 2:
            y = b.layer(n, L.UpSampling2D(tuple(factors), data_format=b.fmt(layout), interpolation="nearest",
                                          name=b.lname(n, "upsampling")), x)
        else:
            y = b.layer(n, L.UpSampling3D(tuple(factors), data_format=b.fmt(layout), name=b.lname(n, "upsampling")), x)
        b.put(rs.outputs[0], y, layout)
        return
    target = _target_shape(b, n, n.outputs[0])
    axes = b.const(n.inputs[1]) if len(n.inputs) > 1 else np.array(n.attr("axes") or [])
    if axes is None or 0 in [a % (b.rank(n.outputs[0] if n.op_type == "Unsqueeze" else n.inputs[0], n))
                             for a in axes.reshape(-1).tolist()]:
        raise UnsupportedNodeError(n, "squeezing/unsqueezing the batch axis is not supported", TARGET)
    t = b.layer(n, b.keras.layers.Reshape(target, name=b.lname(n, n.op_type.lower())), b.get(n.inputs[0], n, "cf"))
    b.put(n.outputs[0], t, "cf")


@op("Concat", attrs=("axis",))
def concat(b, n):
    if any(i in b.shape_only or b.const(i) is not None for i in n.inputs):
        if all(i in b.shape_only or b.const(i) is not None for i in n.inputs):
            b.shape_only.add(n.outputs[0])
            return
        raise UnsupportedNodeError(n, "concatenating constants is not supported", TARGET)
    rank = b.rank(n.inputs[0], n)
    layout = b.layout_of(n.inputs[0])
    xs = [b.get(i, n, layout) for i in n.inputs]
    layer = b.keras.layers.Concatenate(axis=b.axis(n.attr("axis"), rank, layout), name=b.lname(n, "concat"))
    b.put(n.outputs[0], b.layer(n, layer, *xs), layout)


@op("Shape", attrs=("start", "end"))
def shape_(b, n):
    b.shape_only.add(n.outputs[0])


@op("Gather", attrs=("axis",))
def gather(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    idx = b.const(n.inputs[1])
    if idx is None and b.const(n.inputs[0]) is not None:
        return embedding(b, n)
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if idx is None or axis == 0:
        raise UnsupportedNodeError(n, "only Gather of one constant index on a non-batch axis (or of several "
                                      "indices) is supported", TARGET)
    from ..keras_layers import SliceAxis

    shape = b.view.shape(n.inputs[0])
    if (idx < 0).any():
        if shape is None or shape[axis] is None:
            raise UnsupportedNodeError(n, "a negative index needs a static size", TARGET)
        idx = np.where(idx < 0, idx + shape[axis], idx)
    if idx.ndim != 1 or idx.size != 1:  # any other indices: keras.ops.take, in ONNX order
        onnx_op(b, n, inputs=n.inputs[:1], params={"indices": idx.tolist(), "axis": axis}, elementwise=False)
        return
    i = int(idx[0])
    layout = b.layout_of(n.inputs[0])
    layer = SliceAxis(b.axis(axis, rank, layout), i, i + 1, name=b.lname(n, "gather"))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n)), layout)


@op("Cast", attrs=("to", "saturate", "round_mode"))
def cast(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    from onnx import helper

    if n.attr("saturate", 1) != 1 or n.attr("round_mode", "up") != "up":
        raise UnsupportedNodeError(n, "saturate / round_mode (float8 casts) are not supported", TARGET)
    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(n.attr("to")))
    if dtype.kind not in "biuf":
        raise UnsupportedNodeError(n, f"casting to {dtype} is not supported", TARGET)
    onnx_op(b, n, params={"dtype": dtype.name})


@op("Slice", attrs=("starts", "ends", "axes"))
def slice_(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    vals = []
    for i, attr in ((1, "starts"), (2, "ends"), (3, "axes"), (4, None)):
        if len(n.inputs) > i and n.inputs[i]:
            c = b.const(n.inputs[i])
            if c is None:
                raise UnsupportedNodeError(n, f"input {i} must be a constant", TARGET)
            vals.append([int(v) for v in c.reshape(-1)])
        else:
            vals.append(list(n.attr(attr)) if attr and n.attr(attr) is not None else None)
    starts, ends, axes, steps = vals
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    shape = _static(b.view, n.inputs[0], n)
    rank = len(shape)
    if any(st != 1 for st in steps):
        from ..keras_layers import SliceAxis

        layout = b.layout_of(n.inputs[0])
        y = b.get(n.inputs[0], n)
        for k, (a, s, e, st) in enumerate(zip(axes, starts, ends, steps)):
            a = a + rank if a < 0 else a
            if a == 0:
                raise UnsupportedNodeError(n, "slicing the batch axis is not supported", TARGET)
            big = 2 ** 62
            r = range(*slice(s if abs(s) < big else None, e if abs(e) < big else None, st).indices(shape[a]))
            layer = SliceAxis(b.axis(a, rank, layout), r.start, r.stop, r.step, name=b.lname(n, f"slice{k}"))
            y = b.layer(n, layer, y)
        b.put(n.outputs[0], y, layout)
        return
    crops = {}
    for a, s, e in zip(axes, starts, ends):
        a = a + rank if a < 0 else a
        if a == 0:
            raise UnsupportedNodeError(n, "slicing the batch axis is not supported", TARGET)
        d = shape[a]
        s = max(0, min(d, s + d if s < 0 else s))
        e = max(s, min(d, e + d if e < 0 else e))
        crops[a] = (s, d - e)
    if 1 in crops or rank < 3 or rank > 5:
        from ..keras_layers import SliceAxis

        layout = b.layout_of(n.inputs[0])
        y = b.get(n.inputs[0], n)
        for k, (a, (s, tail)) in enumerate(sorted(crops.items())):
            layer = SliceAxis(b.axis(a, rank, layout), s, shape[a] - tail, name=b.lname(n, f"slice{k}"))
            y = b.layer(n, layer, y)
        b.put(n.outputs[0], y, layout)
        return
    nd = rank - 2
    crop = tuple(crops.get(a, (0, 0)) for a in range(2, rank))
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    L = b.keras.layers
    if nd == 1:
        y = _crop1d(b, n, x, layout, crop[0])
    elif nd in (2, 3):
        y = b.layer(n, getattr(L, f"Cropping{nd}D")(crop, data_format=b.fmt(layout), name=b.lname(n, "crop")), x)
    else:
        raise UnsupportedNodeError(n, f"slicing a rank-{rank} tensor is not supported", TARGET)
    b.put(n.outputs[0], y, layout)


@op("Identity")
def identity(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    v = b.vals.get(n.inputs[0])
    if v is None:
        b.get(n.inputs[0], n)
    b.vals[n.outputs[0]] = v


@op("Dropout", attrs=("seed",))
def dropout(b, n):
    if (len(n.inputs) > 2 and n.inputs[2]) or (len(n.outputs) > 1 and n.outputs[1]):
        raise UnsupportedNodeError(n, "Dropout training_mode / mask are not supported", TARGET)
    identity(b, n)


@op("Pad", attrs=("mode",))
def pad(b, n):
    mode = n.attr("mode", "constant")
    pads = b.const(n.inputs[1])
    if pads is None or (len(n.inputs) > 3 and n.inputs[3]):
        raise UnsupportedNodeError(n, "pads must be a constant (and axes absent)", TARGET)
    value = 0.0
    if len(n.inputs) > 2 and n.inputs[2]:
        v = b.const(n.inputs[2])
        if v is None:
            raise UnsupportedNodeError(n, "constant_value must be a constant", TARGET)
        value = float_literal(v.reshape(()).item())
    rank = b.rank(n.inputs[0], n)
    begins, ends = [int(p) for p in pads[:rank]], [int(p) for p in pads[rank:]]
    if begins[0] or ends[0] or min(begins + ends) < 0:
        raise UnsupportedNodeError(n, "padding the batch axis or negative pads are not supported", TARGET)
    if mode not in ("constant", "reflect", "edge"):
        raise UnsupportedNodeError(n, f"mode={mode!r} is not supported", TARGET)
    layout = b.pref if rank >= 3 else "cf"
    x = b.get(n.inputs[0], n, layout)
    if mode == "constant" and value == 0.0 and not begins[1] and not ends[1] and 3 <= rank <= 5:
        b.put(n.outputs[0], _zero_pad(b, n, x, layout, begins[2:], ends[2:], suffix="zeropad"), layout)
        return
    from ..keras_layers import Pad

    held = list(zip(begins, ends))[1:]
    if layout == "cl" and rank >= 3:
        held = held[1:] + held[:1]
    b.put(n.outputs[0], b.layer(n, Pad(held, mode, value, name=b.lname(n)), x), layout)


@op("Resize", attrs=("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                     "exclude_outside", "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy"))
def resize(b, n):
    from ..to_torch.shapes import resize_factors

    factors = resize_factors(b.view, n, TARGET)
    nd = len(factors)
    layout = "cl" if nd == 1 else b.pref
    x = b.get(n.inputs[0], n, layout)
    L = b.keras.layers
    if nd == 1:
        y = b.layer(n, L.UpSampling1D(factors[0], name=b.lname(n)), x)
    elif nd == 2:
        y = b.layer(n, L.UpSampling2D(tuple(factors), data_format=b.fmt(layout), interpolation="nearest",
                                      name=b.lname(n)), x)
    else:
        y = b.layer(n, L.UpSampling3D(tuple(factors), data_format=b.fmt(layout), name=b.lname(n)), x)
    b.put(n.outputs[0], y, layout)
