"""Convolutions: Conv1D/2D/3DLayer and the cuDNN / corrmm variants, NINLayer.

Captured attributes: ``num_filters, filter_size, stride, pad, flip_filters, untie_biases,
num_groups, nonlinearity``.  ``pad`` is Lasagne's own value ('full', 'same', or ints); the
``explicit_pads`` pass turns it into per-axis ints and ``flip_kernels`` applies ``flip_filters``,
so the converter only ever sees ONNX semantics (cross-correlation, explicit symmetric pads).
"""
import functools
import types

import numpy as np

from ..frontends.lasagne_live import describe_callable
from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NON_NEGATIVE, NONLINEARITY, POSITIVE, lengths_problem, obj, shape_problem, spatial

# classes whose flip_filters default is True (true convolution, Theano's conv2d default)
_CONV_CLASSES = ("Conv1DLayer", "Conv2DLayer", "Conv3DLayer")
# cuDNN / corrmm variants: flip_filters defaults to False
_DNN_CLASSES = ("Conv2DDNNLayer", "Conv3DDNNLayer", "Conv2DMMLayer")


@capture_rule("Conv", *_CONV_CLASSES, *_DNN_CLASSES, params=("W", "b"))
def capture_conv(layer, ctx):
    n = len(layer.filter_size)
    flip = _filter_flip(layer, ctx)
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


@attrs_schema("Conv", obj({
    "num_filters": POSITIVE,
    "filter_size": spatial(),
    "stride": spatial(),
    "pad": {"anyOf": [{"enum": ["full", "same", "valid"]}, spatial(NON_NEGATIVE)]},
    "flip_filters": BOOL,
    "untie_biases": BOOL,
    "num_groups": POSITIVE,
    "nonlinearity": NONLINEARITY,
}), required_params=("W",))
def check_conv(layer):
    a = layer.attrs
    problem = lengths_problem(a, "filter_size", "stride", "pad", rank=layer.rank)
    if problem:
        return problem
    channels = layer.input_shape[1]
    if channels is not None and channels % a["num_groups"]:
        return f"num_groups {a['num_groups']} does not divide the input's {channels} channels"
    per_group = None if channels is None else channels // a["num_groups"]
    out = layer.output_shape[2:] if a["untie_biases"] else ()
    return (shape_problem("W", layer, [a["num_filters"], per_group, *a["filter_size"]],
                          ("num_filters", "num_groups", "filter_size"))
            or shape_problem("b", layer, [a["num_filters"], *out], ("num_filters", "untie_biases")))


# what Lasagne's convolution layers call (``convolution=``): Theano's convolutions, with filter_flip
# True (a true convolution) unless told otherwise, and Lasagne's 1-D implementations built on them
_CONVOLUTIONS = {"theano.tensor.nnet.conv2d", "theano.tensor.nnet.conv3d", "theano.tensor.nnet.abstract_conv.conv2d",
                 "theano.tensor.nnet.abstract_conv.conv3d", "theano.tensor.nnet.conv.conv2d"} | {
    f"lasagne.theano_extensions.conv.conv1d_{v}" for v in ("sc", "mc0", "mc1", "unstrided", "sd", "md")}
_HINT_KEYWORDS = {"image_shape", "input_shape", "filter_shape"}  # shape hints: no effect on the result


def _filter_flip(layer, ctx) -> bool:
    """Theano's effective ``filter_flip`` for a convolution layer.

    Lasagne 0.2 passes ``filter_flip=flip_filters`` to its ``convolution`` (overriding any bound in
    a ``functools.partial``); Lasagne 0.1 had no ``flip_filters``, and a cross-correlation was
    ``convolution=functools.partial(T.nnet.conv2d, filter_flip=False)``.  Any other convolution
    function may compute something else, so it is refused."""
    flip = getattr(layer, "flip_filters", None)
    conv = getattr(layer, "convolution", None)
    if conv is None:  # the cuDNN / corrmm classes call their own convolution
        return bool(flip) if flip is not None else ctx.cls_name in _CONV_CLASSES
    base, keywords = (conv.func, dict(conv.keywords)) if isinstance(conv, functools.partial) else (conv, {})
    qualified = f"{getattr(base, '__module__', '')}.{getattr(base, '__name__', '')}"
    if not isinstance(base, types.FunctionType) or qualified not in _CONVOLUTIONS:
        raise ctx.unsupported(f"convolution={describe_callable(conv)!r}: only Theano's conv2d/conv3d and "
                              f"lasagne.theano_extensions.conv functions are known to compute Lasagne's convolution")
    extra = sorted(set(keywords) - _HINT_KEYWORDS - {"filter_flip"})
    if extra:
        raise ctx.unsupported(f"convolution={describe_callable(conv)!r} binds {', '.join(extra)}, which changes the "
                              f"convolution")
    if flip is not None:
        return bool(flip)
    return bool(keywords.get("filter_flip", True))


@converter("Conv", emits=("Conv", "Add"))
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


@attrs_schema("NIN", obj({"num_units": POSITIVE, "untie_biases": BOOL, "nonlinearity": NONLINEARITY}),
              required_params=("W",))
def check_nin(layer):
    a = layer.attrs
    if layer.rank < 2:
        return f"a {layer.rank}-d input (NINLayer needs (batch, channels, ...))"
    return (shape_problem("W", layer, [layer.input_shape[1], a["num_units"]], ("num_units",))
            or shape_problem("b", layer, [a["num_units"], *(layer.output_shape[2:] if a["untie_biases"] else ())],
                             ("num_units", "untie_biases")))


@converter("NIN", emits=("Conv", "Add"))
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
