"""``theano.scan``: a symbolic loop, lowered to one ONNX ``Scan`` whose body is the traced step, lowered
op by op through this same table.

A ``theano.scan`` node's inputs are the sequences, the initial states, the outer values its step reads
("captured": non-sequences, parameters, values computed before the loop) and, when ``n_steps_input``,
the number of steps (an integer scalar).  Its attributes:

* ``sequence_taps``: per sequence, the taps the step reads (``[0]``: ``x[t]``; ``[-1, 0]``:
  ``x[t-1], x[t]``);
* ``fed_back``: per output of the step, whether it is fed back (its previous value is a step input,
  its initial value one of the node's inputs); only the previous value (tap -1) is read;
* ``n_steps``: a literal number of steps, or None (the sequences' length, or ``n_steps_input``);
* ``go_backwards``: the sequences are read from the end; the outputs are in the order computed;
* ``body``: the step, an expression of several outputs (one per output of the step) whose inputs, all
  of source "input", are numbered: one per sequence tap, one per fed-back output, one per captured value.

The node's value is its first output; ``theano.scan.output`` (``attrs["index"]``) reads output k of a
``theano.scan`` node: every output stacked on a new leading axis, one row per step, as Theano's.

Theano's slicing is followed exactly: for the taps of a sequence ``x``, with ``lo = min(taps, 0)`` and
``hi = max(taps, 0)``, tap k reads ``x[k - lo : len(x) - (hi - k)]``, reversed when going backwards,
then cut to the number of steps (n_steps, else the shortest sequence).  Without sequences the Scan
runs over a dummy sequence of ``n_steps`` rows.
"""
from __future__ import annotations

import numpy as np

from ..registry import lowering
from ..schema import BOOL, INT, NON_NEGATIVE, OPTIONAL_INT, STEP_GRAPH, array
from .checks import INT_DTYPES, count, rank
from .lower import ONNX_DTYPES, Lowering, Value, _lower_node, cast

SCAN_OP = "theano.scan"
OUTPUT_OP = "theano.scan.output"
_END = 2 ** 62  # Slice's "to the end"


def _layout(node_or_attrs, n_inputs):
    """(n sequences, n fed back, n captured, whether the last input is the number of steps)."""
    a = node_or_attrs
    n_seqs, n_states = len(a["sequence_taps"]), sum(a["fed_back"])
    has_steps = bool(a["n_steps_input"])
    return n_seqs, n_states, n_inputs - n_seqs - n_states - has_steps, has_steps


def check_scan(node, inputs):
    """The inputs the attributes announce, a step whose inputs and outputs have the types Theano gives
    them (a sequence's step drops its first axis; a fed-back output has its initial state's type), a
    valid step (every node of it checked as an expression's), and the node typed as its first output."""
    from .validate import expression_problem

    a = node["attrs"]
    n_seqs, n_states, n_captured, has_steps = _layout(a, len(inputs))
    if n_captured < 0:
        return (f"takes {len(inputs)} inputs, fewer than its {n_seqs} sequences, {n_states} initial states"
                + (" and number of steps" if has_steps else "") + " need")
    if not n_seqs and a["n_steps"] is None and not has_steps:
        return "has neither sequences nor a number of steps"
    if any(not taps or len(set(taps)) != len(taps) for taps in a["sequence_taps"]):
        return f"sequence taps {a['sequence_taps']} must be non-empty lists of different taps"
    seqs, inits = inputs[:n_seqs], inputs[n_seqs:n_seqs + n_states]
    captured = inputs[n_seqs + n_states:n_seqs + n_states + n_captured]
    if any(rank(s) == 0 for s in seqs):
        return "scans a 0-d sequence"
    if has_steps and (rank(inputs[-1]) != 0 or inputs[-1]["dtype"] not in INT_DTYPES):
        return "its number of steps must be an integer scalar"
    inner = [{"dtype": s["dtype"], "broadcastable": s["broadcastable"][1:], "shape": s["shape"][1:]}
             for s, taps in zip(seqs, a["sequence_taps"]) for _ in taps] + list(inits) + list(captured)
    body = a["body"]
    if len(body["outputs"]) != len(a["fed_back"]):
        return f"its step has {len(body['outputs'])} outputs, but 'fed_back' lists {len(a['fed_back'])}"
    for inp in body["inputs"]:
        if inp["source"] != "input":
            return f"its step reads the parameter {inp.get('role')!r}: a step reads parameters as its inputs"
        if inp.get("index", 0) >= len(inner):
            return f"its step reads input {inp.get('index', 0)}, but it has {len(inner)}"
        want = inner[inp.get("index", 0)]
        if inp["dtype"] != want["dtype"] or inp["broadcastable"] != list(want["broadcastable"]):
            return (f"its step input {inp['name']!r} is {inp['dtype']} {inp['broadcastable']}, but what the loop gives "
                    f"it is {want['dtype']} {list(want['broadcastable'])}")
    problem = expression_problem(body, [list(v["shape"]) for v in inner], {}, n_outputs=None)
    if problem:
        return f"its step: {problem}"
    types = {v["name"]: v for v in body["inputs"] + body["nodes"]}
    outs = [types[o] for o in body["outputs"]]
    for k, (out, init) in enumerate(zip([o for o, fb in zip(outs, a["fed_back"]) if fb], inits)):
        if out["dtype"] != init["dtype"] or out["broadcastable"] != init["broadcastable"]:
            return (f"fed-back output {k} of its step is {out['dtype']} {out['broadcastable']}, but its initial "
                    f"state is {init['dtype']} {init['broadcastable']}")
    first = outs[0]
    if node["dtype"] != first["dtype"] or node["broadcastable"][1:] != first["broadcastable"] or \
            node["ndim"] != rank(first) + 1:
        return "is not typed as its first output stacked over the steps"
    return None


