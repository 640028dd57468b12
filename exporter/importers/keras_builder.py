"""ONNX -> Keras 3 functional model (runs on the torch backend; no TensorFlow needed).

One small converter per ONNX op family, registered with ``@op(...)`` and the attributes it
understands.  Layers are Keras built-ins (Conv2D, BatchNormalization, ReLU, Dense, pooling...) named
after the Lasagne layers; ``keras_layers`` supplies the three layers Keras lacks.

Layouts.  ONNX tensors are channels-first.  With ``data_format="channels_last"`` (the default) every
tensor of rank >= 3 is held channels-last where the op allows it (convolutions, pooling, batch norm,
activations...), kernels are transposed, model inputs and outputs are NHWC; each value remembers its
layout (``cf`` = ONNX order, ``cl`` = channels moved last) and a ``Permute`` is inserted only where an
op needs the other one.  A ``Flatten`` of a channels-last tensor that feeds only Dense layers is kept
as is and those Dense layers get their kernel rows permuted, so the outputs still match.
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

from . import onnx_reader  # noqa: E402
from .onnx_reader import UnsupportedNodeError, float_literal, identifier, split_pads  # noqa: E402

TARGET = "to-keras"
REGISTRY = onnx_reader.OpRegistry(TARGET)
op = REGISTRY.register


def keras_module():
    import keras

    if keras.backend.backend() != "torch" and os.environ.get("LASAGNE2ONNX_ANY_KERAS_BACKEND") != "1":
        from ..errors import ExportError

        raise ExportError(f"Keras runs on the {keras.backend.backend()!r} backend; set KERAS_BACKEND=torch "
                          "before importing keras")
    return keras


class Val:
    """A Keras tensor for one ONNX value: ``layout`` is 'cf' (ONNX order) or 'cl' (channels last);
    ``perm`` (2-D only) says which ONNX feature each column holds, when a Flatten kept NHWC order."""

    def __init__(self, t, layout="cf", perm=None):
        self.t, self.layout, self.perm = t, layout, perm


class Builder:
    def __init__(self, view, data_format):
        self.keras = keras_module()
        self.view = view
        self.data_format = data_format
        self.pref = "cl" if data_format == "channels_last" else "cf"
        self.vals = {}
        self.names = set()
        self.pending = []  # (layer, weights) set once the layer is built
        self.skip = set()
        self.shape_only = set()  # values that only describe shapes (Shape -> Gather -> Concat)
        self.custom = set()

    # -- values ----------------------------------------------------------------------------------
    def rank(self, name, node=None):
        return self.view.rank(name, node)

    def get(self, name, node, layout=None):
        """The Keras tensor of ``name`` in ``layout`` (None: as held), materialising permutations."""
        if name in self.shape_only or name not in self.vals:
            if self.view.const(name) is not None:
                raise UnsupportedNodeError(node, f"constant input {name!r} is not supported here", TARGET)
            raise UnsupportedNodeError(node, f"input {name!r} is not available as a tensor", TARGET)
        v = self.vals[name]
        if v.perm is not None:  # a flatten in NHWC order consumed by something other than a Dense
            raise UnsupportedNodeError(node, "internal: permuted flatten consumed by a non-Dense op", TARGET)
        r = len(v.t.shape)
        if layout is None or layout == v.layout or r < 3:
            return v.t
        key = (name, layout)
        if key not in self.vals:
            dims = tuple(range(2, r)) + (1,) if layout == "cl" else (r - 1,) + tuple(range(1, r - 1))
            t = self.layer(node, self.keras.layers.Permute(dims, name=self.lname(node, f"to_{layout}")), v.t)
            self.vals[key] = Val(t, layout)
        return self.vals[key].t

    def layout_of(self, name):
        v = self.vals.get(name)
        return v.layout if v is not None and len(v.t.shape) >= 3 else "cf"

    def put(self, name, t, layout="cf", perm=None):
        self.vals[name] = Val(t, layout if len(t.shape) >= 3 else "cf", perm)

    def axis(self, a, rank, layout):
        """An ONNX axis in the Keras tensor of ``layout``."""
        a = a + rank if a < 0 else a
        if layout == "cf" or rank < 3 or a == 0:
            return a
        return rank - 1 if a == 1 else a - 1

    def fmt(self, layout):
        return "channels_last" if layout == "cl" else "channels_first"

    # -- layers ------------------------------------------------------------------------------------
    def lname(self, node, suffix=None):
        if node is None:
            base = "output"
        elif node.layer:
            base = node.layer[:-len("/linear")] if node.layer.endswith("/linear") else node.layer
        else:
            base = node.name.split(":")[0]
        return identifier(base + (f"_{suffix}" if suffix else ""), self.names)

    def layer(self, node, layer, *inputs, weights=None):
        t = layer(*inputs) if len(inputs) == 1 else layer(list(inputs))
        if weights is not None:
            expected = [tuple(w.shape) for w in layer.weights]
            got = [tuple(np.shape(w)) for w in weights]
            if expected != got:
                raise UnsupportedNodeError(node, f"internal: weight shapes {got} do not fit {expected}", TARGET)
            layer.set_weights([np.asarray(w, np.float32) for w in weights])
        if type(layer).__module__.startswith(__package__):
            self.custom.add(type(layer).__name__)
        return t

    def const(self, name):
        return self.view.const(name)


def _static(view, name, node, what="input"):
    s = view.shape(name)
    if s is None or any(d is None for d in s[1:]):
        raise UnsupportedNodeError(node, f"needs a static {what} shape (got {s})", TARGET)
    return s


def _auto_pad(n, nd):
    ap = n.attr("auto_pad", "NOTSET")
    if ap == "VALID":
        return [0] * nd, [0] * nd
    if ap not in ("NOTSET", ""):
        raise UnsupportedNodeError(n, f"auto_pad={ap} is not supported (export with explicit pads)", TARGET)
    return split_pads(n.attr("pads"), nd)


def _zero_pad(b, n, x, layout, begins, ends, suffix="pad"):
    nd = len(begins)
    if not any(begins) and not any(ends):
        return x
    L = b.keras.layers
    padding = tuple((int(p), int(q)) for p, q in zip(begins, ends))
    if nd == 1:
        return b.layer(n, L.ZeroPadding1D(padding[0], data_format=b.fmt(layout), name=b.lname(n, suffix)), x)
    cls = L.ZeroPadding2D if nd == 2 else L.ZeroPadding3D
    return b.layer(n, cls(padding, data_format=b.fmt(layout), name=b.lname(n, suffix)), x)


# -- convolutions -----------------------------------------------------------------------------------------

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


def _crop1d(b, n, y, layout, crop):
    if layout == "cl":
        return b.layer(n, b.keras.layers.Cropping1D(crop, name=b.lname(n, "crop")), y)
    from .keras_layers import SliceAxis  # Cropping1D only knows (N, steps, C)

    d = y.shape[2]
    if d is None:
        raise UnsupportedNodeError(n, "1-D cropping of channels_first data needs a static length", TARGET)
    return b.layer(n, SliceAxis(2, crop[0], d - crop[1], name=b.lname(n, "crop")), y)


# -- dense ---------------------------------------------------------------------------------------------------

def _dense(b, n, x_name, kernel, bias, out):
    v = b.vals.get(x_name)
    if v is not None and v.perm is not None:
        kernel = kernel[v.perm]
        x = v.t
    else:
        rank = b.rank(x_name, n)
        x = b.get(x_name, n, "cf" if rank >= 3 else None)
    layer = b.keras.layers.Dense(kernel.shape[1], use_bias=bias is not None, name=b.lname(n))
    b.put(out, b.layer(n, layer, x, weights=[kernel] + ([bias] if bias is not None else [])), "cf")


@op("Gemm", attrs=("alpha", "beta", "transA", "transB"))
def gemm(b, n):
    w = b.const(n.inputs[1])
    c = b.const(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
    if w is None or n.attr("transA", 0) or (len(n.inputs) > 2 and n.inputs[2] and c is None):
        raise UnsupportedNodeError(n, "only Gemm with constant B and C and transA=0 is supported", TARGET)
    w = w.T if n.attr("transB", 0) else w
    alpha, beta = n.attr("alpha", 1.0), n.attr("beta", 1.0)
    if alpha != 1.0:
        w = (w * np.float32(alpha)).astype(np.float32)
    bias = None
    if c is not None:
        if c.size not in (1, w.shape[1]):
            raise UnsupportedNodeError(n, f"bias C of shape {c.shape} is not a per-output bias", TARGET)
        bias = np.broadcast_to(c.reshape(-1) * np.float32(beta), (w.shape[1],)).astype(np.float32)
    _dense(b, n, n.inputs[0], w, bias, n.outputs[0])


@op("MatMul")
def matmul(b, n):
    w = b.const(n.inputs[1])
    if w is None or w.ndim != 2:
        raise UnsupportedNodeError(n, "only MatMul by a constant 2-D matrix is supported", TARGET)
    out, bias = n.outputs[0], None
    users = b.view.consumers.get(out, [])
    if len(users) == 1 and users[0].op_type == "Add" and not b.view.is_output(out):
        add = users[0]
        other = [i for i in add.inputs if i != out]
        c = b.const(other[0]) if len(other) == 1 else None
        if c is not None and c.size == w.shape[1] and c.shape[-1] == w.shape[1] and c.ndim <= (b.rank(out) or 0):
            bias, out = c.reshape(-1), add.outputs[0]
            b.skip.add(add.index)
    _dense(b, n, n.inputs[0], w, bias, out)


# -- elementwise --------------------------------------------------------------------------------------------

_MERGE = {"Add": "Add", "Sub": "Subtract", "Mul": "Multiply", "Max": "Maximum", "Min": "Minimum"}
_CONST_OP = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Max": "max", "Min": "min"}


@op("Add", "Sub", "Mul", "Div", "Max", "Min")
def binary(b, n):
    if any(i in b.shape_only for i in n.inputs):
        b.shape_only.add(n.outputs[0])
        return
    consts = [b.const(i) for i in n.inputs]
    if len(n.inputs) != 2:
        if all(c is None for c in consts) and n.op_type in ("Max", "Min"):
            return _merge(b, n, n.inputs)
        raise UnsupportedNodeError(n, f"{n.op_type} of {len(n.inputs)} inputs is not supported", TARGET)
    if all(c is None for c in consts):
        if n.op_type == "Div":
            raise UnsupportedNodeError(n, "Div of two tensors has no Keras layer", TARGET)
        return _merge(b, n, n.inputs)
    if all(c is not None for c in consts):
        raise UnsupportedNodeError(n, "both inputs are constants", TARGET)
    k = 0 if consts[0] is None else 1
    x_name, c = n.inputs[k], consts[1 - k]
    rank = b.rank(x_name, n)
    layout = b.layout_of(x_name)
    x = b.get(x_name, n)
    L = b.keras.layers
    if c.size == 1 and c.ndim <= rank:
        v = float_literal(c.reshape(()).item())
        lin = {("Mul", 0): (v, 0.0), ("Mul", 1): (v, 0.0), ("Add", 0): (1.0, v), ("Add", 1): (1.0, v),
               ("Sub", 0): (1.0, -v), ("Sub", 1): (-1.0, v)}.get((n.op_type, k))
        if lin is not None:  # exact: x*s, x+o, x+(-c), (-x)+c
            scale, offset = lin
            b.put(n.outputs[0], b.layer(n, L.Rescaling(scale, offset, name=b.lname(n, n.op_type.lower())), x), layout)
            return
    if c.ndim > rank:
        raise UnsupportedNodeError(n, f"constant of rank {c.ndim} broadcasts the rank-{rank} input up", TARGET)
    full = c.reshape((1,) * (rank - c.ndim) + c.shape)
    if layout == "cl" and rank >= 3:
        full = np.transpose(full, (0,) + tuple(range(2, rank)) + (1,))
    full = full.reshape(full.shape[1:]) if full.shape[0] == 1 else full
    if full.ndim == rank:
        raise UnsupportedNodeError(n, "a constant that varies over the batch axis is not supported", TARGET)
    from .keras_layers import ConstantOp

    layer = ConstantOp(_CONST_OP[n.op_type], full.shape, reverse=k == 1, name=b.lname(n, n.op_type.lower()))
    b.put(n.outputs[0], b.layer(n, layer, x, weights=[full]), layout)


def _merge(b, n, names):
    layout = b.layout_of(names[0])
    xs = [b.get(i, n, layout) for i in names]
    cls = getattr(b.keras.layers, _MERGE[n.op_type])
    b.put(n.outputs[0], b.layer(n, cls(name=b.lname(n, n.op_type.lower())), *xs), layout)


def _activation(factory):
    def convert(b, n):
        layout = b.layout_of(n.inputs[0])
        layer = factory(b.keras.layers, n, b.lname(n) if not _has_owner(b, n) else b.lname(n, n.op_type.lower()))
        b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n)), layout)

    return convert


def _has_owner(b, n):
    """True when the node's Lasagne layer also produced a weighted node (the name goes to that one)."""
    return bool(n.layer) and n.layer in b.view.layer_map and any(
        m.layer == n.layer + "/linear" for m in b.view.nodes)


