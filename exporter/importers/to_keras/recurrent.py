"""A recurrent Lasagne layer exported to a native ONNX ``LSTM`` / ``GRU`` / ``RNN`` as Keras' own layer:
``keras.layers.LSTM`` (ONNX's activations f, g, h with g = h: Keras' ``recurrent_activation`` and
``activation``; no peepholes), ``keras.layers.GRU(reset_after=True)`` (ONNX's ``linear_before_reset=1``,
gates z, r, h in Keras' order, input and recurrent biases apart) or ``keras.layers.SimpleRNN``.

The layer's nodes must be what the exporter writes (exporter/layers/recurrent.py): the (batch, time,
features) input transposed to sequence first, initial states that are constants broadcast over the
batch (a :class:`~exporter.importers.keras_layers.BatchState` each, fixed: ONNX does not record
Lasagne's ``learn_init``), and outputs read as the sequence transposed back or the last state.  A ``reverse``
direction is ``go_backwards=True`` with the sequence reversed back into input order (Keras returns it in
the order it ran).  Any other layer stays one TracedLayer (:mod:`.traced`), computed exactly too.
"""
from __future__ import annotations

import numpy as np

from .. import recurrent
from ..onnx_reader import UnsupportedNodeError
from .builder import TARGET

_ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "Relu": "relu"}


def _producer(view, nodes, name):
    return next((n for n in nodes if name in n.outputs), None)


def _const_ints(view, name):
    arr = view.const(name)
    return None if arr is None else [int(v) for v in np.asarray(arr).reshape(-1)]


def _exact(p) -> bool:
    if p.op == "LSTM":
        return not p.P and p.activations[1] == p.activations[2]
    if p.op == "GRU":
        return p.linear_before_reset == 1
    return True


def _initial_state(view, nodes, name, hidden):
    """The (hidden,) vector a state broadcast over the batch holds, or None when it is another value."""
    e = _producer(view, nodes, name)
    if e is None or e.op_type != "Expand":
        return None
    arr = view.const(e.inputs[0])
    if arr is None or arr.size != hidden or arr.shape[-1] != hidden:
        return None
    return np.asarray(arr, np.float32).reshape(hidden)


def _outputs(view, nodes, outputs, p):
    """Each layer output as ``"sequence"`` (Y as (B, T, H)) or ``"last"`` (Y_h as (B, H)), or None."""
    kinds = []
    for o in outputs:
        n = _producer(view, nodes, o)
        if n is not None and n.op_type == "Transpose" and list(n.attr("perm") or []) == [1, 0, 2]:
            sq = _producer(view, nodes, n.inputs[0])
            if sq is not None and sq.op_type == "Squeeze" and sq.inputs[0] == p.Y and len(sq.inputs) > 1 \
                    and _const_ints(view, sq.inputs[1]) == [1]:
                kinds.append("sequence")
                continue
        if n is not None and n.op_type == "Squeeze" and n.inputs[0] == p.Y_h and len(n.inputs) > 1 \
                and _const_ints(view, n.inputs[1]) == [0]:
            kinds.append("last")
            continue
        return None
    return kinds


def convert(b, t) -> bool:
    """Build the recurrent layer ``t`` (a :class:`~exporter.importers.traced.TracedLayer` of its nodes) as
    Keras' own layer when it has the exporter's form and Keras computes its op exactly; False otherwise."""
    view, nodes = b.view, t.view.nodes
    rec = [n for n in nodes if n.op_type in recurrent.RECURRENT_NATIVE + ("Scan",)]
    if len(rec) != 1 or rec[0].op_type == "Scan" or len(t.view.inputs) != 1:
        return False
    n = rec[0]
    unknown = sorted(set(n.attrs) - set(recurrent.NATIVE_ATTRS))
    if unknown:
        raise UnsupportedNodeError(n, f"attribute(s) {', '.join(unknown)} not supported", TARGET)
    p = recurrent.native_parts(view, n, TARGET)
    if not _exact(p):
        return False
    tr = _producer(view, nodes, p.x)
    source = t.view.inputs[0]
    if tr is None or tr.op_type != "Transpose" or list(tr.attr("perm") or []) != [1, 0, 2] \
            or tr.inputs[0] != source or view.rank(source) != 3:
        return False
    names = [p.initial_h, p.initial_c] if p.op == "LSTM" else [p.initial_h]
    if any(names) and not all(names):
        return False
    inits = [_initial_state(view, nodes, s, p.hidden) for s in names if s]
    if any(v is None for v in inits):
        return False
    kinds = _outputs(view, nodes, t.view.outputs, p)
    if not kinds:
        return False
    return _build(b, t, p, source, inits, kinds)


def _build(b, t, p, source, inits, kinds):
    from ..keras_layers import BatchState, Reverse

    L = b.keras.layers
    node = t.node
    x = b.get(source, node, "cf")
    states = []
    for k, value in enumerate(inits):
        layer = BatchState(p.hidden, name=b.lname(node, ("hid_init", "cell_init")[k]))
        states.append(b.layer(node, layer, x, weights=[value]))
    acts = [_ACTIVATIONS[a] for a in p.activations]
    common = dict(return_sequences=True, return_state=True, go_backwards=p.reverse, name=b.lname(node))
    if p.op == "LSTM":
        order = ("i", "f", "c", "o")  # Keras' gate order
        layer = L.LSTM(p.hidden, activation=acts[1], recurrent_activation=acts[0], **common)
        weights = [np.concatenate([p.W[k].T for k in order], 1), np.concatenate([p.R[k].T for k in order], 1),
                   np.concatenate([p.Wb[k] + p.Rb[k] for k in order])]
    elif p.op == "GRU":
        order = ("z", "r", "h")  # ONNX's order, and Keras'
        layer = L.GRU(p.hidden, activation=acts[1], recurrent_activation=acts[0], reset_after=True, **common)
        weights = [np.concatenate([p.W[k].T for k in order], 1), np.concatenate([p.R[k].T for k in order], 1),
                   np.stack([np.concatenate([p.Wb[k] for k in order]), np.concatenate([p.Rb[k] for k in order])])]
    else:
        layer = L.SimpleRNN(p.hidden, activation=acts[0], **common)
        weights = [p.W["i"].T, p.R["i"].T, p.Wb["i"] + p.Rb["i"]]
    outs = layer(x, initial_state=states) if states else layer(x)
    layer.set_weights([np.ascontiguousarray(w, np.float32) for w in weights])
    seq, last = outs[0], outs[1]
    if p.reverse and "sequence" in kinds:
        seq = b.layer(node, Reverse(1, name=b.lname(node, "in_input_order")), seq)
    for o, kind in zip(t.view.outputs, kinds):
        b.put(o, seq if kind == "sequence" else last, "cf")
    return True
