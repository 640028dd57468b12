"""InverseLayer: ``theano.grad(None, wrt=layer_in, known_grads={layer_out: incoming})``, the transpose of
the inverted layer's derivative applied to the incoming values (Lasagne's tied-weight decoders).

The inverted layer (its second input; the third is that layer's own input) is walked back to its
input, each step lowered as its vector-Jacobian product with Theano's derivative formulas:

* a nonlinearity (its own layer, or split off a Dense/Conv by ``split_nonlinearities``): rectify
  ``g * 0.5 (1 + sgn(x))`` (Theano's ``0.5 (x + |x|)``: half the gradient at 0), leaky rectify
  ``g (f1 + f2 sgn(x))``, tanh ``g (1 - y²)``, sigmoid ``g y (1 - y)``, linear ``g``;
* DenseLayer: ``g @ W.T`` reshaped to the input's shape; NINLayer: a 1x1 convolution with W;
* Conv1D/2D/3DLayer (and the cuDNN / corrmm ones): ConvTranspose with the same kernel, strides, pads
  and groups (output_padding restores the input size; the bias has no effect);
* max pooling with non-overlapping windows (stride = pool size, no padding): the incoming values
  repeated over each window go to every position equal to the window's maximum (Theano's
  MaxPoolGrad gives tied maxima all of it), zero elsewhere and outside the windows; average pooling
  (ignore_border): the incoming values divided by the window size.
"""
import numpy as np

from ..errors import UnsupportedLayerError
from ..registry import attrs_schema, capture_rule, converter
from ..schema import agree, obj

_NONLINEARITIES = ("linear", "rectify", "leaky_rectify", "tanh", "sigmoid")
_POOL_CLASSES = ("MaxPool1DLayer", "MaxPool2DLayer", "MaxPool3DLayer", "Pool1DLayer", "Pool2DLayer", "Pool3DLayer",
                 "MaxPool2DDNNLayer", "Pool2DDNNLayer", "MaxPool3DDNNLayer", "Pool3DDNNLayer")
_INVERTIBLE = ("DenseLayer", "NINLayer", "Conv1DLayer", "Conv2DLayer", "Conv3DLayer", "Conv2DDNNLayer",
               "Conv3DDNNLayer", "Conv2DMMLayer", "NonlinearityLayer") + _POOL_CLASSES


@capture_rule("Inverse", "InverseLayer")
def capture_inverse(layer, ctx):
    inverted = layer.input_layers[1]
    cls = type(inverted).__name__
    if cls not in _INVERTIBLE:
        raise ctx.unsupported(f"it inverts a {cls}; supported: {', '.join(_INVERTIBLE)}")
    nl = getattr(inverted, "nonlinearity", None)
    if nl is not None:
        name = ctx.nonlinearity(nl)["name"]
        if name not in _NONLINEARITIES:
            raise ctx.unsupported(f"the inverted layer's nonlinearity {name!r} (supported: {', '.join(_NONLINEARITIES)})")
    if cls in _POOL_CLASSES:
        pad = tuple(inverted.pad) if isinstance(inverted.pad, (tuple, list)) else (inverted.pad,)
        if tuple(inverted.stride) != tuple(inverted.pool_size) or any(pad):
            raise ctx.unsupported("it inverts a pooling with overlapping windows or padding (supported: stride = "
                                  "pool_size, pad 0)")
        mode = getattr(inverted, "mode", "max")
        if mode != "max" and not getattr(inverted, "ignore_border", True):
            raise ctx.unsupported("it inverts an average pooling with ignore_border=False")
    if any(s is None for s in ctx.input_shapes[2][2:]):
        raise ctx.unsupported(f"the inverted layer's input {tuple(ctx.input_shapes[2])} has unknown spatial sizes")
    return {}


_VJP_KINDS = ("Nonlinearity", "Dense", "NIN", "Conv", "Pool")  # the kinds of _INVERTIBLE (_VJP below)