op("Relu")(_activation(lambda L, n, name: L.ReLU(name=name)))
op("Sigmoid")(_activation(lambda L, n, name: L.Activation("sigmoid", name=name)))
op("Tanh")(_activation(lambda L, n, name: L.Activation("tanh", name=name)))
op("Softplus")(_activation(lambda L, n, name: L.Activation("softplus", name=name)))
op("LeakyRelu", attrs=("alpha",))(_activation(
    lambda L, n, name: L.LeakyReLU(negative_slope=float_literal(n.attr("alpha", 0.01)), name=name)))
op("Elu", attrs=("alpha",))(_activation(lambda L, n, name: L.ELU(alpha=float_literal(n.attr("alpha", 1.0)),
                                                                 name=name)))

_SELU_ALPHA, _SELU_GAMMA = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


@op("Selu", attrs=("alpha", "gamma"))
def selu(b, n):
    alpha, gamma = np.float32(n.attr("alpha", _SELU_ALPHA)), np.float32(n.attr("gamma", _SELU_GAMMA))
    layout = b.layout_of(n.inputs[0])
    x = b.get(n.inputs[0], n)
    L = b.keras.layers
    if alpha == np.float32(_SELU_ALPHA) and gamma == np.float32(_SELU_GAMMA):
        y = b.layer(n, L.Activation("selu", name=b.lname(n, "selu")), x)
    else:  # selu = gamma * elu(x, alpha)
        y = b.layer(n, L.ELU(alpha=float_literal(alpha), name=b.lname(n, "elu")), x)
        y = b.layer(n, L.Rescaling(float_literal(gamma), name=b.lname(n, "gamma")), y)
    b.put(n.outputs[0], y, layout)


