"""TransposedConv2D/3DLayer (= Deconv2D/3DLayer) and DilatedConv2DLayer.

TransposedConv: Lasagne computes Theano's ``AbstractConv*_gradInputs`` of a forward convolution whose
kernel is W, shape (C_in, F, k...): already ONNX ConvTranspose's (C_in, C_out, k...) layout.  Theano's
``filter_flip`` is ``not flip_filters``, so with the default ``flip_filters=False`` the forward
convolution is a true convolution and the ONNX kernel is ``W`` with its spatial axes reversed.
``crop`` is the forward convolution's padding: ONNX ``pads`` on both sides ('valid' 0, 'full' k-1,
'same' k//2); an explicit ``output_size`` beyond the smallest size is ONNX ``output_padding``
(Theano puts the extra rows/columns at the end).

DilatedConv2DLayer: Theano's ``AbstractConv2d_gradWeights`` with the kernel as output gradient, i.e.
a cross-correlation with the kernel dilated by ``dilation``; W (C_in, F, k...) is transposed to
ONNX Conv's (F, C_in, k...).  Lasagne refuses padding and flipped filters for it.
"""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NON_NEGATIVE, NONLINEARITY, POSITIVE, array, lengths_problem, obj, shape_problem, spatial


def _flip(w):
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


