"""Pooling: max/average pooling (with the pads PyTorch cannot express), global pooling, reductions."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError
from .generator import TARGET, _check_auto_pad, op, torch_pads, tup


@op("MaxPool", "AveragePool", attrs=("kernel_shape", "strides", "pads", "dilations", "ceil_mode",
                                     "count_include_pad", "storage_order", "auto_pad"))
def pool(g, n):
    if len(n.outputs) > 1 and n.outputs[1]:
        raise UnsupportedNodeError(n, "the Indices output is not supported", TARGET)
    if n.attr("storage_order", 0):
        raise UnsupportedNodeError(n, "storage_order=1 is not supported", TARGET)
    ks = list(n.attr("kernel_shape"))
    nd = len(ks)
    strides = list(n.attr("strides", [1] * nd))
    dil = list(n.attr("dilations", [1] * nd))
    ceil = bool(n.attr("ceil_mode", 0))
    begins, ends = _check_auto_pad(n, nd)
    is_max = n.op_type == "MaxPool"
    if not is_max and any(d != 1 for d in dil):
        raise UnsupportedNodeError(n, "dilated average pooling is not supported by torch", TARGET)
    x = g.x(n.inputs[0], n)
    eff = [(k - 1) * d + 1 for k, d in zip(ks, dil)]
    symmetric = begins == ends and all(p <= e // 2 for p, e in zip(begins, eff))
    cls = f"nn.{'Max' if is_max else 'Avg'}Pool{nd}d"
    args = [f"kernel_size={tup(ks)}", f"stride={tup(strides)}"]
    padding = begins if symmetric else [0] * nd
    if any(padding):
        args.append(f"padding={tup(padding)}")
    if is_max and any(d != 1 for d in dil):
        args.append(f"dilation={tup(dil)}")
    if ceil:
        args.append("ceil_mode=True")
    include = bool(n.attr("count_include_pad", 0))
    if not is_max and not include and (any(padding) or ceil):
        args.append("count_include_pad=False")
    if symmetric:
        m = g.module(n, f"{cls}({', '.join(args)})")
        g.assign(n, n.outputs[0], f"{m}({x})")
        return
    tp = tup(torch_pads(begins, ends))
    crop = _ceil_crop(g, n, ks, strides, dil, begins, ends) if ceil else ""
    if is_max:
        pad = g.module(n, f"nn.ConstantPad{nd}d({tp}, float('-inf'))", suffix="pad")
        m = g.module(n, f"{cls}({', '.join(args)})")
        g.assign(n, n.outputs[0], f"{m}({pad}({x})){crop}")
    elif include:
        pad = g.module(n, f"nn.ZeroPad{nd}d({tp})", suffix="pad")
        m = g.module(n, f"{cls}({', '.join(args)})")
        g.assign(n, n.outputs[0], f"{m}({pad}({x})){crop}")
    else:  # padding excluded from the average: divide the padded sum by the padded count of real elements
        pad = g.module(n, f"nn.ZeroPad{nd}d({tp})", suffix="pad")
        m = g.module(n, f"{cls}({', '.join(args)})")
        ones = f"torch.ones_like({x}[:1, :1])"
        g.assign(n, n.outputs[0], f"{m}({pad}({x})){crop} / {m}({pad}({ones})){crop}")


def _ceil_crop(g, n, ks, strides, dil, begins, ends):
    """ceil_mode after explicit padding: onnxruntime drops windows that start in the end padding, torch
    (which sees the padding as input) keeps them; returns the slice that removes them ('' if none)."""
    shape = g.view.shape(n.inputs[0])
    spatial = shape[2:] if shape is not None else [None] * len(ks)
    idx, needed = [":", ":"], False
    for size, k, s, d, b, e in zip(spatial, ks, strides, dil, begins, ends):
        if size is None:
            raise UnsupportedNodeError(n, "ceil_mode with asymmetric or large pads needs a static input size", TARGET)
        eff = (k - 1) * d + 1
        out = -(-(size + b + e - eff) // s) + 1
        want = out - 1 if (out - 1) * s >= size + b else out
        got = out - 1 if (out - 1) * s >= size + b + e else out
        idx.append(f":{want}" if want != got else ":")
        needed |= want != got
    return f"[{', '.join(idx)}]" if needed else ""


@op("GlobalAveragePool", "GlobalMaxPool")
def global_pool(g, n):
    nd = g.view.rank(n.inputs[0], n) - 2
    x = g.x(n.inputs[0], n)
    kind = "Avg" if n.op_type == "GlobalAveragePool" else "Max"
    if 1 <= nd <= 3:
        m = g.module(n, f"nn.Adaptive{kind}Pool{nd}d(1)")
        g.assign(n, n.outputs[0], f"{m}({x})")
    else:
        dims = tup(range(2, nd + 2))
        fn = "torch.mean" if kind == "Avg" else "torch.amax"
        g.assign(n, n.outputs[0], f"{fn}({x}, dim={dims}, keepdim=True)")


_REDUCE = {"ReduceSum": "torch.sum", "ReduceMean": "torch.mean", "ReduceMax": "torch.amax",
           "ReduceMin": "torch.amin", "ReduceProd": "torch.prod", "ReduceLogSumExp": "torch.logsumexp"}
_NORMS = {"ReduceL1": "torch.linalg.vector_norm({x}, 1, ", "ReduceL2": "torch.linalg.vector_norm({x}, 2, ",
          "ReduceSumSquare": "torch.sum({x} * {x}, "}


@op(*_REDUCE, *_NORMS, attrs=("axes", "keepdims", "noop_with_empty_axes"))
def reduce(g, n):
    axes = n.attr("axes")
    if len(n.inputs) > 1 and n.inputs[1]:
        axes = g.const(n.inputs[1])
        if axes is None:
            raise UnsupportedNodeError(n, "the axes input must be a constant", TARGET)
        axes = [int(a) for a in axes.reshape(-1)]
    x = g.x(n.inputs[0], n)
    keep = bool(n.attr("keepdims", 1))
    if not axes:
        if n.attr("noop_with_empty_axes", 0):
            if n.op_type in _NORMS or n.op_type == "ReduceLogSumExp":
                raise UnsupportedNodeError(n, "noop_with_empty_axes=1 without axes is not supported", TARGET)
            g.alias(n.outputs[0], x)
            return
        axes = list(range(g.view.rank(n.inputs[0], n)))
    if n.op_type == "ReduceProd" and len(axes) != 1:
        raise UnsupportedNodeError(n, "ReduceProd over several axes is not supported", TARGET)
    dims = str(axes[0]) if n.op_type == "ReduceProd" else tup(axes)
    if n.op_type in _NORMS:
        g.assign(n, n.outputs[0], _NORMS[n.op_type].format(x=x) + f"dim={dims}, keepdim={keep})")
        return
    g.assign(n, n.outputs[0], f"{_REDUCE[n.op_type]}({x}, dim={dims}, keepdim={keep})")


@op("ArgMax", "ArgMin", attrs=("axis", "keepdims", "select_last_index"))
def arg_extreme(g, n):
    """The index (int64) of the first extreme along ``axis``, or of the last with select_last_index=1."""
    x = g.x(n.inputs[0], n)
    axis, keep = int(n.attr("axis", 0)), bool(n.attr("keepdims", 1))
    fn = "torch.argmax" if n.op_type == "ArgMax" else "torch.argmin"
    if n.attr("select_last_index", 0):
        expr = f"{x}.shape[{axis}] - 1 - {fn}(torch.flip({x}, ({axis},)), dim={axis}, keepdim={keep})"
    else:
        expr = f"{fn}({x}, dim={axis}, keepdim={keep})"
    g.assign(n, n.outputs[0], expr)


@op("CumSum", attrs=("exclusive", "reverse"))
def cumsum(g, n):
    """The running sum along a constant ``axis`` (from the end with ``reverse``; each element left out of
    its own sum with ``exclusive``: the sum of the ones before it, 0 first)."""
    axis = g.const(n.inputs[1])
    if axis is None:
        raise UnsupportedNodeError(n, "the axis must be a constant", TARGET)
    axis = int(axis.reshape(()))
    x = g.x(n.inputs[0], n)
    reverse, exclusive = bool(n.attr("reverse", 0)), bool(n.attr("exclusive", 0))
    if reverse:
        x = f"torch.flip({x}, ({axis},))"
    if exclusive:  # [0, x0, x1, ...] without the last element: the same sums, one place later
        x = (f"torch.cat([torch.zeros_like({x}.narrow({axis}, 0, 1)), {x}.narrow({axis}, 0, {x}.shape[{axis}] - 1)], "
             f"dim={axis})")
    expr = f"torch.cumsum({x}, dim={axis}, dtype={g.x(n.inputs[0], n)}.dtype)"  # integers stay of their type
    g.assign(n, n.outputs[0], f"torch.flip({expr}, ({axis},))" if reverse else expr)