@op("Softmax", attrs=("axis",))
def softmax(b, n):
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", -1 if b.view.opset >= 13 else 1)
    axis = axis + rank if axis < 0 else axis
    if b.view.opset < 13 and axis != rank - 1:
        raise UnsupportedNodeError(n, "opset < 13 Softmax over several axes is not supported", TARGET)
    layout = b.layout_of(n.inputs[0])
    y = b.layer(n, b.keras.layers.Softmax(axis=b.axis(axis, rank, layout), name=b.lname(n, "softmax")),
                b.get(n.inputs[0], n))
    b.put(n.outputs[0], y, layout)


@op("PRelu")
def prelu(b, n):
    slope = b.const(n.inputs[1])
    if slope is None:
        raise UnsupportedNodeError(n, "the slope must be a constant", TARGET)
    rank = b.rank(n.inputs[0], n)
    layout = b.layout_of(n.inputs[0])
    full = slope.reshape((1,) * (rank - 1 - slope.ndim) + slope.shape) if slope.ndim < rank else None
    if full is None:
        raise UnsupportedNodeError(n, "a slope over the batch axis is not supported", TARGET)
    full = np.broadcast_to(full, full.shape)  # (d1, ..., d_{r-1}) with 1s on shared axes
    if layout == "cl" and rank >= 3:
        full = np.transpose(full, tuple(range(1, rank - 1)) + (0,))
    shared = [i + 1 for i, d in enumerate(full.shape) if d == 1]
    in_shape = b.get(n.inputs[0], n).shape
    alpha = np.broadcast_to(full, tuple(1 if (i + 1) in shared else in_shape[i + 1] for i in range(rank - 1)))
    layer = b.keras.layers.PReLU(shared_axes=shared or None, name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n), weights=[np.ascontiguousarray(alpha)]), layout)


