"""A read-only view of an ONNX model for the importers.

Both importers (PyTorch source generation and the Keras builder) walk the same view: the nodes in
topological order with their attributes as Python values, the constants (initializers, ``Constant``
nodes and everything computable from them alone), value shapes from ONNX shape inference, and the
Lasagne layer each node came from (node names are ``<layer>/<Op>`` and the model's metadata prop
``lasagne2onnx.layers`` maps Lasagne layer names to ONNX values).

Nothing here knows PyTorch or Keras.  Converters for one op family are registered in a
:class:`OpRegistry` with the attributes they understand; an attribute they do not declare is an
error naming the node, never silently dropped.
"""
from __future__ import annotations

import keyword
import os
import re
from dataclasses import dataclass, field

import numpy as np

from .. import metadata
from ..errors import ExportError, UnsupportedNodeError  # noqa: F401  (the importers raise it from here)
from ..registry import FIRST_OPSET, VersionedTable
from . import symbolic_shapes
from .fold import fold_constants


class OnnxInputError(ExportError):
    """The ONNX file is missing, unreadable or not a valid model."""


@dataclass
class Node:
    name: str
    op_type: str
    inputs: list  # value names ('' for an omitted optional input)
    outputs: list
    attrs: dict
    layer: str | None = None  # Lasagne layer name, when the node came from lasagne2onnx
    index: int = 0

    def attr(self, key, default=None):
        return self.attrs.get(key, default)


@dataclass
class OnnxView:
    nodes: list
    inputs: list  # graph input value names (initializers excluded)
    outputs: list
    consts: dict  # value name -> np.ndarray
    shapes: dict  # value name -> list of int|None (None: unknown/symbolic), absent when rank unknown
    layer_map: dict  # Lasagne layer name -> ONNX value name
    opset: int
    producer: str = ""
    folded_layers: list = field(default_factory=list)  # layers whose own output export --optimize fused away
    consumers: dict = field(default_factory=dict)  # value name -> [Node]
    input_dtypes: dict = field(default_factory=dict)  # graph input name -> numpy dtype name (float32 unless integer)
    traced: dict = field(default_factory=dict)  # traced Lasagne layer -> what of it was traced (the metadata)
    dtypes: dict = field(default_factory=dict)  # value name -> numpy dtype name, where shape inference gave one

    def const(self, name):
        return self.consts.get(name) if name else None

    def shape(self, name):
        return self.shapes.get(name)

    def rank(self, name, node=None):
        s = self.shapes.get(name)
        if s is None:
            if node is not None:
                raise UnsupportedNodeError(node, f"the rank of value {name!r} is unknown (shape inference failed)")
            return None
        return len(s)

    def is_output(self, name):
        return name in self.outputs


def load(path_or_model) -> "OnnxView":
    """Read, check and shape-infer an ONNX model; raise :class:`OnnxInputError` for bad input."""
    import onnx

    if isinstance(path_or_model, onnx.ModelProto):
        model = path_or_model
    else:
        path = os.fspath(path_or_model)
        if not os.path.exists(path):
            raise OnnxInputError(f"{path}: ONNX file not found")
        try:
            model = onnx.load_model(path)
        except Exception as e:  # protobuf decode errors have many types
            raise OnnxInputError(f"{path}: not a readable ONNX model ({type(e).__name__}: {e})") from None
    _check_opset(model)  # before the checker, which knows newer opsets than the importers read
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise OnnxInputError(f"the ONNX model is invalid: {first}") from None
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as e:  # shape inference is best effort; converters that need a rank ask for it
        pass
    # traced code's computed shapes, and the ranks lost before a recurrent layer's sub-network (a Reshape to a
    # computed target at opset 13): what ONNX's inference left unknown, from onnxruntime's symbolic one
    refine = (bool(metadata.traced_record(model)) and symbolic_shapes.unknown_shapes(model)) or (
        any(n.op_type == "Scan" for n in model.graph.node) and symbolic_shapes.unranked(model))
    return view(model, refine=refine)