def check_output(node, inputs):
    """One input, a ``theano.scan`` node with that output; typed as that output stacked over the steps."""
    problem = count(inputs, 1)
    if problem:
        return problem
    loop, k = inputs[0], node["attrs"]["index"]
    if loop.get("op") != SCAN_OP:
        return "reads a value that is not a theano.scan's"
    body = loop["attrs"]["body"]
    if k >= len(body["outputs"]):
        return f"reads output {k} of a loop with {len(body['outputs'])}"
    out = {v["name"]: v for v in body["inputs"] + body["nodes"]}[body["outputs"][k]]
    if node["dtype"] != out["dtype"] or node["broadcastable"] != [False] + list(out["broadcastable"]):
        return f"is not typed as output {k} of the loop stacked over the steps"
    return None


_ATTRS = {"sequence_taps": array(array(INT, 1)), "fed_back": array(BOOL, 1), "n_steps": OPTIONAL_INT,
          "n_steps_input": BOOL, "go_backwards": BOOL, "body": STEP_GRAPH}


@lowering(SCAN_OP, emits=("Scan", "Slice", "Shape", "Min", "Expand", "Reshape", "Cast", "Identity"),
          attrs=_ATTRS, check=check_scan)
def scan(node, g, args):
    a = node.attrs
    n_seqs, n_states, n_captured, has_steps = _layout(a, len(args))
    seqs, inits = args[:n_seqs], args[n_seqs:n_seqs + n_states]
    captured = args[n_seqs + n_states:n_seqs + n_states + n_captured]
    scope = node.scope
    scanned = []
    for x, taps in zip(seqs, a["sequence_taps"]):
        lo, hi = min(min(taps), 0), max(max(taps), 0)
        for k in taps:
            part = x if (k - lo, hi - k) == (0, 0) else g.slice(x, [k - lo], [-(hi - k) if hi > k else _END], [0], scope)
            if a["go_backwards"]:
                part = g.slice(part, [-1], [-_END], [0], scope, steps=[-1])
            scanned.append(Value(part, x.dtype, x.broadcastable, [None] + x.shape[1:]))
    steps = _steps(node, g, args[-1] if has_steps else None, scanned, scope)
    if steps is not None:
        scanned = [Value(g.slice(s, g.ints(f"{scope}.zero", [0]), steps, [0], scope), s.dtype, s.broadcastable,
                         s.shape) for s in scanned]
    dummy = not scanned
    if dummy:  # no sequence: a Scan over n_steps rows of nothing
        zeros = g.node("Expand", [g.lowering.constant(np.zeros((), "float32"), base="zero"), steps], scope)
        scanned = [Value(zeros, "float32", [False], [None])]
    body, n_outputs = _body(node, g, scanned, inits, captured, dummy)
    outs = g.node("Scan", list(inits) + scanned, scope,
                  n_outputs=n_states + n_outputs, body=body, num_scan_inputs=len(scanned))
    outs = outs if isinstance(outs, list) else [outs]
    stacked = outs[n_states:]
    g.lowering.loops[stacked[0]] = stacked
    return stacked[0]