# -- normalization -------------------------------------------------------------------------------------------------

@op("BatchNormalization", attrs=("epsilon", "momentum", "training_mode"))
def batchnorm(b, n):
    if n.attr("training_mode", 0) or len([o for o in n.outputs if o]) > 1:
        raise UnsupportedNodeError(n, "training_mode=1 / running-statistics outputs are not supported", TARGET)
    ws = [b.const(i) for i in n.inputs[1:5]]
    if any(w is None for w in ws):
        raise UnsupportedNodeError(n, "scale, bias, mean and var must be constants", TARGET)
    rank = b.rank(n.inputs[0], n)
    layout = b.layout_of(n.inputs[0])
    layer = b.keras.layers.BatchNormalization(axis=b.axis(1, rank, layout),
                                              momentum=float_literal(n.attr("momentum", 0.9)),
                                              epsilon=float_literal(n.attr("epsilon", 1e-5)), name=b.lname(n))
    scale, bias, mean, var = ws
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n), weights=[scale, bias, mean, var]), layout)


@op("LRN", attrs=("alpha", "beta", "bias", "size"))
def lrn(b, n):
    from .keras_layers import LocalResponseNormalization

    layout = b.layout_of(n.inputs[0])
    rank = b.rank(n.inputs[0], n)
    _static(b.view, n.inputs[0], n)
    layer = LocalResponseNormalization(n.attr("size"), float_literal(n.attr("alpha", 1e-4)),
                                       float_literal(n.attr("beta", 0.75)), float_literal(n.attr("bias", 1.0)),
                                       axis=b.axis(1, rank, layout), name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n)), layout)


# -- pooling ----------------------------------------------------------------------------------------------------------