def view(model, refine=False) -> OnnxView:
    """The view of ``model``; ``refine``: fill in the shapes ONNX's inference left unknown
    (:func:`exporter.importers.symbolic_shapes.refine`)."""
    from onnx import helper, numpy_helper

    g = model.graph
    opset = _check_opset(model)
    for n in g.node:
        if n.domain not in ("", "ai.onnx"):
            raise UnsupportedNodeError(_node(n, {}, 0, None), f"custom domain {n.domain!r} is not supported")
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    init_names = set(consts)
    layer_map = metadata.layer_map(model)
    folded = metadata.folded_layers(model)
    traced = {k: w if isinstance(w, str) else "" for k, w in metadata.traced_record(model).items() if isinstance(k, str)}
    layer_names = set(layer_map)
    nodes = []
    for i, n in enumerate(g.node):
        attrs = {a.name: _attr_value(helper.get_attribute_value(a)) for a in n.attribute}
        nodes.append(_node(n, attrs, i, layer_names))
    shapes, dtypes = {}, {}
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            shapes[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
        if t.elem_type:
            dtypes[vi.name] = np.dtype(helper.tensor_dtype_to_np_dtype(t.elem_type)).name
    for name, arr in consts.items():
        shapes[name] = list(arr.shape)
    v = OnnxView(nodes=nodes, inputs=[i.name for i in g.input if i.name not in init_names],
                 outputs=[o.name for o in g.output], consts=consts, shapes=shapes, layer_map=layer_map,
                 opset=opset, producer=model.producer_name, folded_layers=folded, traced=traced, dtypes=dtypes)
    for i in g.input:
        if i.name not in init_names and i.type.tensor_type.elem_type:
            v.input_dtypes[i.name] = np.dtype(helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)).name
    fold_constants(v)
    if refine:
        symbolic_shapes.refine(v, model)
    for n in v.nodes:
        for i in reads(n):
            v.consumers.setdefault(i, []).append(n)
    return v


def reads(node) -> list:
    """The values ``node`` reads: its inputs, then the outer values its subgraphs (a Scan's body) read
    by name (ONNX's implicit inputs)."""
    found = [i for i in node.inputs if i]
    for value in node.attrs.values():
        if hasattr(value, "node") and hasattr(value, "input"):  # a GraphProto
            found += _outer_reads(value)
    return list(dict.fromkeys(found))


def _outer_reads(graph) -> list:
    from onnx import AttributeProto

    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    found = []
    for n in graph.node:
        found += [i for i in n.input if i and i not in defined]
        for a in n.attribute:
            if a.type == AttributeProto.GRAPH:
                found += [i for i in _outer_reads(a.g) if i not in defined]
        defined.update(o for o in n.output if o)
    return found


def _check_opset(model) -> int:
    """The model's ONNX opset, when the importers read its ops' forms: those of the opsets exports are
    written for (and tested at)."""
    from ..onnx_graph import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET

    opset = next((imp.version for imp in model.opset_import if imp.domain in ("", "ai.onnx")), 0)
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise OnnxInputError(f"the model uses ONNX opset {opset}; the importers read opsets {MIN_OPSET} to {MAX_OPSET} "
                             f"(export it again with --opset {DEFAULT_OPSET}, or convert it with "
                             f"onnx.version_converter)")
    return opset


def _attr_value(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, list):
        return [x.decode("utf-8") if isinstance(x, bytes) else x for x in v]
    return v


def _node(n, attrs, index, layer_names):
    layer = None
    m = re.match(r"^(.*)/" + re.escape(n.op_type) + r"(?:_\d+)?$", n.name)
    if m and layer_names is not None and (not layer_names or m.group(1) in layer_names
                                          or m.group(1).rsplit("/", 1)[0] in layer_names):
        layer = m.group(1)
    return Node(name=n.name or f"{n.op_type}_{index}", op_type=n.op_type, inputs=list(n.input),
                outputs=list(n.output), attrs=attrs, layer=layer, index=index)


# -- converter registries ----------------------------------------------------------------------------

# ops the reader itself turns into constants, before any converter runs (both importers take them)
READ_AS_CONSTANTS = {"Constant": "read as a constant by the reader"}


