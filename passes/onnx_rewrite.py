"""A working copy of an ONNX model for the ONNX-level optimisation passes.

ONNX passes have the signature ``(model, payloads=None) -> (model, payloads)``: ``payloads`` holds the
arrays of a *detached* model's large initializers (see :mod:`exporter.model_io`); an ordinary
self-contained model passes ``None``.  Arguments are never modified.  :class:`Rewriter` gives the
passes what they share: constant lookup (inline or detached), consumers of a value, new
initializers, and the bookkeeping of the Lasagne layer map kept in the model's metadata (a layer
whose value is renamed follows it; a layer whose value is fused away maps to ``None``).
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
        self._unique = 0

    # -- lookups ------------------------------------------------------------------------------------
    def initializer(self, name):
        for t in self.graph.initializer:
            if t.name == name:
                return t
        return None

    def const(self, name) -> np.ndarray | None:
        """The value of an initializer (None if ``name`` is not a constant)."""
        t = self.initializer(name)
        if t is None:
            return None
        if model_io.is_placeholder(t):
            return self.payloads[t.name]
        return numpy_helper.to_array(t)

    def consumers(self, value: str) -> list:
        return [n for n in self.graph.node if value in n.input]

    def rank(self, value: str) -> int | None:
        """The rank of ``value`` from the graph's inputs/value_info/outputs (None if unknown)."""
        for vi in list(self.graph.input) + list(self.graph.value_info) + list(self.graph.output):
            if vi.name == value and vi.type.tensor_type.HasField("shape"):
                return len(vi.type.tensor_type.shape.dim)
        return None

    def graph_outputs(self) -> set:
        return {o.name for o in self.graph.output}

    def producer(self, value: str):
        for n in self.graph.node:
            if value in n.output:
                return n
        return None

    def only_consumer(self, value: str):
        """The single node reading ``value``, if exactly one does and it is not a graph output."""
        users = self.consumers(value)
        if len(users) != 1 or value in self.graph_outputs():
            return None
        return users[0]

    # -- edits ----------------------------------------------------------------------------------------
    def new_const(self, base: str, array: np.ndarray) -> str:
        names = {t.name for t in self.graph.initializer} | {v for n in self.graph.node for v in n.output}
        self._unique += 1
        name = base
        k = 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        array = model_io.payload_array(array)
        if self.detached and array.nbytes >= model_io.DETACH_MIN_BYTES:
            self.payloads[name] = array
            self.graph.initializer.append(model_io.placeholder(name, array))
        else:
            self.graph.initializer.append(numpy_helper.from_array(array, name))
        return name

    def remove_node(self, node):
        self.graph.node.remove(node)

    def rename_value(self, old: str, new: str):
        """Every use and production of ``old`` now says ``new``."""
        for n in self.graph.node:
            for i, v in enumerate(n.input):
                if v == old:
                    n.input[i] = new
            for i, v in enumerate(n.output):
                if v == old:
                    n.output[i] = new
        for o in self.graph.output:
            if o.name == old:
                o.name = new
        self.renamed[old] = new

    def finish(self):
        """Drop unused initializers (and their payloads); update the layer map; return (model, payloads)."""
        used = {v for n in self.graph.node for v in n.input} | self.graph_outputs()
        keep = [t for t in self.graph.initializer if t.name in used]
        if len(keep) != len(self.graph.initializer):
            gone = {t.name for t in self.graph.initializer} - {t.name for t in keep}
            del self.graph.initializer[:]
            self.graph.initializer.extend(keep)
            for name in gone:
                self.payloads.pop(name, None)
        produced = {v for n in self.graph.node for v in n.output} | {i.name for i in self.graph.input} \
            | {t.name for t in self.graph.initializer}
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
        return self.model, (self.payloads if self.detached else None)


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
    inputs = list(node.input[:1]) + [w_name, b_name]
    del node.input[:]
    node.input.extend(inputs)
    node.output[0] = out_value
