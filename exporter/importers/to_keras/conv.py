"""Convolutions: ``Conv`` -> ``Conv1D/2D/3D``, ``ConvTranspose`` -> ``Conv*DTranspose`` (+ cropping)."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError
from .builder import TARGET, _auto_pad, _crop1d, _zero_pad, op


@op("Conv", attrs=("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"))
def conv(b, n):
    w = b.const(n.inputs[1])
    if w is None:
        raise UnsupportedNodeError(n, "the weight must be a constant initializer", TARGET)
    bias = b.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    nd = w.ndim - 2
    if not 1 <= nd <= 3:
        raise UnsupportedNodeError(n, f"{nd}-D convolution is not supported", TARGET)
    strides, dil = n.attr("strides", [1] * nd), n.attr("dilations", [1] * nd)
    if any(s != 1 for s in strides) and any(d != 1 for d in dil):
        raise UnsupportedNodeError(n, "Keras convolutions cannot combine strides and dilations", TARGET)
    begins, ends = _auto_pad(n, nd)
    layout = b.pref
    x = _zero_pad(b, n, b.get(n.inputs[0], n, layout), layout, begins, ends)
    cls = getattr(b.keras.layers, f"Conv{nd}D")
    layer = cls(w.shape[0], tuple(w.shape[2:]), strides=tuple(strides), padding="valid", data_format=b.fmt(layout),
                dilation_rate=tuple(dil), groups=n.attr("group", 1), use_bias=bias is not None, name=b.lname(n))
    kernel = np.transpose(w, tuple(range(2, nd + 2)) + (1, 0))
    b.put(n.outputs[0], b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None else [])), layout)


@op("ConvTranspose", attrs=("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
                            "output_padding", "output_shape"))
def conv_transpose(b, n):
    w = b.const(n.inputs[1])
    if w is None:
        raise UnsupportedNodeError(n, "the weight must be a constant initializer", TARGET)
    bias = b.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    nd = w.ndim - 2
    if n.attr("group", 1) != 1:
        raise UnsupportedNodeError(n, "grouped transposed convolutions have no Keras layer", TARGET)
    if n.attr("output_shape") is not None or not 1 <= nd <= 3:
        raise UnsupportedNodeError(n, "output_shape (or a rank other than 1-3-D) is not supported", TARGET)
    strides, dil = n.attr("strides", [1] * nd), n.attr("dilations", [1] * nd)
    out_pad = n.attr("output_padding", [0] * nd)
    begins, ends = _auto_pad(n, nd)
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    cls = getattr(b.keras.layers, f"Conv{nd}DTranspose")
    layer = cls(w.shape[1], tuple(w.shape[2:]), strides=tuple(strides), padding="valid",
                output_padding=tuple(out_pad) if any(out_pad) else None, data_format=b.fmt(layout),
                dilation_rate=tuple(dil), use_bias=bias is not None, name=b.lname(n))
    kernel = np.transpose(w, tuple(range(2, nd + 2)) + (1, 0))
    y = b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None else []))
    if any(begins) or any(ends):
        crop = tuple((int(p), int(q)) for p, q in zip(begins, ends))
        L = b.keras.layers
        if nd == 1:
            y = _crop1d(b, n, y, layout, crop[0])
        else:
            cls = L.Cropping2D if nd == 2 else L.Cropping3D
            y = b.layer(n, cls(crop, data_format=b.fmt(layout), name=b.lname(n, "crop")), y)
    b.put(n.outputs[0], y, layout)
