"""Convolutions: Conv1D/2D/3DLayer and the cuDNN / corrmm variants, NINLayer.

Captured attributes: ``num_filters, filter_size, stride, pad, flip_filters, untie_biases,
num_groups, nonlinearity``.  ``pad`` is Lasagne's own value ('full', 'same', or ints); the
``explicit_pads`` pass turns it into per-axis ints and ``flip_kernels`` applies ``flip_filters``,
so the converter only ever sees ONNX semantics (cross-correlation, explicit symmetric pads).
"""
import numpy as np

from ..registry import capture_rule, converter

# classes whose flip_filters default is True (true convolution, Theano's conv2d default)
_CONV_CLASSES = ("Conv1DLayer", "Conv2DLayer", "Conv3DLayer")
# cuDNN / corrmm variants: flip_filters defaults to False
_DNN_CLASSES = ("Conv2DDNNLayer", "Conv3DDNNLayer", "Conv2DMMLayer")


@capture_rule("Conv", *_CONV_CLASSES, *_DNN_CLASSES, params=("W", "b"))
def capture_conv(layer, ctx):
    n = len(layer.filter_size)
    flip = getattr(layer, "flip_filters", None)
    if flip is None:  # Lasagne 0.1's Conv1D/2DLayer always ran a true convolution
        flip = ctx.cls_name in _CONV_CLASSES
    pad = layer.pad
    if pad == "valid":
        pad = (0,) * n
    elif not isinstance(pad, str):
        pad = tuple(int(p) for p in (pad if isinstance(pad, (tuple, list)) else (pad,) * n))
    dilation = tuple(getattr(layer, "filter_dilation", (1,) * n))
    if any(d != 1 for d in dilation):
        raise ctx.unsupported(f"filter_dilation={dilation} is not supported here")
    return {
        "num_filters": int(layer.num_filters),
        "filter_size": list(layer.filter_size),
        "stride": list(layer.stride),
        "pad": pad,
        "flip_filters": bool(flip),
        "untie_biases": bool(getattr(layer, "untie_biases", False)),
        "num_groups": int(getattr(layer, "num_groups", 1)),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@converter("Conv")
def convert_conv(spec, g):
    a = spec.attrs
    assert not a["flip_filters"] and "pads" in a, "run the lowering passes first"
    n = len(a["filter_size"])
    inputs = [g.input(spec), g.param(spec, "W")]
    tied_bias = spec.param("b") is not None and not a["untie_biases"]
    if tied_bias:
        inputs.append(g.param(spec, "b"))
    attrs = dict(kernel_shape=a["filter_size"], strides=a["stride"], pads=a["pads"], group=a["num_groups"])
    if spec.param("b") is None or tied_bias:
        return g.node("Conv", inputs, spec.name, output=g.out(spec), **attrs)
    y = g.node("Conv", inputs, spec.name, **attrs)
    return g.node("Add", [y, g.param(spec, "b")], spec.name, output=g.out(spec))


@capture_rule("NIN", "NINLayer", params=("W", "b"))
def capture_nin(layer, ctx):
    return {
        "num_units": int(layer.num_units),
        "untie_biases": bool(layer.untie_biases),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@converter("NIN")
def convert_nin(spec, g):
    """NINLayer: a 1x1 convolution over axis 1 with W of shape (C_in, units)."""
    nd = len(g.input_shape(spec)) - 2
    w = g.param(spec, "W", transform=lambda w: np.ascontiguousarray(w.T).reshape(w.shape[1], w.shape[0], *([1] * nd)))
    inputs = [g.input(spec), w]
    b = spec.param("b")
    if b is not None and not spec.attrs["untie_biases"]:
        return g.node("Conv", inputs + [g.param(spec, "b")], spec.name, output=g.out(spec), kernel_shape=[1] * nd)
    y = g.node("Conv", inputs, spec.name, kernel_shape=[1] * nd, output=None if b is not None else g.out(spec))
    if b is None:
        return y
    return g.node("Add", [y, g.param(spec, "b")], spec.name, output=g.out(spec))
