"""A working copy of an ONNX model for the ONNX-level optimisation passes.

ONNX passes have the signature ``(model, payloads=None) -> (model, payloads)``: ``payloads`` holds the
arrays of a *detached* model's large initializers (see :mod:`exporter.model_io`); an ordinary
self-contained model passes ``None``.  Arguments are never modified.  :class:`Rewriter` gives the
passes what they share: constant lookup (inline or detached), the producer and the consumers of a
value, new initializers, and the bookkeeping of the Lasagne layer map kept in the model's metadata (a
layer whose value is renamed follows it; a layer whose value is fused away maps to ``None``).

Lookups are dictionary lookups, kept up to date as the passes edit (as onnx-ir's ``Value.producer()``
and ``Value.uses()`` are): a pass that visits every node costs time linear in the graph, however many
rewrites it makes.  While a rewriter is open its nodes live in the rewriter (iterate :meth:`nodes`,
edit inputs and outputs through :meth:`set_inputs`, :meth:`set_output`, :meth:`rename_value`,
:meth:`remove_node`); :meth:`finish` writes them back in their original order.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import numpy_helper

from exporter import metadata, model_io

class Rewriter:
    def __init__(self, model: onnx.ModelProto, payloads: dict | None):
        self.model = onnx.ModelProto()
        self.model.CopyFrom(model)
        self.detached = payloads is not None
        self.payloads = dict(payloads or {})
        self.graph = self.model.graph
        self.renamed = {}  # old value name -> new value name
        self._nodes = {}  # id(node) -> node, in graph order (removal keeps the order of the rest)
        self._producer = {}  # value name -> the node producing it
        self._uses = {}  # value name -> {id(node): node} of the nodes reading it
        for node in list(self.graph.node):
            self._nodes[id(node)] = node
            self._index(node)
        del self.graph.node[:]  # the nodes held above stay valid (detached), and are written back by finish()
        self._order = {key: i for i, key in enumerate(self._nodes)}
        self._initializers = {t.name: t for t in self.graph.initializer}
        self._inputs = {i.name for i in self.graph.input}
        self._outputs = {o.name for o in self.graph.output}
        self._ranks = {}
        for vi in list(self.graph.input) + list(self.graph.value_info) + list(self.graph.output):
            if vi.name not in self._ranks and vi.type.tensor_type.HasField("shape"):
                self._ranks[vi.name] = len(vi.type.tensor_type.shape.dim)

    def _index(self, node):
        for v in node.input:
            if v:
                self._uses.setdefault(v, {})[id(node)] = node
        for v in node.output:
            if v:
                self._producer[v] = node

    def _unindex_inputs(self, node):
        for v in node.input:
            users = self._uses.get(v)
            if users is not None:
                users.pop(id(node), None)
                if not users:
                    del self._uses[v]

    # -- lookups ------------------------------------------------------------------------------------
    def nodes(self):
        """The live nodes in graph order (a snapshot: editing while iterating is fine; a node removed
        meanwhile is skipped)."""
        for node in list(self._nodes.values()):
            if id(node) in self._nodes:
                yield node

    def initializer(self, name):
        return self._initializers.get(name)

    def const(self, name) -> np.ndarray | None:
        """The value of an initializer (None if ``name`` is not a constant)."""
        t = self.initializer(name)
        if t is None:
            return None
        if model_io.is_placeholder(t):
            return self.payloads[t.name]
        return numpy_helper.to_array(t)

    def consumers(self, value: str) -> list:
        """The nodes reading ``value``, in graph order."""
        return sorted(self._uses.get(value, {}).values(), key=lambda n: self._order[id(n)])

    def rank(self, value: str) -> int | None:
        """The rank of ``value`` from the graph's inputs/value_info/outputs (None if unknown)."""
        return self._ranks.get(value)

    def graph_outputs(self) -> frozenset:
        return frozenset(self._outputs)

    def producer(self, value: str):
        return self._producer.get(value)

    def only_consumer(self, value: str):
        """The single node reading ``value``, if exactly one does and it is not a graph output."""
        users = self._uses.get(value, {})
        if len(users) != 1 or value in self._outputs:
            return None
        return next(iter(users.values()))

    # -- edits ----------------------------------------------------------------------------------------
    def new_const(self, base: str, array: np.ndarray) -> str:
        name, k = base, 1
        while name in self._initializers or name in self._producer or name in self._inputs:
            k += 1
            name = f"{base}_{k}"
        array = model_io.payload_array(array)
        if self.detached and array.nbytes >= model_io.DETACH_MIN_BYTES:
            self.payloads[name] = array
            self.graph.initializer.append(model_io.placeholder(name, array))
        else:
            self.graph.initializer.append(numpy_helper.from_array(array, name))
        self._initializers[name] = self.graph.initializer[-1]
        return name

    def remove_node(self, node):
        del self._nodes[id(node)]
        self._unindex_inputs(node)
        for v in node.output:
            if self._producer.get(v) is node:
                del self._producer[v]

    def set_inputs(self, node, inputs):
        """``node`` now reads ``inputs``."""
        self._unindex_inputs(node)
        del node.input[:]
        node.input.extend(inputs)
        self._index(node)

    def set_output(self, node, i: int, value: str):
        """``node``'s output ``i`` is now called ``value``."""
        old = node.output[i]
        if self._producer.get(old) is node:
            del self._producer[old]
        node.output[i] = value
        self._producer[value] = node

    def rename_value(self, old: str, new: str):
        """Every use and production of ``old`` now says ``new``."""
        users = self._uses.pop(old, {})
        for node in users.values():
            for i, v in enumerate(node.input):
                if v == old:
                    node.input[i] = new
        if users:
            self._uses.setdefault(new, {}).update(users)
        node = self._producer.pop(old, None)
        if node is not None:
            for i, v in enumerate(node.output):
                if v == old:
                    node.output[i] = new
            self._producer[new] = node
        if old in self._outputs:
            for o in self.graph.output:
                if o.name == old:
                    o.name = new
                    if o.type.tensor_type.HasField("shape"):
                        self._ranks.setdefault(new, len(o.type.tensor_type.shape.dim))
            self._outputs.discard(old)
            self._outputs.add(new)
        self.renamed[old] = new

    def finish(self):
        """Write the nodes back; drop unused initializers (and their payloads); update the layer map;
        return (model, payloads)."""
        nodes = list(self._nodes.values())
        self.graph.node.extend(nodes)
        used = set(self._uses) | self._outputs | _subgraph_inputs(nodes)
        keep = [t for t in self.graph.initializer if t.name in used]
        if len(keep) != len(self.graph.initializer):
            gone = set(self._initializers) - {t.name for t in keep}
            del self.graph.initializer[:]
            self.graph.initializer.extend(keep)
            for name in gone:
                self.payloads.pop(name, None)
        produced = set(self._producer) | self._inputs | {t.name for t in self.graph.initializer}
        if metadata.LAYER_MAP_KEY in metadata.props(self.model):
            mapping = metadata.layer_map(self.model)
            for layer, value in mapping.items():
                while value in self.renamed:
                    value = self.renamed[value]
                mapping[layer] = value if value in produced else None
            metadata.set_layer_map(self.model, mapping)
        # values keep their shapes through these rewrites; drop the entries of values that are gone
        live = [vi for vi in self.graph.value_info if vi.name in produced]
        del self.graph.value_info[:]
        self.graph.value_info.extend(live)
        self._nodes = {}
        return self.model, (self.payloads if self.detached else None)


