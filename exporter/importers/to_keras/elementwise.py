"""Elementwise ops: arithmetic (merge layers, ``Rescaling``, ``ConstantOp``), activations, softmax, PReLU."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError, float_literal
from .builder import TARGET, onnx_op, op


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
        if n.op_type == "Div":  # no Keras layer divides two tensors
            return onnx_op(b, n)
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
    from ..keras_layers import ConstantOp

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


@op("Softmax", attrs=("axis",), since=13)
def softmax(b, n):
    """From opset 13: over the one axis ``axis`` (default -1)."""
    _softmax(b, n, n.attr("axis", -1))


def _softmax(b, n, axis):
    rank = b.rank(n.inputs[0], n)
    axis = axis + rank if axis < 0 else axis
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


# -- ops Keras has no layer for: keras_layers.OnnxOp --------------------------------------------------
_UNARY = ("Abs", "Ceil", "Floor", "Log", "Sqrt", "Neg", "Reciprocal", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan",
          "Sinh", "Cosh", "Erf", "Sign", "Round", "Not", "IsNaN")


@op(*_UNARY)
def unary(b, n):
    onnx_op(b, n)


op("Exp")(_activation(lambda L, n, name: L.Activation("exponential", name=name)))
op("Softsign")(_activation(lambda L, n, name: L.Activation("softsign", name=name)))


@op("Pow", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where")
def elementwise(b, n):
    """Elementwise ops of tensors and constants (comparisons and logic give bool tensors)."""
    onnx_op(b, n)


@op("Sum", "Mean")
def variadic(b, n):
    if len(n.inputs) == 1:
        b.get(n.inputs[0], n)  # a tensor (refuses a constant)
        b.vals[n.outputs[0]] = b.vals[n.inputs[0]]
        return
    if any(b.const(i) is not None for i in n.inputs) or len({b.rank(i, n) for i in n.inputs}) > 1:
        return onnx_op(b, n)
    layout = b.layout_of(n.inputs[0])
    cls = b.keras.layers.Add if n.op_type == "Sum" else b.keras.layers.Average
    xs = [b.get(i, n, layout) for i in n.inputs]
    b.put(n.outputs[0], b.layer(n, cls(name=b.lname(n, n.op_type.lower())), *xs), layout)


@op("Clip", since=11)
def clip(b, n):
    """From opset 11 the bounds are (optional, constant) inputs."""
    bounds = {}
    for i, key in ((1, "min"), (2, "max")):
        if len(n.inputs) > i and n.inputs[i]:
            v = b.const(n.inputs[i])
            if v is None:
                raise UnsupportedNodeError(n, "Clip bounds must be constants", TARGET)
            bounds[key] = float_literal(v.reshape(()).item())
    onnx_op(b, n, inputs=n.inputs[:1], params=bounds)


@op("HardSigmoid", attrs=("alpha", "beta"))
def hard_sigmoid(b, n):
    """max(0, min(1, alpha * x + beta)) (Keras' hard_sigmoid has fixed alpha = 1/6)."""
    onnx_op(b, n, params={"alpha": float_literal(n.attr("alpha", 0.2)), "beta": float_literal(n.attr("beta", 0.5))})


@op("LogSoftmax", attrs=("axis",), since=13)
def log_softmax(b, n):
    """From opset 13: over the one axis ``axis`` (default -1)."""
    _log_softmax(b, n, n.attr("axis", -1))


def _log_softmax(b, n, axis):
    rank = b.rank(n.inputs[0], n)
    axis = axis + rank if axis < 0 else axis
    onnx_op(b, n, params=lambda layout: {"axis": b.axis(axis, rank, layout)})
