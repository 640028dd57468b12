"""cuda-convnet layers (``lasagne.layers.cuda_convnet``): Conv2DCCLayer, MaxPool2DCCLayer,
ShuffleBC01ToC01BLayer / ShuffleC01BToBC01Layer and NINLayer_c01b.

cuda-convnet works on c01b tensors (channels, rows, columns, batch).  With ``dimshuffle=True`` (the
default) Conv2DCCLayer and MaxPool2DCCLayer take and return bc01 like every other layer and W is
(filters, channels, rows, cols); with ``dimshuffle=False`` they take and return c01b and W is
(channels, rows, cols, filters).  Here every op runs in ONNX's bc01 with Transposes at a c01b
boundary:

* Conv2DCCLayer: FilterActs is a cross-correlation (``flip_filters=False``, the default: no flip),
  zero padding ``pad`` ('same' k//2, 'full' k-1) on each side, the strided output truncated to
  Theano's length; tied (F,) or untied (F, rows, cols) biases;
* MaxPool2DCCLayer: square windows, stride <= pool size, the trailing partial window kept (Theano's
  ignore_border=False) -> MaxPool with ceil_mode;
* NINLayer_c01b: ``tensordot(W (units, channels), x, axes=[[1], [0]]) + b``: a 1x1 convolution;
* the Shuffle layers: Transposes (as DimshuffleLayer patterns).
"""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NON_NEGATIVE, NONLINEARITY, POSITIVE, obj, shape_problem

_BC01_TO_C01B = [1, 2, 3, 0]
_C01B_TO_BC01 = [3, 0, 1, 2]


@capture_rule("Dimshuffle", "ShuffleBC01ToC01BLayer")
def capture_to_c01b(layer, ctx):
    return {"pattern": list(_BC01_TO_C01B)}


@capture_rule("Dimshuffle", "ShuffleC01BToBC01Layer")
def capture_to_bc01(layer, ctx):
    return {"pattern": list(_C01B_TO_BC01)}


