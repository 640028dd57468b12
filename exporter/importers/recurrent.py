"""Recurrent nodes in the importers' view: ONNX ``Scan`` bodies as views of their own, and the native
``LSTM`` / ``GRU`` / ``RNN`` ops read into weights both importers map (nothing here knows PyTorch or Keras).

* :func:`scan_parts` reads a ``Scan`` node: its body subgraph becomes an
  :class:`~exporter.importers.onnx_reader.OnnxView` (constants folded, shapes inferred) that the importer
  converts with the same op registry as the outer graph, whatever ops it holds; the body's inputs are
  its state and scan inputs, then the outer values it reads by name (ONNX's implicit inputs).
* :func:`native_parts` reads an ``LSTM`` / ``GRU`` / ``RNN`` node into per-gate weight matrices in the
  ONNX op's own terms (one direction, sequence first), refusing any attribute or input whose semantics
  the importers do not reproduce.
* :func:`native_as_scan` writes the same node as a ``Scan`` of its step (ONNX's formulas node for
  node), for the forms no framework layer computes (an LSTM with peepholes or a ``Relu`` output, ...):
  the importers then convert it like any other Scan.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .onnx_reader import Node, UnsupportedNodeError, _outer_reads, view as make_view

RECURRENT_NATIVE = ("LSTM", "GRU", "RNN")
SCAN_ATTRS = ("body", "num_scan_inputs", "scan_input_directions", "scan_output_directions", "scan_input_axes",
              "scan_output_axes")
NATIVE_ATTRS = ("hidden_size", "direction", "activations", "linear_before_reset", "layout", "clip", "input_forget",
                "activation_alpha", "activation_beta")
ACTIVATIONS = ("Sigmoid", "Tanh", "Relu")  # what the export writes (no alpha / beta)
_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}
GATES = {"LSTM": ("i", "o", "f", "c"), "GRU": ("z", "r", "h"), "RNN": ("i",)}  # ONNX's stacking order


@dataclass
class ScanParts:
    body: object  # OnnxView of the body: inputs = states, scan inputs, then implicit outer values
    name: str  # the body graph's name (its values are named <name>/...)
    states: list  # outer values: initial states
    scanned: list  # outer values: scan inputs
    implicit: list  # outer values the body reads by name
    state_outputs: list  # outer values ('' where not used)
    scan_outputs: list
    input_directions: list  # per scan input: 1 = reverse
    output_directions: list
    input_axes: list  # per scan input / output, >= 0
    output_axes: list


def subgraph_view(view, graph, opset, node):
    """The view of a subgraph ``graph`` of ``node`` in ``view``: the outer values it reads by name are
    added as inputs (tensors) or initializers (constants).  Returns ``(OnnxView, implicit names)``."""
    import onnx
    from onnx import helper, numpy_helper

    implicit = list(dict.fromkeys(_outer_reads(graph)))
    g = onnx.GraphProto()
    g.CopyFrom(graph)
    for name in implicit:
        arr = view.const(name)
        if arr is not None:
            g.initializer.append(numpy_helper.from_array(arr, name))
            continue
        shape, dtype = view.shape(name), view.dtypes.get(name, "float32")
        if shape is None:
            raise UnsupportedNodeError(node, f"the body reads outer value {name!r}, whose rank is unknown")
        g.input.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)), shape))
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:  # best effort, as for the outer graph; a converter needing a rank says so
        pass
    sub = make_view(model)
    sub.inputs = [i.name for i in graph.input] + [i for i in implicit if view.const(i) is None]
    return sub, [i for i in implicit if view.const(i) is None]


def scan_parts(view, node, target) -> ScanParts:
    """Read the ``Scan`` node ``node`` (opset 9+ form); refuse what its attributes say that cannot hold."""
    body = node.attr("body")
    m = node.attr("num_scan_inputs")
    n_states = len(node.inputs) - m
    if body is None or m is None or m < 1 or n_states < 0:
        raise UnsupportedNodeError(node, "a Scan needs a body and num_scan_inputs of at least 1", target)
    k = len(body.output) - n_states
    if len(body.input) != n_states + m or k < 0:
        raise UnsupportedNodeError(node, f"its body has {len(body.input)} inputs and {len(body.output)} outputs for "
                                         f"{n_states} states and {m} scan inputs", target)

    def listed(key, count, what):
        values = [int(v) for v in (node.attr(key) or [0] * count)]
        if len(values) != count:
            raise UnsupportedNodeError(node, f"{key} has {len(values)} entries for {count} {what}", target)
        return values

    in_dirs = listed("scan_input_directions", m, "scan inputs")
    out_dirs = listed("scan_output_directions", k, "scan outputs")
    if any(d not in (0, 1) for d in in_dirs + out_dirs):
        raise UnsupportedNodeError(node, "scan directions must be 0 or 1", target)
    in_axes, out_axes = listed("scan_input_axes", m, "scan inputs"), listed("scan_output_axes", k, "scan outputs")
    in_axes = [a + (view.rank(x, node)) if a < 0 else a for a, x in zip(in_axes, node.inputs[n_states:])]
    if any(a < 0 for a in out_axes):
        ranks = [len(o.type.tensor_type.shape.dim) if o.type.tensor_type.HasField("shape") else None
                 for o in body.output[n_states:]]
        if any(a < 0 and r is None for a, r in zip(out_axes, ranks)):
            raise UnsupportedNodeError(node, "a negative scan_output_axes entry for an output of unknown rank", target)
        out_axes = [a + r + 1 if a < 0 else a for a, r in zip(out_axes, ranks)]
    sub, implicit = subgraph_view(view, body, view.opset, node)
    outs = list(node.outputs) + [""] * (n_states + k - len(node.outputs))
    return ScanParts(sub, body.name, list(node.inputs[:n_states]), list(node.inputs[n_states:]), implicit,
                     outs[:n_states], outs[n_states:], in_dirs, out_dirs, in_axes, out_axes)


# -- native LSTM / GRU / RNN ----------------------------------------------------------------------------------
@dataclass
class NativeParts:
    op: str  # LSTM, GRU or RNN
    hidden: int
    reverse: bool
    activations: list  # ONNX names, one per role (LSTM: f, g, h; GRU: f, g; RNN: f)
    W: dict  # gate -> (hidden, input) input weights, ONNX's gate names (GATES)
    R: dict  # gate -> (hidden, hidden) recurrent weights
    Wb: dict  # gate -> (hidden,) input bias
    Rb: dict  # gate -> (hidden,) recurrent bias
    P: dict = field(default_factory=dict)  # LSTM peepholes: i, o, f -> (hidden,); empty without
    linear_before_reset: int = 0
    x: str = ""  # outer values: the sequence (T, B, I), the initial states (1, B, H) ('' when absent)
    initial_h: str = ""
    initial_c: str = ""
    Y: str = ""  # outputs ('' when not used)
    Y_h: str = ""
    Y_c: str = ""


def native_parts(view, node, target) -> NativeParts:
    """Read an LSTM / GRU / RNN node (one direction, sequence first, constant weights); refuse the rest."""
    op = node.op_type
    a = node.attrs
    if a.get("layout", 0) != 0:
        raise UnsupportedNodeError(node, "layout=1 (batch first) is not supported", target)
    if a.get("clip") is not None:
        raise UnsupportedNodeError(node, "the clip attribute is not supported", target)
    if a.get("input_forget", 0):
        raise UnsupportedNodeError(node, "input_forget=1 is not supported", target)
    if a.get("activation_alpha") or a.get("activation_beta"):
        raise UnsupportedNodeError(node, "activation_alpha / activation_beta are not supported", target)
    direction = a.get("direction", "forward")
    if direction not in ("forward", "reverse"):
        raise UnsupportedNodeError(node, f"direction={direction!r} is not supported (only forward and reverse)", target)
    acts = list(a.get("activations") or _DEFAULT_ACTIVATIONS[op])
    if len(acts) != len(_DEFAULT_ACTIVATIONS[op]) or any(x not in ACTIVATIONS for x in acts):
        raise UnsupportedNodeError(node, f"activations {acts} are not supported (one per role, of "
                                         f"{', '.join(ACTIVATIONS)})", target)
    ins = list(node.inputs) + [""] * (8 - len(node.inputs))
    if ins[4]:
        raise UnsupportedNodeError(node, "the sequence_lens input is not supported", target)
    gates = GATES[op]
    n = len(gates)
    consts = []
    for k, what in ((1, "W"), (2, "R")):
        arr = view.const(ins[k])
        if arr is None:
            raise UnsupportedNodeError(node, f"the weight {what} (input {k}) must be a constant", target)
        consts.append(np.asarray(arr, np.float32))
    w, r = consts
    hidden = a.get("hidden_size") or r.shape[-1]
    if w.ndim != 3 or w.shape[0] != 1 or w.shape[1] != n * hidden or r.shape != (1, n * hidden, hidden):
        raise UnsupportedNodeError(node, f"weights of shapes {w.shape}, {r.shape} for hidden_size {hidden}", target)
    b = view.const(ins[3]) if ins[3] else np.zeros((1, 2 * n * hidden), np.float32)
    if b is None or b.shape != (1, 2 * n * hidden):
        raise UnsupportedNodeError(node, "the bias B (input 3) must be a constant of shape "
                                         f"(1, {2 * n * hidden})", target)
    b = np.asarray(b, np.float32)[0]
    split = lambda arr: {g: np.ascontiguousarray(arr[k * hidden:(k + 1) * hidden]) for k, g in enumerate(gates)}
    parts = NativeParts(op, int(hidden), direction == "reverse", acts, split(w[0]), split(r[0]), split(b[:n * hidden]),
                        split(b[n * hidden:]), x=ins[0], initial_h=ins[5])
    if op == "LSTM":
        parts.initial_c = ins[6]
        if ins[7]:
            p = view.const(ins[7])
            if p is None or p.shape != (1, 3 * hidden):
                raise UnsupportedNodeError(node, "the peepholes P (input 7) must be a constant of shape "
                                                 f"(1, {3 * hidden})", target)
            parts.P = {g: np.asarray(p[0, k * hidden:(k + 1) * hidden], np.float32) for k, g in enumerate("iof")}
    if op == "GRU":
        parts.linear_before_reset = int(a.get("linear_before_reset", 0))
    outs = list(node.outputs) + ["", "", ""]
    parts.Y, parts.Y_h = outs[0], outs[1]
    parts.Y_c = outs[2] if op == "LSTM" else ""
    return parts


def initial_state_shape_ok(view, name, hidden):
    """An initial state given is (1, B, hidden)."""
    s = view.shape(name)
    return s is None or (len(s) == 3 and s[0] in (1, None) and s[2] in (hidden, None))


class _Step:
    """Nodes of a step body written with onnx.helper, names prefixed by the body's name."""

    def __init__(self, prefix):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.prefix, self.nodes, self.taken = prefix, [], set()

    def name(self, what):
        """``<prefix>/<what>``, numbered from the second one on (the names become the step's variables)."""
        name, k = f"{self.prefix}/{what}", 1
        while name in self.taken:
            k += 1
            name = f"{self.prefix}/{what}_{k}"
        self.taken.add(name)
        return name

    def const(self, what, arr):
        out = self.name(what)
        self.nodes.append(self.helper.make_node("Constant", [], [out], name=out + "/Constant",
                                                value=self.numpy_helper.from_array(np.asarray(arr, np.float32), out)))
        return out

    def op(self, op_type, *inputs, name=None):
        out = self.name(name or op_type)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out + "/" + op_type))
        return out

    def linear(self, x, w, what):
        """``x @ w.T`` (w: (hidden, in))."""
        return self.op("MatMul", x, self.const(what, np.ascontiguousarray(w.T)))