def _subgraph_inputs(nodes) -> set:
    """Names read by the nodes of subgraphs (a Scan body may read an initializer of the outer graph)."""
    names = set()
    for node in nodes:
        for a in node.attribute:
            for g in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                names.update(v for n in g.node for v in n.input)
                names |= _subgraph_inputs(g.node)
    return names


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def per_channel(c: np.ndarray, rank: int, channels: int) -> np.ndarray | None:
    """``c`` as a vector over axis 1 of a rank-``rank`` tensor, or None if it varies along another axis."""
    if c.dtype != np.float32 or c.ndim > rank:
        return None
    shape = (1,) * (rank - c.ndim) + c.shape
    if shape[0] != 1 or any(d != 1 for d in shape[2:]) or shape[1] not in (1, channels):
        return None
    return np.broadcast_to(c.reshape(-1).astype(np.float64), (channels,))


def linear_producer(rw: Rewriter, value: str):
    """(node, W, bias or None, rank, channels, axis) when ``value`` is a plain Conv/Gemm output, or
    the output of a MatMul of a matrix by a constant matrix (a DenseLayer without bias).

    ``axis`` is the axis of W that indexes output channels.  Gemm must have alpha = beta = 1 and an
    untransposed A; W must be a constant.
    """
    node = rw.producer(value)
    if node is None or node.op_type not in ("Conv", "Gemm", "MatMul") or len(node.output) != 1:
        return None
    if node.op_type == "MatMul":
        w = rw.const(node.input[1])
        if w is None or w.dtype != np.float32 or w.ndim != 2 or rw.rank(node.input[0]) != 2:
            return None
        return node, w, None, 2, w.shape[1], 1
    w = rw.const(node.input[1])
    b = rw.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if w is None or w.dtype != np.float32 or (len(node.input) > 2 and node.input[2] and b is None):
        return None
    if node.op_type == "Conv":
        return node, w, b, w.ndim, w.shape[0], 0
    if attr(node, "alpha", 1.0) != 1.0 or attr(node, "beta", 1.0) != 1.0 or attr(node, "transA", 0):
        return None
    axis = 0 if attr(node, "transB", 0) else 1
    if b is not None and b.ndim > 2:
        return None
    return node, w, b, 2, w.shape[axis], axis


def rewrite_linear(rw: Rewriter, node, w, b, axis, scale, shift, out_value: str):
    """Replace ``node``'s W and bias by ``W * scale`` (along ``axis``) and ``b * scale + shift``;
    the node then produces ``out_value``.  Computed in float64, stored as float32."""
    shape = [1] * w.ndim
    shape[axis] = -1
    new_w = w.astype(np.float64) * scale.reshape(shape)
    base_b = np.zeros(scale.shape) if b is None else b.astype(np.float64)
    new_b = base_b * scale + shift  # the channel axis is the last axis of the bias in both ops
    if node.op_type == "Conv":
        new_b = new_b.reshape(-1)
    w_name = rw.new_const(node.input[1] + "_fused", new_w)
    b_name = rw.new_const((node.input[2] if len(node.input) > 2 and node.input[2] else node.output[0] + ".b")
                          + "_fused", new_b)
    if node.op_type == "MatMul":  # a matrix product plus a bias is a Gemm
        node.op_type = "Gemm"
    rw.set_inputs(node, list(node.input[:1]) + [w_name, b_name])
    rw.set_output(node, 0, out_value)