class OpRegistry:
    """(op type, since opset) -> converter and its declared attributes; one small function per op family.

    Entries are versioned like the exporter's converters (:class:`exporter.registry.VersionedTable`): a
    lookup takes the entry with the highest ``since`` not above the model's opset, so an op whose
    semantics changed (Softmax at 13, Clip at 11) has one entry per form.  ``refused`` names the ops
    this importer deliberately does not map, each with the reason the error gives.
    """

    def __init__(self, target: str, refused: dict | None = None):
        self.target = target
        self.table = VersionedTable(f"{target}: converter")
        self.refused = dict(refused or {})

    def register(self, *op_types, attrs=(), since: int = FIRST_OPSET):
        def deco(fn):
            for op in op_types:
                if op in self.refused:
                    raise ValueError(f"{self.target}: {op} is both refused and registered")
                self.table.add(op, fn, since, attrs=attrs)
            return fn

        return deco

    def entry(self, op_type: str, opset: int):
        """The :class:`~exporter.registry.Versioned` entry for ``op_type`` at ``opset``, or None."""
        return self.table.lookup(op_type, opset)

    def lookup(self, node, opset: int):
        entry = self.table.lookup(node.op_type, opset)
        if entry is None:
            if node.op_type in self.refused:
                detail = f"op {node.op_type} is not supported ({self.refused[node.op_type]})"
            elif node.op_type in self.table:
                first = self.table.versions(node.op_type)[0].since
                detail = f"op {node.op_type} is supported from opset {first} on (the model has opset {opset})"
            else:
                detail = f"op {node.op_type} is not supported (supported: {', '.join(self.supported())})"
            raise UnsupportedNodeError(node, detail, self.target)
        unknown = sorted(set(node.attrs) - entry.attrs)
        if unknown:
            raise UnsupportedNodeError(node, f"attribute(s) {', '.join(unknown)} not supported", self.target)
        return entry.fn

    def supported(self):
        return self.table.names()

    def require_all(self, nodes, opset: int):
        """Refuse a graph holding an op this importer has no converter for before converting anything,
        naming that op (rather than whatever earlier node first trips over what surrounds it)."""
        for node in nodes:
            if self.table.lookup(node.op_type, opset) is None:
                self.lookup(node, opset)


# -- helpers shared by the converters ---------------------------------------------------------------

def split_pads(pads, n):
    """ONNX pads (b1..bn, e1..en) -> (begins, ends)."""
    pads = list(pads) if pads else [0] * (2 * n)
    return pads[:n], pads[n:]


def split_sizes(view, node, target) -> tuple:
    """``(axis, sizes)`` of a ``Split`` node (opset 13+: sizes from the ``split`` input, else equal parts of
    a static axis: ``num_outputs`` from opset 18, the last part smaller when it does not divide)."""
    rank = view.rank(node.inputs[0], node)
    axis = node.attr("axis", 0)
    axis = axis + rank if axis < 0 else axis
    n = len(node.outputs)
    if len(node.inputs) > 1 and node.inputs[1]:
        arr = view.const(node.inputs[1])
        if arr is None:
            raise UnsupportedNodeError(node, "the split sizes (input 1) must be a constant", target)
        sizes = [int(v) for v in arr.reshape(-1)]
        if len(sizes) != n:
            raise UnsupportedNodeError(node, f"{len(sizes)} split sizes for {n} outputs", target)
        return axis, sizes
    dim = view.shape(node.inputs[0])[axis]
    if dim is None:
        raise UnsupportedNodeError(node, f"a Split of axis {axis} of unknown size", target)
    part = -(-dim // n) if node.attr("num_outputs") is not None else dim // n
    if node.attr("num_outputs") is None and dim % n:
        raise UnsupportedNodeError(node, f"axis {axis} of size {dim} does not split into {n} equal parts", target)
    sizes = [min(part, max(dim - k * part, 0)) for k in range(n)]
    return axis, sizes


def float_literal(x) -> float:
    """The shortest decimal that reads back as the same float32 (0.1, not 0.10000000149011612)."""
    return float(repr(np.float32(x)).replace("np.float32(", "").rstrip(")"))


def momentum_complement(m) -> float:
    """``1 - m`` as the shortest decimal whose float32 complement is ONNX's float32 ``m``."""
    m32 = np.float32(m)
    c = 1.0 - float(m32)
    for digits in range(1, 10):
        r = round(c, digits)
        if np.float32(1.0 - r) == m32:
            return r
    return c


_RESERVED = set(keyword.kwlist) | {"self", "torch", "nn", "F", "np", "math", "Model"}


def identifier(name: str, taken: set, reserved=()) -> str:
    """A Python identifier derived from ``name``, unique in ``taken`` (which it is added to)."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_") or "v"
    base = re.sub(r"_+", "_", base)
    if base[0].isdigit():
        base = "v" + base
    if base in _RESERVED or base in reserved:
        base += "_"
    out, k = base, 1
    while out in taken:
        k += 1
        out = f"{base}_{k}"
    taken.add(out)
    return out
