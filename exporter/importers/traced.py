"""Traced layers in the importers' view: the ONNX nodes of one traced Lasagne layer, taken together.

A layer without a converter of its own (a custom layer, an ExpressionLayer, a traced nonlinearity...)
is exported op by op into nodes named ``<layer>/<Op>...``, and the model's metadata
``lasagne2onnx.traced`` names those layers.  :func:`split` cuts them out of an
:class:`~exporter.importers.onnx_reader.OnnxView`: each becomes a :class:`TracedLayer` with a view of
its own nodes (its inputs: the tensors it reads from the rest of the graph; its outputs: the values
the rest reads), and the outer view holds one stand-in node (op type :data:`TRACED_OP`) in its place,
so that ``to-torch`` writes the layer as one ``nn.Module`` and ``to-keras`` as one layer.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, replace

from .onnx_reader import Node, OnnxView, UnsupportedNodeError, reads

TRACED_OP = "lasagne2onnx.TracedLayer"  # the op type of the stand-in node
RECURRENT_OPS = ("LSTM", "GRU", "RNN", "Scan")


@dataclass
class TracedLayer:
    layer: str  # the Lasagne layer's name
    what: str  # what of it was traced, as the metadata says
    view: OnnxView  # its own nodes (inputs and outputs as above)
    node: Node  # its stand-in in the outer view


def layer_of(node, traced, whole=()) -> str | None:
    """The traced layer ``node`` belongs to: its name is ``<layer>/<name>`` for a layer in ``traced``
    (``conv/linear/Conv``, the convolution of a layer whose nonlinearity was traced, is not one), or
    ``<layer>/...`` for a layer in ``whole`` (all its nodes, those of its sub-layers included)."""
    prefix, sep, _ = node.name.rpartition("/")
    if sep and prefix in traced:
        return prefix
    return next((layer for layer in whole if node.name.startswith(layer + "/")), None)


def recurrent_layers(view) -> dict:
    """The Lasagne layers holding a recurrent op (LSTM, GRU, RNN, Scan) -> what :func:`split` records of them."""
    found = {}
    for n in view.nodes:
        if n.op_type in RECURRENT_OPS and n.layer and n.name.startswith(n.layer + "/"):
            found.setdefault(n.layer, f"its recurrence (ONNX {n.op_type})")
    return found


def split(view: OnnxView, whole=None):
    """``(outer view, {stand-in node index: TracedLayer})`` (the view itself and ``{}`` when nothing was traced).
    ``whole``: ``{layer: what}`` of other layers taken as one unit with all their nodes (to-keras'
    recurrent layers, whose ops move the batch axis)."""
    whole = dict(whole or {})
    traced = {**view.traced, **whole}
    members = {}
    for n in view.nodes:
        layer = layer_of(n, view.traced, whole)
        if layer is not None:
            members.setdefault(layer, []).append(n)
    if not members:
        return view, {}
    group_of = {n.index: layer for layer, nodes in members.items() for n in nodes}
    next_index = max(n.index for n in view.nodes) + 1
    found = {}
    for layer, nodes in members.items():
        produced = {o for n in nodes for o in n.outputs if o}
        inputs = list(dict.fromkeys(i for n in nodes for i in reads(n)
                                    if i not in produced and i not in view.consts))
        outputs = [o for n in nodes for o in n.outputs if o and (view.is_output(o) or any(
            group_of.get(c.index) != layer for c in view.consumers.get(o, ())))]
        consumers = {name: [c for c in users if group_of.get(c.index) == layer]
                     for name, users in view.consumers.items()}
        sub = replace(view, nodes=nodes, inputs=inputs, outputs=outputs, consumers=consumers, traced={},
                      input_dtypes={})
        stand_in = Node(name=layer, op_type=TRACED_OP, inputs=inputs, outputs=outputs, attrs={}, layer=layer,
                        index=next_index)
        next_index += 1
        found[stand_in.index] = TracedLayer(layer, traced[layer], sub, stand_in)
    outer_nodes = [n for n in view.nodes if n.index not in group_of] + [t.node for t in found.values()]
    first = {t.node.index: min(n.index for n in t.view.nodes) for t in found.values()}
    ordered = _in_order(outer_nodes, lambda n: first.get(n.index, n.index))
    if ordered is None:
        t = next(iter(found.values()))
        raise UnsupportedNodeError(t.view.nodes[0], f"the nodes of traced layer {t.layer!r} are interleaved with "
                                                    "those of other layers in a way that cannot be one module")
    consumers = {}
    for n in ordered:
        for i in reads(n):
            consumers.setdefault(i, []).append(n)
    return replace(view, nodes=ordered, consumers=consumers), found


def _in_order(nodes, key):
    """``nodes`` in an order where every value is produced before it is read, as close to ``key``'s as
    can be (Kahn's algorithm, smallest key first), or None when they form a cycle."""
    producer = {o: n.index for n in nodes for o in n.outputs if o}
    by_index = {n.index: n for n in nodes}
    waiting = {n.index: {producer[i] for i in n.inputs if i in producer} - {n.index} for n in nodes}
    readers = {}
    for index, needs in waiting.items():
        for p in needs:
            readers.setdefault(p, []).append(index)
    ready = [(key(n), n.index) for n in nodes if not waiting[n.index]]
    heapq.heapify(ready)
    ordered = []
    while ready:
        _, index = heapq.heappop(ready)
        ordered.append(by_index[index])
        for r in readers.get(index, ()):
            waiting[r].discard(index)
            if not waiting[r]:
                heapq.heappush(ready, (key(by_index[r]), r))
    return ordered if len(ordered) == len(nodes) else None