def _crop_amounts(crop, ks):
    if crop == "full":
        return [k - 1 for k in ks]
    if crop == "same":
        return [k // 2 for k in ks]
    if crop == "valid":
        return [0] * len(ks)
    return [int(c) for c in crop]


@capture_rule("TransposedConv", "TransposedConv2DLayer", "Deconv2DLayer", "TransposedConv3DLayer",
              "Deconv3DLayer", params=("W", "b"))
def capture_transposed_conv(layer, ctx):
    n = len(layer.filter_size)
    if int(getattr(layer, "num_groups", 1)) != 1:
        raise ctx.unsupported(f"num_groups={layer.num_groups}")
    crop = layer.crop
    if isinstance(crop, str):
        if crop not in ("full", "same", "valid"):
            raise ctx.unsupported(f"crop={crop!r}")
        if crop == "same" and any(k % 2 == 0 for k in layer.filter_size):
            raise ctx.unsupported("crop='same' with an even filter size")
    else:
        crop = [int(c) for c in (crop if isinstance(crop, (tuple, list)) else (crop,) * n)]
    ks = [int(k) for k in layer.filter_size]
    stride = [int(s) for s in layer.stride]
    pads = _crop_amounts(crop, ks)
    output_padding = [0] * n
    if layer.output_size is not None:
        if not isinstance(layer.output_size, (tuple, list)) or not all(isinstance(s, int) for s in layer.output_size):
            raise ctx.unsupported(f"symbolic output_size {layer.output_size!r}: only constant sizes are exported")
        spatial = ctx.input_shape[2:]
        for i, (size, length) in enumerate(zip(layer.output_size, spatial)):
            if length is None:
                raise ctx.unsupported("output_size with an unknown input size (set the input shape)")
            smallest = (length - 1) * stride[i] - 2 * pads[i] + ks[i]
            extra = int(size) - smallest
            if not 0 <= extra < stride[i]:
                raise ctx.unsupported(f"output_size={tuple(layer.output_size)} is not reachable with stride "
                                      f"{tuple(stride)} (smallest size {smallest} on axis {i + 2})")
            output_padding[i] = extra
    return {
        "num_filters": int(layer.num_filters),
        "filter_size": ks,
        "stride": stride,
        "crop": crop,
        "pads": pads + pads,
        "output_padding": output_padding,
        "flip_filters": bool(layer.flip_filters),
        "untie_biases": bool(getattr(layer, "untie_biases", False)),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@attrs_schema("TransposedConv", obj({
    "num_filters": POSITIVE,
    "filter_size": spatial(),
    "stride": spatial(),
    "crop": {"anyOf": [{"enum": ["full", "same", "valid"]}, spatial(NON_NEGATIVE)]},
    "pads": array(NON_NEGATIVE, 2, 6),
    "output_padding": spatial(NON_NEGATIVE),
    "flip_filters": BOOL,
    "untie_biases": BOOL,
    "nonlinearity": NONLINEARITY,
}), required_params=("W",))
def check_transposed_conv(layer):
    a = layer.attrs
    problem = lengths_problem(a, "filter_size", "stride", "crop", "output_padding", rank=layer.rank)
    if problem:
        return problem
    if a["pads"] != _crop_amounts(a["crop"], a["filter_size"]) * 2:
        return f"pads {a['pads']} are not what crop {a['crop']!r} gives for filter_size {a['filter_size']}"
    if any(p >= s for p, s in zip(a["output_padding"], a["stride"])):
        return f"output_padding {a['output_padding']} must be smaller than stride {a['stride']}"
    return _check_weights(layer, [layer.input_shape[1], a["num_filters"], *a["filter_size"]])


def _check_weights(layer, w_shape):
    a = layer.attrs
    return shape_problem("W", layer, w_shape, ("num_filters", "filter_size")) or shape_problem(
        "b", layer, [a["num_filters"], *(layer.output_shape[2:] if a["untie_biases"] else ())],
        ("num_filters", "untie_biases"))


def _conv_with_bias(spec, g, op, inputs, attrs):
    tied = spec.param("b") is not None and not spec.attrs["untie_biases"]
    if tied:
        inputs = inputs + [g.param(spec, "b")]
    if spec.param("b") is None or tied:
        return g.node(op, inputs, spec.name, output=g.out(spec), **attrs)
    y = g.node(op, inputs, spec.name, **attrs)
    return g.node("Add", [y, g.param(spec, "b")], spec.name, output=g.out(spec))


@converter("TransposedConv", emits=("ConvTranspose", "Add"))
def convert_transposed_conv(spec, g):
    a = spec.attrs
    # Theano's filter_flip = not flip_filters: a flipped forward kernel is a reversed ONNX kernel
    w = g.param(spec, "W", transform=None if a["flip_filters"] else _flip)
    attrs = dict(kernel_shape=a["filter_size"], strides=a["stride"], pads=a["pads"])
    if any(a["output_padding"]):
        attrs["output_padding"] = a["output_padding"]
    return _conv_with_bias(spec, g, "ConvTranspose", [g.input(spec), w], attrs)


@capture_rule("DilatedConv", "DilatedConv2DLayer", params=("W", "b"))
def capture_dilated_conv(layer, ctx):
    n = len(layer.filter_size)
    pad = layer.pad
    if pad == "valid":
        pad = (0,) * n
    if isinstance(pad, str) or any(int(p) != 0 for p in (pad if isinstance(pad, (tuple, list)) else (pad,) * n)):
        raise ctx.unsupported(f"pad={pad!r} (DilatedConv2DLayer computes a valid convolution)")
    if layer.flip_filters:
        raise ctx.unsupported("flip_filters=True (DilatedConv2DLayer only cross-correlates)")
    if int(getattr(layer, "num_groups", 1)) != 1:
        raise ctx.unsupported(f"num_groups={layer.num_groups}")
    return {
        "num_filters": int(layer.num_filters),
        "filter_size": [int(k) for k in layer.filter_size],
        "dilation": [int(d) for d in layer.dilation],
        "untie_biases": bool(getattr(layer, "untie_biases", False)),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@attrs_schema("DilatedConv", obj({"num_filters": POSITIVE, "filter_size": spatial(), "dilation": spatial(),
                                  "untie_biases": BOOL, "nonlinearity": NONLINEARITY}), required_params=("W",))
def check_dilated_conv(layer):
    a = layer.attrs
    return lengths_problem(a, "filter_size", "dilation", rank=layer.rank) or _check_weights(
        layer, [layer.input_shape[1], a["num_filters"], *a["filter_size"]])


@converter("DilatedConv", emits=("Conv", "Add"))
def convert_dilated_conv(spec, g):
    a = spec.attrs
    w = g.param(spec, "W", transform=lambda v: np.ascontiguousarray(np.swapaxes(v, 0, 1)))
    attrs = dict(kernel_shape=a["filter_size"], dilations=a["dilation"], pads=[0] * (2 * len(a["filter_size"])))
    return _conv_with_bias(spec, g, "Conv", [g.input(spec), w], attrs)