def _same_matches(sizes, ks, strides, begins, ends, ceil):
    """True when Keras padding='same' windows are ONNX's (same starts, same count)."""
    for size, k, s, pb, pe in zip(sizes, ks, strides, begins, ends):
        if size is None:
            return False
        same_out = -(-size // s)
        total = max((same_out - 1) * s + k - size, 0)
        span = size + pb + pe - k
        out = (-(-span // s) if ceil else span // s) + 1
        if ceil and (out - 1) * s >= size + pb:
            out -= 1
        if out != same_out or pb != total // 2:
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
    include = bool(n.attr("count_include_pad", 0)) and not is_max
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    shape = b.view.shape(n.inputs[0])
    sizes = shape[2:] if shape is not None else [None] * nd
    kind = "Max" if is_max else "Average"
    cls = getattr(b.keras.layers, f"{kind}Pooling{nd}D")
    padding = "valid"
    if any(begins) or any(ends) or ceil:
        if _same_matches(sizes, ks, strides, begins, ends, ceil) and not (include and (any(begins) or any(ends))):
            padding = "same"
        elif include and not ceil:
            x = _zero_pad(b, n, x, layout, begins, ends)
        else:
            if any(sz is None for sz in sizes):
                raise UnsupportedNodeError(n, f"{n.op_type} with pads {list(begins) + list(ends)}, ceil_mode="
                                              f"{int(ceil)} needs a static input size for Keras", TARGET)
            if ceil and include:
                raise UnsupportedNodeError(n, "ceil_mode with count_include_pad=1 is not supported", TARGET)
            from .keras_layers import PaddedPooling

            ends = list(ends)
            if ceil:  # make the ceil overhang explicit: ONNX keeps windows that start before the end padding
                for i, (size, k, s, pb, pe) in enumerate(zip(sizes, ks, strides, begins, ends)):
                    span = size + pb + pe - k
                    out = -(-span // s) + 1
                    if (out - 1) * s >= size + pb:
                        out -= 1
                    ends[i] = max(pe, (out - 1) * s + k - size - pb)
            layer = PaddedPooling("max" if is_max else "average", ks, strides, list(zip(begins, ends)),
                                  b.fmt(layout), include_pad=include, name=b.lname(n))
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


@op("ReduceSum", "ReduceMin", "ReduceMax", "ReduceMean", attrs=("axes", "keepdims", "noop_with_empty_axes"))
def reduce(b, n):
    axes = n.attr("axes")
    if len(n.inputs) > 1 and n.inputs[1]:
        a = b.const(n.inputs[1])
        axes = None if a is None else [int(v) for v in a.reshape(-1)]
    rank = b.rank(n.inputs[0], n)
    axes = sorted(a + rank if a < 0 else a for a in (axes or []))
    if axes != list(range(2, rank)) or not 3 <= rank <= 5:
        raise UnsupportedNodeError(n, f"only reductions over all spatial axes are supported (axes {axes})", TARGET)
    keep = bool(n.attr("keepdims", 1))
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    nd, L = rank - 2, b.keras.layers
    kw = dict(data_format=b.fmt(layout), keepdims=keep)
    if n.op_type in ("ReduceMean", "ReduceSum"):
        y = b.layer(n, getattr(L, f"GlobalAveragePooling{nd}D")(name=b.lname(n), **kw), x)
        if n.op_type == "ReduceSum":
            count = int(np.prod(_static(b.view, n.inputs[0], n)[2:]))
            y = b.layer(n, L.Rescaling(float(count), name=b.lname(n, "count")), y)
    elif n.op_type == "ReduceMax":
        y = b.layer(n, getattr(L, f"GlobalMaxPooling{nd}D")(name=b.lname(n), **kw), x)
    else:  # min = -max(-x), exact
        y = b.layer(n, L.Rescaling(-1.0, name=b.lname(n, "neg")), x)
        y = b.layer(n, getattr(L, f"GlobalMaxPooling{nd}D")(name=b.lname(n), **kw), y)
        y = b.layer(n, L.Rescaling(-1.0, name=b.lname(n, "neg_back")), y)
    b.put(n.outputs[0], y, layout if keep else "cf")


# -- shapes ------------------------------------------------------------------------------------------------------------

@op("Flatten", attrs=("axis",))
def flatten(b, n):
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", 1)
    axis = axis + rank if axis < 0 else axis
    if axis != 1:
        raise UnsupportedNodeError(n, f"Flatten axis={axis} is not supported (only 1)", TARGET)
    name = n.inputs[0]
    L = b.keras.layers
    users = b.view.consumers.get(n.outputs[0], [])
    dense_only = users and not b.view.is_output(n.outputs[0]) and all(
        u.op_type in ("Gemm", "MatMul") and u.inputs[0] == n.outputs[0] and b.const(u.inputs[1]) is not None
        for u in users)
    shape = b.view.shape(name)
    if b.layout_of(name) == "cl" and dense_only and shape is not None and all(d is not None for d in shape[1:]):
        onnx_shape = shape[1:]
        perm = np.arange(int(np.prod(onnx_shape))).reshape(onnx_shape)
        perm = np.transpose(perm, tuple(range(1, rank - 1)) + (0,)).reshape(-1)
        t = b.layer(n, L.Flatten(name=b.lname(n, "flatten")), b.get(name, n))
        b.put(n.outputs[0], t, "cf", perm=None if np.array_equal(perm, np.arange(perm.size)) else perm)
        return
    t = b.layer(n, L.Flatten(name=b.lname(n, "flatten")), b.get(name, n, "cf"))
    b.put(n.outputs[0], t, "cf")


def _target_shape(b, n, out):
    s = b.view.shape(out)
    if s is None or sum(d is None for d in s[1:]) > 1:
        raise UnsupportedNodeError(n, f"needs an output shape known up to one axis (got {s})", TARGET)
    return tuple(-1 if d is None else int(d) for d in s[1:])


@op("Reshape", attrs=("allowzero",))
def reshape(b, n):
    target = _target_shape(b, n, n.outputs[0])
    in_shape = b.view.shape(n.inputs[0])
    out_shape = b.view.shape(n.outputs[0])
    if in_shape is None or out_shape is None or (in_shape[0] != out_shape[0] or in_shape[0] is None) and \
            not _keeps_batch(b, n):
        raise UnsupportedNodeError(n, "a Reshape that changes the batch axis is not supported", TARGET)
    t = b.layer(n, b.keras.layers.Reshape(target, name=b.lname(n, "reshape")), b.get(n.inputs[0], n, "cf"))
    b.put(n.outputs[0], t, "cf")


def _keeps_batch(b, n):
    c = b.const(n.inputs[1])
    if c is not None:
        return int(c.reshape(-1)[0]) == 0
    return n.inputs[1] in b.shape_only  # built from Shape(x)[0]: tf2onnx's flatten


@op("Transpose", attrs=("perm",))
def transpose(b, n):
    rank = b.rank(n.inputs[0], n)
    perm = list(n.attr("perm") or reversed(range(rank)))
    if perm[0] != 0:
        raise UnsupportedNodeError(n, f"a Transpose that moves the batch axis ({perm}) is not supported", TARGET)
    layout = b.layout_of(n.inputs[0])
    x = b.get(n.inputs[0], n)
    held = list(range(rank)) if layout == "cf" else [0] + list(range(2, rank)) + [1]  # onnx axis of held axis
    inv = np.argsort(held)
    total = [int(inv[p]) for p in perm]  # held axis for each output (ONNX-order) axis
    if total == list(range(rank)):
        b.put(n.outputs[0], x, "cf")
        return
    cl = [0] + list(range(2, rank)) + [1]
    if rank >= 3 and [total[a] for a in cl] == list(range(rank)):
        b.put(n.outputs[0], x, "cl")
        return
    t = b.layer(n, b.keras.layers.Permute(tuple(total[1:]), name=b.lname(n, "permute")), x)
    b.put(n.outputs[0], t, "cf")


def _upsample_pattern(b, n):
    """Unsqueeze(3, 5, ...) -> Expand(1, f1, 1, f2, ...) -> Reshape: nearest upsampling by (f1, f2, ...)."""
    rank = b.view.rank(n.inputs[0])
    axes = b.const(n.inputs[1]) if len(n.inputs) > 1 else None
    if n.op_type != "Unsqueeze" or rank is None or axes is None or rank < 3:
        return None
    nd = rank - 2
    if sorted(int(a) for a in axes.reshape(-1)) != [3 + 2 * i for i in range(nd)]:
        return None
    users = b.view.consumers.get(n.outputs[0], [])
    if len(users) != 1 or users[0].op_type != "Expand" or b.view.is_output(n.outputs[0]):
        return None
    ex = users[0]
    target = b.const(ex.inputs[1])
    users2 = b.view.consumers.get(ex.outputs[0], [])
    if target is None or len(users2) != 1 or users2[0].op_type != "Reshape" or b.view.is_output(ex.outputs[0]):
        return None
    target = [int(t) for t in target.reshape(-1)]
    if len(target) != 2 + 2 * nd or target[:2] != [1, 1] or any(target[2 + 2 * i] != 1 for i in range(nd)):
        return None
    factors = [target[3 + 2 * i] for i in range(nd)]
    rs = users2[0]
    in_shape, out_shape = b.view.shape(n.inputs[0]), b.view.shape(rs.outputs[0])
    if in_shape is None or out_shape is None or len(out_shape) != rank or any(
            i is None or o is None or o != i * f for i, o, f in zip(in_shape[2:], out_shape[2:], factors)):
        return None
    return factors, ex, rs


@op("Expand")
def expand(b, n):
    raise UnsupportedNodeError(n, "Expand is only supported as part of a nearest-neighbour upscale", TARGET)


@op("Squeeze", "Unsqueeze", attrs=("axes",))
def squeeze(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    pattern = _upsample_pattern(b, n)
    if pattern is not None:
        factors, ex, rs = pattern
        b.skip.update({ex.index, rs.index})
        L, nd = b.keras.layers, len(factors)
        layout = "cl" if nd == 1 else b.pref  # UpSampling1D only knows (N, steps, C)
        x = b.get(n.inputs[0], n, layout)
        if nd == 1:
            y = b.layer(n, L.UpSampling1D(factors[0], name=b.lname(n, "upsampling")), x)
        elif nd == 2:
            y = b.layer(n, L.UpSampling2D(tuple(factors), data_format=b.fmt(layout), interpolation="nearest",
                                          name=b.lname(n, "upsampling")), x)
        else:
            y = b.layer(n, L.UpSampling3D(tuple(factors), data_format=b.fmt(layout), name=b.lname(n, "upsampling")), x)
        b.put(rs.outputs[0], y, layout)
        return
    target = _target_shape(b, n, n.outputs[0])
    axes = b.const(n.inputs[1]) if len(n.inputs) > 1 else np.array(n.attr("axes") or [])
    if axes is None or 0 in [a % (b.rank(n.outputs[0] if n.op_type == "Unsqueeze" else n.inputs[0], n))
                             for a in axes.reshape(-1).tolist()]:
        raise UnsupportedNodeError(n, "squeezing/unsqueezing the batch axis is not supported", TARGET)
    t = b.layer(n, b.keras.layers.Reshape(target, name=b.lname(n, n.op_type.lower())), b.get(n.inputs[0], n, "cf"))
    b.put(n.outputs[0], t, "cf")


@op("Concat", attrs=("axis",))
def concat(b, n):
    if any(i in b.shape_only or b.const(i) is not None for i in n.inputs):
        if all(i in b.shape_only or b.const(i) is not None for i in n.inputs):
            b.shape_only.add(n.outputs[0])
            return
        raise UnsupportedNodeError(n, "concatenating constants is not supported", TARGET)
    rank = b.rank(n.inputs[0], n)
    layout = b.layout_of(n.inputs[0])
    xs = [b.get(i, n, layout) for i in n.inputs]
    layer = b.keras.layers.Concatenate(axis=b.axis(n.attr("axis"), rank, layout), name=b.lname(n, "concat"))
    b.put(n.outputs[0], b.layer(n, layer, *xs), layout)


@op("Shape", attrs=("start", "end"))
def shape_(b, n):
    b.shape_only.add(n.outputs[0])


@op("Gather", attrs=("axis",))
def gather(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    idx = b.const(n.inputs[1])
    rank = b.rank(n.inputs[0], n)
    axis = n.attr("axis", 0)
    axis = axis + rank if axis < 0 else axis
    if idx is None or idx.ndim != 1 or idx.size != 1 or axis == 0:
        raise UnsupportedNodeError(n, "only Gather of one constant index on a non-batch axis is supported", TARGET)
    from .keras_layers import SliceAxis

    shape = b.view.shape(n.inputs[0])
    i = int(idx[0])
    if i < 0:
        if shape is None or shape[axis] is None:
            raise UnsupportedNodeError(n, "a negative index needs a static size", TARGET)
        i += shape[axis]
    layout = b.layout_of(n.inputs[0])
    layer = SliceAxis(b.axis(axis, rank, layout), i, i + 1, name=b.lname(n, "gather"))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n)), layout)


@op("Cast", attrs=("to", "saturate", "round_mode"))
def cast(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    raise UnsupportedNodeError(n, "Cast on tensors is not supported", TARGET)


@op("Slice", attrs=("starts", "ends", "axes"))
def slice_(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    vals = []
    for i, attr in ((1, "starts"), (2, "ends"), (3, "axes"), (4, None)):
        if len(n.inputs) > i and n.inputs[i]:
            c = b.const(n.inputs[i])
            if c is None:
                raise UnsupportedNodeError(n, f"input {i} must be a constant", TARGET)
            vals.append([int(v) for v in c.reshape(-1)])
        else:
            vals.append(list(n.attr(attr)) if attr and n.attr(attr) is not None else None)
    starts, ends, axes, steps = vals
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    shape = _static(b.view, n.inputs[0], n)
    rank = len(shape)
    if any(st != 1 for st in steps):
        from .keras_layers import SliceAxis

        layout = b.layout_of(n.inputs[0])
        y = b.get(n.inputs[0], n)
        for k, (a, s, e, st) in enumerate(zip(axes, starts, ends, steps)):
            a = a + rank if a < 0 else a
            if a == 0:
                raise UnsupportedNodeError(n, "slicing the batch axis is not supported", TARGET)
            big = 2 ** 62
            r = range(*slice(s if abs(s) < big else None, e if abs(e) < big else None, st).indices(shape[a]))
            layer = SliceAxis(b.axis(a, rank, layout), r.start, r.stop, r.step, name=b.lname(n, f"slice{k}"))
            y = b.layer(n, layer, y)
        b.put(n.outputs[0], y, layout)
        return
    crops = {}
    for a, s, e in zip(axes, starts, ends):
        a = a + rank if a < 0 else a
        if a == 0:
            raise UnsupportedNodeError(n, "slicing the batch axis is not supported", TARGET)
        d = shape[a]
        s = max(0, min(d, s + d if s < 0 else s))
        e = max(s, min(d, e + d if e < 0 else e))
        crops[a] = (s, d - e)
    if 1 in crops or rank < 3 or rank > 5:
        from .keras_layers import SliceAxis

        layout = b.layout_of(n.inputs[0])
        y = b.get(n.inputs[0], n)
        for k, (a, (s, tail)) in enumerate(sorted(crops.items())):
            layer = SliceAxis(b.axis(a, rank, layout), s, shape[a] - tail, name=b.lname(n, f"slice{k}"))
            y = b.layer(n, layer, y)
        b.put(n.outputs[0], y, layout)
        return
    nd = rank - 2
    crop = tuple(crops.get(a, (0, 0)) for a in range(2, rank))
    layout = b.pref
    x = b.get(n.inputs[0], n, layout)
    L = b.keras.layers
    if nd == 1:
        y = _crop1d(b, n, x, layout, crop[0])
    elif nd in (2, 3):
        y = b.layer(n, getattr(L, f"Cropping{nd}D")(crop, data_format=b.fmt(layout), name=b.lname(n, "crop")), x)
    else:
        raise UnsupportedNodeError(n, f"slicing a rank-{rank} tensor is not supported", TARGET)
    b.put(n.outputs[0], y, layout)


@op("Identity")
def identity(b, n):
    if n.inputs[0] in b.shape_only:
        b.shape_only.add(n.outputs[0])
        return
    v = b.vals.get(n.inputs[0])
    if v is None:
        b.get(n.inputs[0], n)
    b.vals[n.outputs[0]] = v


@op("Dropout", attrs=("seed",))
def dropout(b, n):
    if (len(n.inputs) > 2 and n.inputs[2]) or (len(n.outputs) > 1 and n.outputs[1]):
        raise UnsupportedNodeError(n, "Dropout training_mode / mask are not supported", TARGET)
    identity(b, n)


@op("Pad", attrs=("mode",))
def pad(b, n):
    mode = n.attr("mode", "constant")
    pads = b.const(n.inputs[1])
    if pads is None or (len(n.inputs) > 3 and n.inputs[3]):
        raise UnsupportedNodeError(n, "pads must be a constant (and axes absent)", TARGET)
    value = 0.0
    if len(n.inputs) > 2 and n.inputs[2]:
        v = b.const(n.inputs[2])
        if v is None:
            raise UnsupportedNodeError(n, "constant_value must be a constant", TARGET)
        value = float_literal(v.reshape(()).item())
    rank = b.rank(n.inputs[0], n)
    begins, ends = [int(p) for p in pads[:rank]], [int(p) for p in pads[rank:]]
    if begins[0] or ends[0] or min(begins + ends) < 0:
        raise UnsupportedNodeError(n, "padding the batch axis or negative pads are not supported", TARGET)
    if mode not in ("constant", "reflect", "edge"):
        raise UnsupportedNodeError(n, f"mode={mode!r} is not supported", TARGET)
    layout = b.pref if rank >= 3 else "cf"
    x = b.get(n.inputs[0], n, layout)
    if mode == "constant" and value == 0.0 and not begins[1] and not ends[1] and 3 <= rank <= 5:
        b.put(n.outputs[0], _zero_pad(b, n, x, layout, begins[2:], ends[2:], suffix="zeropad"), layout)
        return
    from .keras_layers import Pad

    held = list(zip(begins, ends))[1:]
    if layout == "cl" and rank >= 3:
        held = held[1:] + held[:1]
    b.put(n.outputs[0], b.layer(n, Pad(held, mode, value, name=b.lname(n)), x), layout)


@op("Resize", attrs=("mode", "coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a",
                     "exclude_outside", "extrapolation_value", "antialias", "axes", "keep_aspect_ratio_policy"))
def resize(b, n):
    from .torch_codegen import resize_factors

    factors = resize_factors(b.view, n, TARGET)
    nd = len(factors)
    layout = "cl" if nd == 1 else b.pref
    x = b.get(n.inputs[0], n, layout)
    L = b.keras.layers
    if nd == 1:
        y = b.layer(n, L.UpSampling1D(factors[0], name=b.lname(n)), x)
    elif nd == 2:
        y = b.layer(n, L.UpSampling2D(tuple(factors), data_format=b.fmt(layout), interpolation="nearest",
                                      name=b.lname(n)), x)
    else:
        y = b.layer(n, L.UpSampling3D(tuple(factors), data_format=b.fmt(layout), name=b.lname(n)), x)
    b.put(n.outputs[0], y, layout)


# -- driver ---------------------------------------------------------------------------------------------------------------

def build(view, data_format="channels_last", name="lasagne"):
    """A ``keras.Model`` computing the ONNX graph.  Returns ``(model, info)``; ``info['custom_layers']``
    lists the lasagne2onnx layers it needed (empty: only Keras built-ins)."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be channels_last or channels_first, not {data_format!r}")
    b = Builder(view, data_format)
    keras = b.keras
    inputs = []
    for name_ in view.inputs:
        shape = view.shape(name_)
        if shape is None:
            raise onnx_reader.OnnxInputError(f"graph input {name_!r} has no shape")
        layout = b.pref if len(shape) >= 3 else "cf"
        dims = list(shape[1:])
        if layout == "cl":
            dims = dims[1:] + dims[:1]
        t = keras.Input(shape=tuple(dims), name=identifier(name_, b.names), dtype="float32")
        inputs.append(t)
        b.put(name_, t, layout)
    for n in view.nodes:
        if n.index in b.skip:
            continue
        REGISTRY.lookup(n)(b, n)
    outputs, layouts = [], []
    for o in view.outputs:
        if o not in b.vals:
            raise onnx_reader.OnnxInputError(f"graph output {o!r} is not produced as a tensor")
        v = b.vals[o]
        if v.perm is not None:
            raise onnx_reader.OnnxInputError(f"internal: output {o!r} is a permuted flatten")
        want = b.pref if len(v.t.shape) >= 3 else "cf"
        outputs.append(b.get(o, None, want) if v.layout != want else v.t)
        layouts.append(want)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                        name=identifier(name, set()))
    return model, {"custom_layers": sorted(b.custom), "input_layouts": [b.layout_of(i) for i in view.inputs],
                   "output_layouts": layouts}


def to_keras_layout(array, layout):
    """ONNX-order array -> what the Keras model takes/returns in ``layout`` ('cl' moves axis 1 last)."""
    array = np.asarray(array)
    if layout != "cl" or array.ndim < 3:
        return array
    return np.transpose(array, (0,) + tuple(range(2, array.ndim)) + (1,))


def from_keras_layout(array, layout):
    array = np.asarray(array)
    if layout != "cl" or array.ndim < 3:
        return array
    return np.transpose(array, (0, array.ndim - 1) + tuple(range(1, array.ndim - 1)))
