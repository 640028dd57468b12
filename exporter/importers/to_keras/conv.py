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
    kwargs = dict(strides=tuple(strides), padding="valid", data_format=b.fmt(layout), dilation_rate=tuple(dil),
                  groups=n.attr("group", 1), name=b.lname(n))
    kernel = np.transpose(w, tuple(range(2, nd + 2)) + (1, 0))
    split = _bias_apart(layout, cls(w.shape[0], tuple(w.shape[2:]), **kwargs).compute_output_shape(x.shape), bias)
    layer = cls(w.shape[0], tuple(w.shape[2:]), use_bias=bias is not None and not split, **kwargs)
    y = b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None and not split else []))
    b.put(n.outputs[0], _add_bias(b, n, y, bias) if split else y, layout)


def _bias_apart(layout, out_shape, bias) -> bool:
    """Whether a convolution's bias must be added by a layer of its own: Keras' TensorFlow backend adds
    it with ``tf.nn.bias_add``, guessing the layout from the shape (``keras.ops.add``), so a
    channels_first output whose last axis is as long as its channel count (or of a length known only at
    run time) would get the bias along that axis: wrong results under TensorFlow, eager or compiled."""
    return bias is not None and layout == "cf" and out_shape[-1] in (None, out_shape[1])


def _add_bias(b, n, y, bias):
    """``y + bias`` per channel (channels_first) through ``keras_layers.ConstantOp``, which adds exactly on
    every backend."""
    from ..keras_layers import ConstantOp

    value = np.asarray(bias, np.float32).reshape((-1,) + (1,) * (len(y.shape) - 2))
    return b.layer(n, ConstantOp("add", value.shape, name=b.lname(n, "bias")), y, weights=[value])


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
    kwargs = dict(strides=tuple(strides), padding="valid", output_padding=tuple(out_pad) if any(out_pad) else None,
                  data_format=b.fmt(layout), dilation_rate=tuple(dil), name=b.lname(n))
    kernel = np.transpose(w, tuple(range(2, nd + 2)) + (1, 0))
    split = _bias_apart(layout, cls(w.shape[1], tuple(w.shape[2:]), **kwargs).compute_output_shape(x.shape), bias)
    layer = cls(w.shape[1], tuple(w.shape[2:]), use_bias=bias is not None and not split, **kwargs)
    y = b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None and not split else []))
    if split:
        y = _add_bias(b, n, y, bias)
    if any(begins) or any(ends):
        crop = tuple((int(p), int(q)) for p, q in zip(begins, ends))
        L = b.keras.layers
        if nd == 1:
            y = _crop1d(b, n, y, layout, crop[0])
        else:
            cls = L.Cropping2D if nd == 2 else L.Cropping3D
            y = b.layer(n, cls(crop, data_format=b.fmt(layout), name=b.lname(n, "crop")), y)
    b.put(n.outputs[0], y, layout)
