"""Pooling: max/average pooling (``PaddedPooling`` for pads Keras cannot express), global pooling, reductions."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError
from .builder import TARGET, _auto_pad, _zero_pad, batch_axis_refused, onnx_op, op


def _onnx_out(size, k, s, pb, pe, ceil):
    """onnxruntime's pooled length; in ceil mode a window that would start in the end padding is dropped."""
    span = size + pb + pe - k
    out = (-(-span // s) if ceil else span // s) + 1
    if ceil and (out - 1) * s >= size + pb:
        out -= 1
    return out


def _same_matches(sizes, ks, strides, begins, ends, ceil, symmetric):
    """True when Keras padding='same' windows are ONNX's (same starts, same count).

    Keras' 'same' excludes the padding from averages only where it pads both sides equally: the torch
    backend replicates the edge values into an uneven padding (harmless for max, wrong for averages),
    so ``symmetric`` (averages) also requires an even total padding.
    """
    for size, k, s, pb, pe in zip(sizes, ks, strides, begins, ends):
        if size is None:
            return False
        same_out = -(-size // s)
        total = max((same_out - 1) * s + k - size, 0)
        if symmetric and total % 2:
            return False
        if _onnx_out(size, k, s, pb, pe, ceil) != same_out or pb != total // 2:
            return False
    return True


@op("MaxPool", "AveragePool", attrs=("kernel_shape", "strides", "pads", "dilations", "ceil_mode",
                                     "count_include_pad", "storage_order", "auto_pad"))
def pool(b, n):
    if (len(n.outputs) > 1 and n.outputs[1]) or n.attr("storage_order", 0):
        raise UnsupportedNodeError(n, "the Indices output / storage_order are not supported", TARGET)
    ks = list(n.attr("kernel_shape"))
    nd = len(ks)
    strides = list(n.attr("strides", [1] * nd))
    if any(d != 1 for d in n.attr("dilations", [1] * nd)):
        raise UnsupportedNodeError(n, "dilated pooling has no Keras layer", TARGET)
    begins, ends = _auto_pad(n, nd)
    ceil = bool(n.attr("ceil_mode", 0))
    is_max = n.op_type == "MaxPool"
    include = bool(n.attr("count_include_pad", 0)) and not is_max and (any(begins) or any(ends))
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    shape = b.view.shape(n.inputs[0])
    sizes = shape[2:] if shape is not None else [None] * nd
    kind = "Max" if is_max else "Average"
    cls = getattr(b.keras.layers, f"{kind}Pooling{nd}D")
    padding = "valid"
    if any(begins) or any(ends) or ceil:
        if not include and _same_matches(sizes, ks, strides, begins, ends, ceil, symmetric=not is_max):
            padding = "same"
        elif include and not ceil:  # the zero pads count in the average: pad, then 'valid'
            x = _zero_pad(b, n, x, layout, begins, ends)
        else:
            if any(sz is None for sz in sizes):
                raise UnsupportedNodeError(n, f"{n.op_type} with pads {list(begins) + list(ends)}, ceil_mode="
                                              f"{int(ceil)} needs a static input size for Keras", TARGET)
            from ..keras_layers import PaddedPooling

            # windows that run past the end padding (ceil mode) are clipped, like the padding in
            # averages with count_include_pad=0: pool over an explicit pad that is -inf (max) or divided out
            # (the end pad is sized so that 'valid' pooling yields exactly onnxruntime's windows)
            outs = [_onnx_out(*a, ceil) for a in zip(sizes, ks, strides, begins, ends)]
            reach = [max(0, (o - 1) * s + k - size - pb)
                     for o, size, k, s, pb in zip(outs, sizes, ks, strides, begins)]
            pads = list(zip(begins, reach))
            if include:  # count_include_pad=1: the pads are zeros that count, the ceil overhang is not
                x = _zero_pad(b, n, x, layout, begins, [min(pe, r) for pe, r in zip(ends, reach)])
                pads = [(0, max(0, r - pe)) for r, pe in zip(reach, ends)]
            layer = PaddedPooling("max" if is_max else "average", ks, strides, pads, b.fmt(layout),
                                  name=b.lname(n))
            b.put(n.outputs[0], b.layer(n, layer, x), layout)
            return
    layer = cls(pool_size=tuple(ks), strides=tuple(strides), padding=padding, data_format=b.fmt(layout),
                name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, x), layout)


@op("GlobalAveragePool", "GlobalMaxPool")
def global_pool(b, n):
    nd = b.rank(n.inputs[0], n) - 2
    layout = b.pref
    kind = "Average" if n.op_type == "GlobalAveragePool" else "Max"
    layer = getattr(b.keras.layers, f"Global{kind}Pooling{nd}D")(data_format=b.fmt(layout), keepdims=True,
                                                                 name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n, layout)), layout)