def native_as_scan(view, node, p: NativeParts, target):
    """The native node ``node`` (read into ``p``) as nodes computing the same outputs with a Scan of its
    step: ``[Squeeze initial states, Scan, Unsqueeze outputs]`` (ONNX's Y is (T, 1, B, H), Y_h (1, B, H)).
    Returns the nodes; the shapes of the values they add are set in ``view``."""
    from onnx import TensorProto, helper

    h = p.hidden
    prefix = f"{node.name}.step"
    s = _Step(prefix)
    x_shape = view.shape(p.x)
    if x_shape is None or len(x_shape) != 3:
        raise UnsupportedNodeError(node, "the rank of the sequence input is unknown or not 3", target)
    states = ["h"] + (["c"] if p.op == "LSTM" else [])
    formal = {k: f"{prefix}/{k}_prev" for k in states}
    x_t = f"{prefix}/x_t"
    act = lambda k, v, name=None: s.op(p.activations[k], v, name=name)

    def pre(g, with_rb=True):
        out = s.op("Add", s.linear(x_t, p.W[g], f"W_{g}"), s.linear(formal["h"], p.R[g], f"R_{g}"))
        return s.op("Add", out, s.const(f"B_{g}", p.Wb[g] + p.Rb[g] if with_rb else p.Wb[g]))

    if p.op == "LSTM":
        def gate(g, c):
            a = pre(g)
            return s.op("Add", a, s.op("Mul", c, s.const(f"P_{g}", p.P[g]))) if p.P else a
        i = act(0, gate("i", formal["c"]), "ingate")
        f = act(0, gate("f", formal["c"]), "forgetgate")
        c = s.op("Add", s.op("Mul", f, formal["c"]), s.op("Mul", i, act(1, pre("c"), "cell_input")), name="cell")
        o = act(0, gate("o", c), "outgate")
        new = {"h": s.op("Mul", o, act(2, c), name="hid"), "c": c}
    elif p.op == "GRU":
        z, r = act(0, pre("z"), "updategate"), act(0, pre("r"), "resetgate")
        if p.linear_before_reset:
            rec = s.op("Add", s.linear(formal["h"], p.R["h"], "R_h"), s.const("Rb_h", p.Rb["h"]))
            cand = s.op("Add", s.op("Add", s.linear(x_t, p.W["h"], "W_h"), s.const("Wb_h", p.Wb["h"])),
                        s.op("Mul", r, rec))
        else:
            rec = s.op("Add", s.linear(s.op("Mul", r, formal["h"]), p.R["h"], "R_h"), s.const("Rb_h", p.Rb["h"]))
            cand = s.op("Add", s.op("Add", s.linear(x_t, p.W["h"], "W_h"), s.const("Wb_h", p.Wb["h"])), rec)
        cand = act(1, cand, "hidden_update")
        keep = s.op("Sub", s.const("one", np.float32(1)), z)
        new = {"h": s.op("Add", s.op("Mul", keep, cand), s.op("Mul", z, formal["h"]), name="hid")}
    else:
        new = {"h": act(0, pre("i"), "hid")}
    outs = [s.op("Identity", new[k], name=f"{k}_out") for k in states] + [s.op("Identity", new["h"], name="y")]
    vi = lambda name, dims: helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)
    body = helper.make_graph(s.nodes, prefix,
                             [vi(formal[k], [None, h]) for k in states] + [vi(x_t, [None, x_shape[2]])],
                             [vi(o, None) for o in outs])

    made = []
    batch = x_shape[1]

    def value(what):
        return f"{node.name}/{what}"

    def squeezed(init, what):
        if not init:
            zero = value(f"zero_{what}")
            view.consts[zero] = np.zeros((1, h), np.float32)
            view.shapes[zero] = [1, h]
            made.append(Node(value(f"{what}/Expand"), "Expand", [zero, value("batch_shape")], [value(what)], {},
                             node.layer, node.index))
            return value(what)
        if not initial_state_shape_ok(view, init, h):
            raise UnsupportedNodeError(node, f"initial state {init!r} of shape {view.shape(init)}", target)
        axes = value("axes0")
        view.consts[axes] = np.array([0], np.int64)
        view.shapes[axes] = [1]
        made.append(Node(value(f"{what}/Squeeze"), "Squeeze", [init, axes], [value(what)], {}, node.layer,
                         node.index))
        return value(what)

    inits = {"h": p.initial_h, "c": p.initial_c}
    if not all(inits[k] for k in states):  # zeros of (B, H): the batch from the sequence
        made.append(Node(value("Shape"), "Shape", [p.x], [value("shape")], {}, node.layer, node.index))
        one, two, units = value("one"), value("two"), value("units")
        for name, arr in ((one, [1]), (two, [2]), (units, [h])):
            view.consts[name] = np.array(arr, np.int64)
            view.shapes[name] = [1]
        made.append(Node(value("Slice"), "Slice", [value("shape"), one, two], [value("batch")], {}, node.layer,
                         node.index))
        made.append(Node(value("Concat"), "Concat", [value("batch"), units], [value("batch_shape")], {"axis": 0},
                         node.layer, node.index))
        view.shapes[value("shape")], view.shapes[value("batch")], view.shapes[value("batch_shape")] = [3], [1], [2]
    state_vals = [squeezed(inits[k], f"init_{k}") for k in states]
    for v in state_vals:
        view.shapes[v] = [batch, h]
    y_seq, finals = value("Y_seq"), [value(f"final_{k}") for k in states]
    d = int(p.reverse)
    made.append(Node(value("Scan"), "Scan", state_vals + [p.x], finals + [y_seq],
                     {"body": body, "num_scan_inputs": 1, "scan_input_directions": [d], "scan_output_directions": [d]},
                     node.layer, node.index))
    view.shapes[y_seq] = [x_shape[0], batch, h]
    for v in finals:
        view.shapes[v] = [batch, h]
    for out, src, axis in ((p.Y, y_seq, 1), (p.Y_h, finals[0], 0), (p.Y_c, finals[-1] if p.op == "LSTM" else "", 0)):
        if out and src:
            axes = value(f"axes{axis}")
            view.consts[axes] = np.array([axis], np.int64)
            view.shapes[axes] = [1]
            made.append(Node(value(f"{out}/Unsqueeze"), "Unsqueeze", [src, axes], [out], {}, node.layer, node.index))
    return made
