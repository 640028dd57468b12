"""Convolutions: ``Conv`` -> ``nn.Conv1d/2d/3d``, ``ConvTranspose`` -> ``nn.ConvTranspose1d/2d/3d``."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError
from .generator import TARGET, _check_auto_pad, op, torch_pads, tup


@op("Conv", attrs=("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"))
def conv(g, n):
    w = g.weight(n, 1)
    b = g.weight(n, 2, "bias")
    nd = w.ndim - 2
    if not 1 <= nd <= 3:
        raise UnsupportedNodeError(n, f"{nd}-D convolution is not supported", TARGET)
    ks = list(n.attr("kernel_shape", w.shape[2:]))
    if ks != list(w.shape[2:]):
        raise UnsupportedNodeError(n, f"kernel_shape {ks} does not match the weight shape {w.shape}", TARGET)
    strides, dil = n.attr("strides", [1] * nd), n.attr("dilations", [1] * nd)
    group = n.attr("group", 1)
    begins, ends = _check_auto_pad(n, nd)
    x = g.x(n.inputs[0], n)
    padding = begins
    if begins != ends:
        pad = g.module(n, f"nn.ZeroPad{nd}d({tup(torch_pads(begins, ends))})", suffix="pad")
        x = g.assign(n, n.outputs[0] + "_padded", f"{pad}({x})")
        padding = [0] * nd
    args = [str(w.shape[1] * group), str(w.shape[0]), f"kernel_size={tup(ks)}"]
    if any(s != 1 for s in strides):
        args.append(f"stride={tup(strides)}")
    if any(padding):
        args.append(f"padding={tup(padding)}")
    if any(d != 1 for d in dil):
        args.append(f"dilation={tup(dil)}")
    if group != 1:
        args.append(f"groups={group}")
    if b is None:
        args.append("bias=False")
    state = {"weight": w} if b is None else {"weight": w, "bias": b}
    m = g.module(n, f"nn.Conv{nd}d({', '.join(args)})", state)
    g.assign(n, n.outputs[0], f"{m}({x})")


@op("ConvTranspose", attrs=("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
                            "output_padding", "output_shape"))
def conv_transpose(g, n):
    w = g.weight(n, 1)
    b = g.weight(n, 2, "bias")
    nd = w.ndim - 2
    if not 1 <= nd <= 3:
        raise UnsupportedNodeError(n, f"{nd}-D transposed convolution is not supported", TARGET)
    if n.attr("output_shape") is not None:
        raise UnsupportedNodeError(n, "output_shape is not supported (export explicit pads/output_padding)", TARGET)
    ks = list(n.attr("kernel_shape", w.shape[2:]))
    if ks != list(w.shape[2:]):
        raise UnsupportedNodeError(n, f"kernel_shape {ks} does not match the weight shape {w.shape}", TARGET)
    strides, dil = n.attr("strides", [1] * nd), n.attr("dilations", [1] * nd)
    group = n.attr("group", 1)
    out_pad = n.attr("output_padding", [0] * nd)
    begins, ends = _check_auto_pad(n, nd)
    padding = [min(b_, e_) for b_, e_ in zip(begins, ends)]
    args = [str(w.shape[0]), str(w.shape[1] * group), f"kernel_size={tup(ks)}"]
    if any(s != 1 for s in strides):
        args.append(f"stride={tup(strides)}")
    if any(padding):
        args.append(f"padding={tup(padding)}")
    if any(out_pad):
        if any(o >= max(s, d) for o, s, d in zip(out_pad, strides, dil)):
            raise UnsupportedNodeError(n, f"output_padding {out_pad} must be smaller than stride or dilation", TARGET)
        args.append(f"output_padding={tup(out_pad)}")
    if group != 1:
        args.append(f"groups={group}")
    if b is None:
        args.append("bias=False")
    if any(d != 1 for d in dil):
        args.append(f"dilation={tup(dil)}")
    state = {"weight": w} if b is None else {"weight": w, "bias": b}
    m = g.module(n, f"nn.ConvTranspose{nd}d({', '.join(args)})", state)
    expr = f"{m}({g.x(n.inputs[0], n)})"
    if begins != ends:  # crop what the symmetric padding left
        idx = [":", ":"]
        for b_, e_, p in zip(begins, ends, padding):
            lo, hi = b_ - p, e_ - p
            idx.append(f"{lo or ''}:{-hi if hi else ''}")
        expr = f"{expr}[{', '.join(idx)}]"
    g.assign(n, n.outputs[0], expr)