@op("ReduceSum", "ReduceMin", "ReduceMax", "ReduceMean", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
    "ReduceLogSumExp", attrs=("axes", "keepdims", "noop_with_empty_axes"))
def reduce(b, n):
    """Over all spatial axes: global pooling layers where one exists; otherwise the keras.ops reduction."""
    axes = n.attr("axes")
    if len(n.inputs) > 1 and n.inputs[1]:
        a = b.const(n.inputs[1])
        if a is None:
            raise UnsupportedNodeError(n, "the axes input must be a constant", TARGET)
        axes = [int(v) for v in a.reshape(-1)]
    rank = b.rank(n.inputs[0], n)
    if not axes and n.attr("noop_with_empty_axes", 0):
        b.get(n.inputs[0], n)
        b.vals[n.outputs[0]] = b.vals[n.inputs[0]]
        return
    axes = sorted(a + rank if a < 0 else a for a in (axes or range(rank)))
    keep = bool(n.attr("keepdims", 1))
    global_op = n.op_type in ("ReduceSum", "ReduceMin", "ReduceMax", "ReduceMean")
    if not global_op or axes != list(range(2, rank)) or not 3 <= rank <= 5:
        batch_axis_refused(n, axes, rank, "a reduction")
        onnx_op(b, n, inputs=n.inputs[:1], params={"axes": axes, "keepdims": keep}, elementwise=False)
        return
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    nd, L = rank - 2, b.keras.layers
    kw = dict(data_format=b.fmt(layout), keepdims=keep)
    shape = b.view.shape(n.inputs[0])
    if n.op_type == "ReduceSum" and (shape is None or any(d is None for d in shape[2:])):
        from ..keras_layers import GlobalSumPooling  # the element count is unknown until run time

        y = b.layer(n, GlobalSumPooling(name=b.lname(n), **kw), x)
    elif n.op_type in ("ReduceMean", "ReduceSum"):
        y = b.layer(n, getattr(L, f"GlobalAveragePooling{nd}D")(name=b.lname(n), **kw), x)
        if n.op_type == "ReduceSum":
            y = b.layer(n, L.Rescaling(float(np.prod(shape[2:])), name=b.lname(n, "count")), y)
    elif n.op_type == "ReduceMax":
        y = b.layer(n, getattr(L, f"GlobalMaxPooling{nd}D")(name=b.lname(n), **kw), x)
    else:  # min = -max(-x), exact
        y = b.layer(n, L.Rescaling(-1.0, name=b.lname(n, "neg")), x)
        y = b.layer(n, getattr(L, f"GlobalMaxPooling{nd}D")(name=b.lname(n), **kw), y)
        y = b.layer(n, L.Rescaling(-1.0, name=b.lname(n, "neg_back")), y)
    b.put(n.outputs[0], y, layout if keep else "cf")


@op("ArgMax", "ArgMin", attrs=("axis", "keepdims", "select_last_index"))
def arg_extreme(b, n):
    """The index (int64) of the first extreme along ``axis`` (the last with select_last_index=1)."""
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", 0) % rank
    batch_axis_refused(n, [axis], rank, f"{n.op_type}")
    onnx_op(b, n, params={"axis": axis, "keepdims": bool(n.attr("keepdims", 1)),
                          "last": bool(n.attr("select_last_index", 0))}, elementwise=False)
