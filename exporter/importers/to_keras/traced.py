"""Traced layers (custom computation exported op by op) as one Keras layer each: a
:class:`~exporter.importers.keras_layers.TracedLayer` holding the layer's ONNX ops, which it evaluates
with keras.ops in the graph's order (its int constants in its config, the others as its weights).  An
op with no exact keras.ops form refuses the model, naming it.  The ops traced code alone emits
(Range, ScatterND, CumSum, the bitwise ops) are imported the same way wherever they appear."""
from __future__ import annotations

import numpy as np

from ..onnx_reader import UnsupportedNodeError, identifier
from ..traced import TracedLayer as Traced
from .builder import REFUSED, TARGET, op

_ALONE = ("Range", "ScatterND", "CumSum", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot")
_AXES_ATTRIBUTE = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                   "ReduceSumSquare", "ReduceLogSumExp", "Squeeze", "Unsqueeze")
# what each op's attributes may be (the interpreter's keyword arguments; others refuse the node)
_ATTRS = {"Cast": ("to", "saturate", "round_mode"), "Softmax": ("axis",), "LogSoftmax": ("axis",),
          "Concat": ("axis",), "Gather": ("axis",), "Transpose": ("perm",), "Flatten": ("axis",),
          "Shape": ("start", "end"), "Reshape": ("allowzero",), "LeakyRelu": ("alpha",), "Elu": ("alpha",),
          "HardSigmoid": ("alpha", "beta"), "IsInf": ("detect_negative", "detect_positive"),
          "Gemm": ("alpha", "beta", "transA", "transB"), "ScatterND": ("reduction",),
          "CumSum": ("exclusive", "reverse"), "ArgMax": ("axis", "keepdims", "select_last_index"),
          "ArgMin": ("axis", "keepdims", "select_last_index"),
          "Conv": ("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"),
          "ConvTranspose": ("kernel_shape", "strides", "pads", "dilations", "group", "auto_pad", "output_padding",
                            "output_shape"),
          **{pool: ("kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad", "dilations", "storage_order",
                    "auto_pad") for pool in ("MaxPool", "AveragePool")},
          **{r: ("axes", "keepdims", "noop_with_empty_axes") for r in _AXES_ATTRIBUTE[:9]},
          "Squeeze": ("axes",), "Unsqueeze": ("axes",)}


def _traced_ops():
    from ..keras_layers import TRACED_OPS

    return TRACED_OPS


def refusal(n) -> str | None:
    """Why the node ``n`` cannot be evaluated exactly in a traced layer, or None."""
    if n.op_type not in _traced_ops():
        reason = REFUSED.get(n.op_type, "it has no exact keras.ops form here")
        return f"op {n.op_type} is not supported ({reason})"
    unknown = sorted(set(n.attrs) - set(_ATTRS.get(n.op_type, ())))
    if unknown:
        return f"attribute(s) {', '.join(unknown)} not supported"
    if n.op_type == "Conv" and (n.attr("group", 1) != 1 or n.attr("auto_pad", "NOTSET") not in ("NOTSET", "")):
        return "only Conv with group=1 and explicit pads is supported"
    if n.op_type == "ConvTranspose" and (
            n.attr("group", 1) != 1 or n.attr("auto_pad", "NOTSET") not in ("NOTSET", "")
            or n.attr("output_shape") is not None
            or (any(s != 1 for s in n.attr("strides") or []) and any(d != 1 for d in n.attr("dilations") or []))):
        return "only ConvTranspose with group=1, explicit pads, no output_shape, and strides or dilations (not both)"
    if n.op_type in ("MaxPool", "AveragePool"):
        if n.attr("auto_pad", "NOTSET") not in ("NOTSET", "") or n.attr("storage_order", 0) \
                or any(d != 1 for d in n.attr("dilations") or []) or (len(n.outputs) > 1 and n.outputs[1]):
            return "only pooling with explicit pads, without dilations or indices, is supported"
    if n.op_type == "ScatterND" and n.attr("reduction", "none") != "none":
        return f"reduction={n.attr('reduction')!r} is not supported"
    if n.op_type == "Cast" and (n.attr("saturate", 1) != 1 or n.attr("round_mode", "up") != "up"):
        return "saturate / round_mode (float8 casts) are not supported"
    return None