@attrs_schema("Inverse", obj({}))
def check_inverse(layer):
    """Inputs: the values to map back, the inverted layer, its input (Lasagne's ``input_layers``); the
    inverted layer one the converter walks back through, as the capture requires it."""
    if len(layer.input_layers) != 3:
        return f"{len(layer.input_layers)} inputs (the incoming values, the inverted layer, that layer's input)"
    _, target, stop = layer.input_layers
    if target["inputs"] != [stop["name"]]:
        return f"its third input {stop['name']!r} is not the input of the layer it inverts, {target['name']!r}"
    if target["kind"] not in _VJP_KINDS:
        return f"it inverts {target['name']!r}, a {target['kind']} layer (supported: {', '.join(_VJP_KINDS)})"
    a = target["attrs"]
    name = a.get("nonlinearity", {}).get("name", "linear")
    if name not in _NONLINEARITIES:
        return f"the inverted layer's nonlinearity {name!r} (supported: {', '.join(_NONLINEARITIES)})"
    if target["kind"] == "Pool" and (a["stride"] != a["pool_size"] or any(a["pad"])):
        return "it inverts a pooling with overlapping windows or padding (supported: stride = pool_size, pad 0)"
    if target["kind"] == "Pool" and a["mode"] != "max" and not a["ignore_border"]:
        return "it inverts an average pooling with ignore_border=false"
    if None in tuple(stop["output_shape"][2:]) + tuple(target["output_shape"][2:]):
        return "the inverted layer's input and output need known spatial sizes"
    if not agree(layer.input_shapes[0], target["output_shape"]) or not agree(layer.output_shape, stop["output_shape"]):
        return (f"an input of shape {list(layer.input_shapes[0])} and output_shape {list(layer.output_shape)}: "
                f"an InverseLayer maps the inverted layer's output shape {target['output_shape']} back to its input "
                f"shape {stop['output_shape']}")
    return None


@converter("Inverse", emits=("Sign", "Mul", "Add", "Sub", "Transpose", "MatMul", "Reshape", "Shape", "Conv",
                             "ConvTranspose", "Unsqueeze", "Expand", "Pad", "Slice", "Equal", "Where", "Div", "Identity"))
def convert_inverse(spec, g):
    grad = g.input(spec, 0)
    target = g.layers[spec.inputs[1]]
    stop = spec.inputs[2]
    if any(s is None for s in g.layers[stop].output_shape[2:] + target.output_shape[2:]):
        raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                    "the inverted layer's input and output need known spatial sizes")
    for _ in range(3):  # at most: the nonlinearity split off a layer, the layer
        grad = _VJP[target.kind](spec, g, target, grad, stop)
        if target.inputs[0] == stop:
            return g.node("Identity", [grad], spec.name, output=g.out(spec))
        target = g.layers[target.inputs[0]]
    raise ValueError(f"{spec.describe()}: cannot walk back from {spec.inputs[1]!r} to {stop!r}")


def _scalar(g, spec, v):
    return g.constant(f"{spec.name}.c", np.float32(v))


def _nonlinearity(spec, g, target, grad, stop):
    nl = target.attrs["nonlinearity"]
    name = nl["name"]
    x, y = g.tensor(target.inputs[0]), g.tensor(target.name)
    if name == "linear":
        return grad
    if name in ("rectify", "leaky_rectify"):  # relu(x, a) = f1 x + f2 |x|: d/dx = f1 + f2 sgn(x)
        a = np.float32(nl.get("leakiness", 0.0))
        f1, f2 = np.float32(0.5) * (np.float32(1) + a), np.float32(0.5) * (np.float32(1) - a)
        slope = g.node("Add", [g.node("Mul", [g.node("Sign", [x], spec.name), _scalar(g, spec, f2)], spec.name),
                               _scalar(g, spec, f1)], spec.name)
        return g.node("Mul", [grad, slope], spec.name)
    one = _scalar(g, spec, 1.0)
    if name == "tanh":
        return g.node("Mul", [grad, g.node("Sub", [one, g.node("Mul", [y, y], spec.name)], spec.name)], spec.name)
    if name == "sigmoid":
        return g.node("Mul", [g.node("Mul", [grad, y], spec.name), g.node("Sub", [one, y], spec.name)], spec.name)
    raise ValueError(f"{spec.describe()}: no derivative for nonlinearity {name!r}")