def _steps(node, g, steps_input, scanned, scope):
    """The int64 1-d value holding the number of steps when the scanned sequences must be cut (n_steps,
    or the shortest of sequences of different lengths), else None."""
    a = node.attrs
    if steps_input is not None:
        return g.reshape(cast(g, steps_input, "int64", scope), g.ints(f"{scope}.one_value", [1]), scope)
    if a["n_steps"] is not None:
        return g.ints(f"{scope}.n_steps", [a["n_steps"]])
    lengths = {s.shape[0] for s in scanned}
    if len(scanned) < 2 or (len(lengths) == 1 and None not in lengths):
        return None
    shapes = [g.shape(s, scope, start=0, end=1) for s in scanned]
    return g.node("Min", shapes, scope)


def _body(node, g, scanned, inits, captured, dummy):
    """The ONNX body graph of the step: inputs the previous states then one step of each scanned value,
    outputs the new states then each output's step; the captured values are read from the outer graph."""
    from onnx import helper

    from ..ir import ExprGraph

    a = node.attrs
    step = node.attrs["body"]
    scope = f"{node.scope}/step"
    sub = _BodyGraph(g)
    low = Lowering(sub, node.scope)
    low.pending = g.lowering.pending  # constants of the step are initializers of the outer graph
    low.loops, low.spec = g.lowering.loops, g.lowering.spec
    sub.lowering = low

    def body_input(base, dtype, bc, shape):
        name = sub.unique(f"{scope}/{base}")
        info = helper.make_tensor_value_info(name, ONNX_DTYPES[dtype], [None] * len(bc))
        return Value(name, dtype, bc, shape), info

    seq_steps = [body_input(f"x{i}", s.dtype, s.broadcastable[1:], s.shape[1:]) for i, s in enumerate(scanned)]
    states = [body_input(f"h{i}", v.dtype, v.broadcastable, v.shape) for i, v in enumerate(inits)]
    inner = ([] if dummy else [v for v, _ in seq_steps]) + [v for v, _ in states] + list(captured)
    values = {}
    for inp in step["inputs"]:
        values[inp["name"]] = inner[inp["index"]]
    graph = ExprGraph.from_dict(step, "step", n_outputs=None)
    spec = g.lowering.spec
    for n in graph.nodes:
        values[n.name] = _lower_node(n, sub, spec, [values[i] for i in n.inputs])
    results = [values[o] for o in graph.outputs]
    out_infos, out_names = [], []

    def body_output(v, base):
        name = sub.node("Identity", [v], scope, output=sub.unique(f"{scope}/{base}"))
        out_names.append(name)
        out_infos.append(helper.make_tensor_value_info(name, ONNX_DTYPES[v.dtype], [None] * v.ndim))

    for k, (v, fb) in enumerate(zip(results, a["fed_back"])):
        if fb:
            body_output(v, f"h{k}_next")
    for k, v in enumerate(results):
        body_output(v, f"y{k}")
    body = helper.make_graph(sub.nodes, g.unique(scope), [i for _, i in states] + [i for _, i in seq_steps],
                             out_infos)
    return body, len(results)


class _BodyGraph:
    """What a lowering sees of the graph while it lowers a step: the outer graph's names (a body's values
    may not shadow the outer graph's), opset and initializers, nodes of its own."""

    def __new__(cls, parent):
        from ..onnx_graph import OnnxGraph

        class BodyGraph(OnnxGraph):
            def __init__(self):
                super().__init__({}, opset=parent.opset)
                self._names = parent._names
                self._small_ints = parent._small_ints
                self.initializers = parent.initializers

        return BodyGraph()


@lowering(OUTPUT_OP, emits=(), attrs={"index": NON_NEGATIVE}, check=check_output)
def output(node, g, args):
    loops = g.lowering.loops.get(str(args[0]))
    if loops is None or node.attrs["index"] >= len(loops):
        raise NotImplementedError(f"reads output {node.attrs['index']} of a value that is not a theano.scan's")
    return loops[node.attrs["index"]]
