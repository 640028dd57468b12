"""Traced layers (custom computation exported op by op) as one Keras layer each: a
:class:`~exporter.importers.keras_layers.TracedLayer` holding the layer's ONNX ops, which it evaluates
with keras.ops in the graph's order (its int constants in its config, the others as its weights).  An
op with no exact keras.ops form refuses the model, naming it.  The ops traced code alone emits
(Range, ScatterND, CumSum, the bitwise ops) and a Scan body (Split) are imported the same way wherever
they appear.  A recurrent Lasagne layer (its nodes hold LSTM, GRU, RNN or Scan) is one such layer too: its
Transposes move the batch axis, and the interpreter runs a Scan with keras.ops.scan, a native op as the Scan
of its step (:func:`exporter.importers.recurrent.native_as_scan`)."""
from __future__ import annotations

import numpy as np

from .. import recurrent
from ..onnx_reader import UnsupportedNodeError, identifier, reads, split_sizes
from ..recurrent import SCAN_ATTRS
from ..traced import TracedLayer as Traced
from . import recurrent as recurrent_layers
from .builder import REFUSED, TARGET, op

_ALONE = ("Range", "ScatterND", "CumSum", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "Split")
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
          "Squeeze": ("axes",), "Unsqueeze": ("axes",), "Split": ("axis", "num_outputs"),
          "Scan": SCAN_ATTRS}


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
    check_nodes(t.view, without_native(t.view, t.view.nodes))


def check_nodes(view, nodes):
    for n in nodes:
        problem = refusal(n)
        if problem:
            raise UnsupportedNodeError(n, problem, TARGET)
        if n.op_type == "Scan":
            body = recurrent.scan_parts(view, n, TARGET).body
            check_nodes(body, body.nodes)


def without_native(view, nodes):
    """``nodes`` with each LSTM / GRU / RNN node written as the Scan of its step (the interpreter runs Scan)."""
    out = []
    for n in nodes:
        if n.op_type in recurrent.RECURRENT_NATIVE:
            unknown = sorted(set(n.attrs) - set(recurrent.NATIVE_ATTRS))
            if unknown:
                raise UnsupportedNodeError(n, f"attribute(s) {', '.join(unknown)} not supported", TARGET)
            out += recurrent.native_as_scan(view, n, recurrent.native_parts(view, n, TARGET), TARGET)
        else:
            out.append(n)
    return out


def _attrs(n, literals, view=None, constants=None, weights=None):
    """The node's attributes as the interpreter takes them (JSON values; Cast's ``to`` a dtype name; a
    Split's sizes; a Scan's body as nodes of its own, its constants added to ``literals`` / ``constants``)."""
    from onnx import helper

    attrs = {k: v for k, v in n.attrs.items() if not (n.op_type in _AXES_ATTRIBUTE and k == "axes")}
    if n.op_type == "Cast":
        attrs = {"to": np.dtype(helper.tensor_dtype_to_np_dtype(n.attr("to"))).name}
    if n.op_type == "Split":
        axis, sizes = split_sizes(view, n, TARGET)
        return list(n.inputs[:1]), {"axis": axis, "sizes": sizes}
    if n.op_type == "Scan":
        p = recurrent.scan_parts(view, n, TARGET)
        body = _nodes_config(p.body, without_native(p.body, p.body.nodes), literals, constants, weights)
        outputs = [o.name for o in n.attrs["body"].output]
        return list(n.inputs), {"body": {"nodes": body, "inputs": list(p.body.inputs), "outputs": outputs},
                                "num_states": len(p.states), "input_directions": p.input_directions,
                                "output_directions": p.output_directions, "input_axes": p.input_axes,
                                "output_axes": p.output_axes}
    inputs = list(n.inputs)
    if n.op_type in _AXES_ATTRIBUTE and n.attr("axes") is not None:  # the axes as an input, as from opset 13/18
        name = f"{n.outputs[0]}:axes"
        literals[name] = [[len(n.attr("axes"))], "int64", [int(a) for a in n.attr("axes")]]
        inputs = inputs[:1] + [name]
    return inputs, attrs


def _nodes_config(view, nodes, literals, constants, weights):
    """The interpreter's ``[op, inputs, outputs, attributes]`` of ``nodes``; the constants they read are
    added to ``literals`` (int, bool) or ``constants`` and ``weights`` (the others)."""
    config = []
    for n in nodes:
        ins, attrs = _attrs(n, literals, view, constants, weights)
        for i in ins:
            arr = view.const(i)
            if arr is None or i in literals or any(c[0] == i for c in constants):
                continue
            if arr.dtype.kind in "iub":
                literals[i] = [list(arr.shape), arr.dtype.name, arr.reshape(-1).tolist()]
            else:
                constants.append([i, list(arr.shape), arr.dtype.name, arr.ndim > 0])
                weights.append(np.array(arr, copy=True))  # (ascontiguousarray makes a scalar 1-d)
        outs = list(n.outputs) if n.op_type in ("Split", "Scan") else list(n.outputs[:1])
        config.append([n.op_type, ins, outs, attrs])
    return config


def build(b, nodes, inputs, outputs, node, name):
    """One TracedLayer computing ``nodes`` from the tensors ``inputs`` to ``outputs`` (all in ONNX order)."""
    from ..keras_layers import TracedLayer

    if not inputs:
        raise UnsupportedNodeError(node, "every input is a constant", TARGET)
    literals, constants, weights = {}, [], []
    config = _nodes_config(b.view, nodes, literals, constants, weights)
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
    if any(n.op_type in recurrent.RECURRENT_NATIVE for n in t.view.nodes) and recurrent_layers.convert(b, t):
        return  # Keras' own LSTM / GRU / SimpleRNN
    suffix = "traced" if identifier(t.layer, set()) in b.names else None  # a converted part (conv/linear) has it
    build(b, without_native(b.view, t.view.nodes), t.view.inputs, t.view.outputs, t.node, b.lname(t.node, suffix))


@op(*recurrent.RECURRENT_NATIVE, "Scan", attrs=recurrent.NATIVE_ATTRS + SCAN_ATTRS)
def recurrence(b, n):
    """A recurrent op outside a recurrent Lasagne layer's nodes (those are one layer: :func:`convert`): one
    TracedLayer of that node (a native one as the Scan of its step)."""
    nodes = without_native(b.view, [n])
    check_nodes(b.view, nodes)
    inputs = list(dict.fromkeys(i for m in nodes for i in reads(m) if b.const(i) is None
                                and not any(i in k.outputs for k in nodes)))
    outputs = [o for o in n.outputs if o]
    build(b, nodes, inputs, outputs, n, b.lname(n, n.op_type.lower()))


@op(*_ALONE, attrs=("exclusive", "reverse", "reduction", "axis", "num_outputs"))
def alone(b, n):
    """An op only traced code or a Scan body emits, met on its own: a traced layer of that one node."""
    problem = refusal(n)
    if problem:
        raise UnsupportedNodeError(n, problem, TARGET)
    inputs = [i for i in n.inputs if i and b.const(i) is None]
    outputs = [o for o in n.outputs if o] if n.op_type == "Split" else n.outputs[:1]
    build(b, [n], inputs, outputs, n, b.lname(n, n.op_type.lower()))