def check(t: Traced):
    """Refuse (UnsupportedNodeError) a traced layer holding a node the interpreter cannot evaluate."""
    for n in t.view.nodes:
        problem = refusal(n)
        if problem:
            raise UnsupportedNodeError(n, problem, TARGET)


def _attrs(n, literals):
    """The node's attributes as the interpreter takes them (JSON values; Cast's ``to`` a dtype name)."""
    from onnx import helper

    attrs = {k: v for k, v in n.attrs.items() if not (n.op_type in _AXES_ATTRIBUTE and k == "axes")}
    if n.op_type == "Cast":
        attrs = {"to": np.dtype(helper.tensor_dtype_to_np_dtype(n.attr("to"))).name}
    inputs = list(n.inputs)
    if n.op_type in _AXES_ATTRIBUTE and n.attr("axes") is not None:  # the axes as an input, as from opset 13/18
        name = f"{n.outputs[0]}:axes"
        literals[name] = [[len(n.attr("axes"))], "int64", [int(a) for a in n.attr("axes")]]
        inputs = inputs[:1] + [name]
    return inputs, attrs


def build(b, nodes, inputs, outputs, node, name):
    """One TracedLayer computing ``nodes`` from the tensors ``inputs`` to ``outputs`` (all in ONNX order)."""
    from ..keras_layers import TracedLayer

    if not inputs:
        raise UnsupportedNodeError(node, "every input is a constant", TARGET)
    literals, constants, weights, config = {}, [], [], []
    for n in nodes:
        ins, attrs = _attrs(n, literals)
        for i in ins:
            arr = b.const(i)
            if arr is None or i in literals or any(c[0] == i for c in constants):
                continue
            if arr.dtype.kind in "iub":
                literals[i] = [list(arr.shape), arr.dtype.name, arr.reshape(-1).tolist()]
            else:
                constants.append([i, list(arr.shape), arr.dtype.name, arr.ndim > 0])
                weights.append(np.array(arr, copy=True))  # (ascontiguousarray makes a scalar 1-d)
        config.append([n.op_type, ins, list(n.outputs[:1]), attrs])
    # Keras lists a layer's trainable weights before the others (scalars are held untrainable): the same order
    order = sorted(range(len(constants)), key=lambda k: not constants[k][3])
    constants, weights = [constants[k] for k in order], [weights[k] for k in order]
    specs, partial = [], []
    for o in outputs:
        shape, dtype = b.view.shape(o), b.view.dtypes.get(o)
        known = shape is not None and dtype is not None and all(d is not None for d in shape[1:])
        specs.append([list(shape[1:]), dtype] if known else None)  # None: Keras runs the layer to see
        partial.append([list(shape[1:]), dtype] if shape is not None and dtype is not None else None)
    partial = None if None in partial else partial
    layer = TracedLayer(config, inputs, outputs, literals, constants, specs, partial, name=name)
    y = b.layer(node, layer, *[b.get(i, node, "cf") for i in inputs], weights=weights or None)
    for o, t in zip(outputs, y if len(outputs) > 1 else [y]):
        b.put(o, t, "cf")
        shape = b.view.shape(o)
        if shape is None or any(d is None for d in shape[1:]):  # Keras ran the ops: what it saw is exact
            b.view.shapes[o] = [None] + [None if d is None else int(d) for d in t.shape[1:]]


def convert(b, t: Traced):
    """The traced layer ``t`` as one Keras layer, named after it."""
    if not t.view.outputs:
        return
    suffix = "traced" if identifier(t.layer, set()) in b.names else None  # a converted part (conv/linear) has it
    build(b, t.view.nodes, t.view.inputs, t.view.outputs, t.node, b.lname(t.node, suffix))


@op(*_ALONE, attrs=("exclusive", "reverse", "reduction"))
def alone(b, n):
    """An op only traced code emits, met on its own: a traced layer of that one node."""
    problem = refusal(n)
    if problem:
        raise UnsupportedNodeError(n, problem, TARGET)
    inputs = [i for i in n.inputs if i and b.const(i) is None]
    build(b, [n], inputs, n.outputs[:1], n, b.lname(n, n.op_type.lower()))