@capture_rule("CudaConvnetConv", "Conv2DCCLayer", params=("W", "b"))
def capture_cc_conv(layer, ctx):
    k = int(layer.filter_size[0])
    pad = layer.pad
    if isinstance(pad, str):
        pad = {"valid": 0, "same": k // 2, "full": k - 1}[pad]
    elif isinstance(pad, (tuple, list)):
        pad = int(pad[0])
    return {
        "num_filters": int(layer.num_filters),
        "filter_size": int(layer.filter_size[0]),
        "stride": int(layer.stride[0]),
        "pad": int(pad),
        "flip_filters": bool(layer.flip_filters),
        "untie_biases": bool(layer.untie_biases),
        "dimshuffle": bool(layer.dimshuffle),
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@capture_rule("CudaConvnetMaxPool", "MaxPool2DCCLayer")
def capture_cc_pool(layer, ctx):
    return {"pool_size": int(layer.pool_size), "stride": int(layer.stride), "dimshuffle": bool(layer.dimshuffle)}


@capture_rule("NINc01b", "NINLayer_c01b", params=("W", "b"))
def capture_nin_c01b(layer, ctx):
    if len(ctx.input_shape) != 4:
        raise ctx.unsupported(f"a {len(ctx.input_shape)}-d input (a c01b tensor has 4 axes)")
    return {"num_units": int(layer.num_units), "untie_biases": bool(layer.untie_biases),
            "nonlinearity": ctx.nonlinearity(layer.nonlinearity)}


def _bc01(shape, dimshuffle):
    """A 4-d (batch, channels, rows, columns) or, without ``dimshuffle``, c01b shape as bc01."""
    return tuple(shape) if dimshuffle else tuple(shape[i] for i in _C01B_TO_BC01)


@attrs_schema("CudaConvnetConv", obj({
    "num_filters": POSITIVE,
    "filter_size": POSITIVE,  # square filters, strides and padding only
    "stride": POSITIVE,
    "pad": NON_NEGATIVE,
    "flip_filters": BOOL,
    "untie_biases": BOOL,
    "dimshuffle": BOOL,
    "nonlinearity": NONLINEARITY,
}), required_params=("W",))
def check_cc_conv(layer):
    a = layer.attrs
    if layer.rank != 4:
        return f"a {layer.rank}-d input (Conv2DCCLayer needs a 4-d bc01 or, with dimshuffle=false, c01b input)"
    f, k, c = a["num_filters"], a["filter_size"], _bc01(layer.input_shape, a["dimshuffle"])[1]
    if f % 16:  # what Lasagne's constructor requires of cuda-convnet's FilterActs
        return f"num_filters {f} is not a multiple of 16 (Conv2DCCLayer requires it)"
    if c is not None and c > 3 and c % 4:
        return f"the input's {c} channels: Conv2DCCLayer requires 1, 2, 3 or a multiple of 4"
    out = _bc01(layer.output_shape, a["dimshuffle"])[2:] if a["untie_biases"] else ()
    return (shape_problem("W", layer, [f, c, k, k] if a["dimshuffle"] else [c, k, k, f],
                          ("num_filters", "filter_size", "dimshuffle"))
            or shape_problem("b", layer, [f, *out], ("num_filters", "untie_biases")))


@attrs_schema("CudaConvnetMaxPool", obj({"pool_size": POSITIVE, "stride": POSITIVE, "dimshuffle": BOOL}))
def check_cc_pool(layer):
    a = layer.attrs
    if layer.rank != 4:
        return f"a {layer.rank}-d input (MaxPool2DCCLayer needs a 4-d bc01 or, with dimshuffle=false, c01b input)"
    if a["stride"] > a["pool_size"]:
        return f"stride {a['stride']} is more than pool_size {a['pool_size']} (MaxPool2DCCLayer requires it at most)"
    return None


@attrs_schema("NINc01b", obj({"num_units": POSITIVE, "untie_biases": BOOL, "nonlinearity": NONLINEARITY}),
              required_params=("W",))
def check_nin_c01b(layer):
    a = layer.attrs
    if layer.rank != 4:
        return f"a {layer.rank}-d input (a c01b tensor has 4 axes)"
    n = a["num_units"]
    return (shape_problem("W", layer, [n, layer.input_shape[0]], ("num_units",))
            or shape_problem("b", layer, [n, *(layer.input_shape[1:3] if a["untie_biases"] else ())],
                             ("num_units", "untie_biases")))


def _to_bc01(spec, g, c01b):
    x = g.input(spec)
    return g.node("Transpose", [x], spec.name, perm=_C01B_TO_BC01) if c01b else x


def _from_bc01(spec, g, y, c01b):
    return g.node("Transpose", [y], spec.name, output=g.out(spec), perm=_BC01_TO_C01B) if c01b else \
        g.node("Identity", [y], spec.name, output=g.out(spec))


def _add_bias(spec, g, y, untied):
    if spec.param("b") is None:
        return y
    bias = g.param(spec, "b", transform=lambda v: v if untied else v.reshape(-1, 1, 1))
    return g.node("Add", [y, bias], spec.name)


@converter("CudaConvnetConv", emits=("Transpose", "Conv", "Add", "Identity"))
def convert_cc_conv(spec, g):
    a = spec.attrs
    c01b = not a["dimshuffle"]

    def weights(w):
        w = w.transpose(3, 0, 1, 2) if c01b else w  # (C, r, c, F) -> (F, C, r, c)
        return np.ascontiguousarray(w[:, :, ::-1, ::-1] if a["flip_filters"] else w)

    k, p = a["filter_size"], a["pad"]
    y = g.node("Conv", [_to_bc01(spec, g, c01b), g.param(spec, "W", transform=weights)], spec.name,
               kernel_shape=[k, k], strides=[a["stride"]] * 2, pads=[p] * 4)
    return _from_bc01(spec, g, _add_bias(spec, g, y, a["untie_biases"]), c01b)


@converter("CudaConvnetMaxPool", emits=("Transpose", "MaxPool", "Identity"))
def convert_cc_pool(spec, g):
    a = spec.attrs
    c01b = not a["dimshuffle"]
    y = g.node("MaxPool", [_to_bc01(spec, g, c01b)], spec.name, kernel_shape=[a["pool_size"]] * 2,
               strides=[a["stride"]] * 2, ceil_mode=1)
    return _from_bc01(spec, g, y, c01b)


@converter("NINc01b", emits=("Transpose", "Conv", "Add"))
def convert_nin_c01b(spec, g):
    x = _to_bc01(spec, g, True)
    w = g.param(spec, "W", transform=lambda v: v.reshape(v.shape + (1, 1)))
    y = _add_bias(spec, g, g.node("Conv", [x, w], spec.name, kernel_shape=[1, 1]), spec.attrs["untie_biases"])
    return _from_bc01(spec, g, y, True)