def _dense(spec, g, target, grad, stop):
    w = g.param(target, "W", base=f"{spec.name}.W_T", transform=lambda v: np.ascontiguousarray(v.T))
    flat = g.node("MatMul", [grad, w], spec.name)
    return g.node("Reshape", [flat, g.shape(g.tensor(stop), spec.name)], spec.name)


def _nin(spec, g, target, grad, stop):
    nd = len(g.layers[stop].output_shape) - 2
    w = g.param(target, "W", base=f"{spec.name}.W", transform=lambda v: v.reshape(v.shape + (1,) * nd))
    return g.node("Conv", [grad, w], spec.name, kernel_shape=[1] * nd)


def _conv(spec, g, target, grad, stop):
    a = target.attrs
    assert not a["flip_filters"] and "pads" in a, "run the lowering passes first"
    n = len(a["filter_size"])
    sizes_in = g.layers[stop].output_shape[2:]
    sizes_out = target.output_shape[2:]
    pads = a["pads"]
    extra = [i - ((o - 1) * s - (pads[d] + pads[n + d]) + k)
             for d, (i, o, s, k) in enumerate(zip(sizes_in, sizes_out, a["stride"], a["filter_size"]))]
    return g.node("ConvTranspose", [grad, g.param(target, "W", base=f"{spec.name}.W")], spec.name,
                  kernel_shape=a["filter_size"], strides=a["stride"], pads=pads, group=a["num_groups"],
                  output_padding=extra)


def _repeat(g, spec, x, factors):
    """Every element of ``x``'s spatial axes repeated ``factors`` times (exact: Unsqueeze, Expand, Reshape)."""
    n = len(factors)
    y = g.unsqueeze(x, [3 + 2 * i for i in range(n)], spec.name)
    y = g.node("Expand", [y, g.ints(f"{spec.name}.expand", [1, 1] + [v for f in factors for v in (1, f)])], spec.name)
    shape = g.node("Mul", [g.shape(x, spec.name), g.ints(f"{spec.name}.factors", [1, 1] + list(factors))], spec.name)
    return g.node("Reshape", [y, shape], spec.name)


def _fit(g, spec, x, covered, sizes):
    """``x`` (spatial sizes ``covered``) cut or zero-padded at the end to ``sizes``."""
    n = len(sizes)
    if any(c > s for c, s in zip(covered, sizes)):
        x = g.node("Slice", [x, g.ints(f"{spec.name}.starts", [0] * n), g.ints(f"{spec.name}.ends", list(sizes)),
                             g.ints(f"{spec.name}.axes", list(range(2, 2 + n)))], spec.name)
    pad = [max(0, s - c) for c, s in zip(covered, sizes)]
    if any(pad):
        x = g.node("Pad", [x, g.ints(f"{spec.name}.pads", [0] * (n + 2) + [0, 0] + pad)], spec.name)
    return x


def _pool(spec, g, target, grad, stop):
    a = target.attrs
    k = a["pool_size"]
    sizes = g.layers[stop].output_shape[2:]
    covered = [o * f for o, f in zip(target.output_shape[2:], k)]
    spread = _fit(g, spec, _repeat(g, spec, grad, k), covered, sizes)
    if a["mode"] != "max":
        return g.node("Div", [spread, _scalar(g, spec, float(np.prod(k)))], spec.name)
    winners = _fit(g, spec, _repeat(g, spec, g.tensor(target.name), k), covered, sizes)
    mask = g.node("Equal", [g.tensor(stop), winners], spec.name)
    return g.node("Where", [mask, spread, _scalar(g, spec, 0.0)], spec.name)


_VJP = {"Nonlinearity": _nonlinearity, "Dense": _dense, "NIN": _nin, "Conv": _conv, "Pool": _pool}
