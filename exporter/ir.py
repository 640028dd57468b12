"""The layer-graph description: the single hand-off between front ends and the ONNX builder.

A front end (live Lasagne capture, the Theano-free Lasagne API, or a JSON manifest) produces a
:class:`LayerGraph`; passes rewrite it; the ONNX builder lowers it.  The description is plain data
(JSON-serialisable), never holds weights, and imports nothing but the standard library so it can
be used from the legacy Theano environment as well as the modern one.

The weights live beside it in a ``dict`` from parameter key to array.  Keys captured from Lasagne
are ``arr_<i>`` where ``i`` is the position of the parameter in ``get_all_params(net)``: that is the
order ``np.savez('model.npz', *get_all_param_values(net))`` stores them in.
"""
from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT = "lasagne2onnx.layergraph"
FORMAT_VERSION = 1


@dataclass
class ParamSpec:
    """One parameter of a layer: its role in the layer (``W``, ``b``, ``inv_std``...), shape and key."""

    role: str
    shape: tuple
    key: str

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)


@dataclass
class LayerSpec:
    """One Lasagne layer.

    ``kind`` names the layer family (the converter that lowers it); ``lasagne_class`` is the class
    the user instantiated, kept for messages and reports.  ``attrs`` hold the layer's configuration
    in plain JSON types; ``output_shape`` uses ``None`` for unknown dimensions, as Lasagne does.
    """

    name: str
    kind: str
    lasagne_class: str
    inputs: list
    attrs: dict
    params: list
    output_shape: tuple
    position: int = -1
    user_named: bool = False

    def __post_init__(self):
        self.output_shape = tuple(None if d is None else int(d) for d in self.output_shape)
        self.params = [p if isinstance(p, ParamSpec) else ParamSpec(**p) for p in self.params]

    def param(self, role: str) -> ParamSpec | None:
        for p in self.params:
            if p.role == role:
                return p
        return None

    def describe(self) -> str:
        return f"layer {self.name!r} ({self.lasagne_class}, position {self.position})"


@dataclass
class LayerGraph:
    """A Lasagne network: layers in ``get_all_layers`` (topological) order."""

    layers: list
    outputs: list
    param_keys: list = field(default_factory=list)  # get_all_params order: the npz contract
    source: str = ""
    # choices made when the build code ran, where they matter: {"cudnn": "yes"|"no"|"either",
    # "read_as_python2": [file names], "arguments": the build function's ("60, 60, n=9"), "defaults": its
    # literal defaults the call left ("n=5")} (see exporter/frontends/isolation.py); written only when non-empty
    build: dict = field(default_factory=dict)

    def __post_init__(self):
        self.layers = [l if isinstance(l, LayerSpec) else LayerSpec(**l) for l in self.layers]

    # -- lookup -----------------------------------------------------------------------------
    def layer(self, name: str) -> LayerSpec:
        for l in self.layers:
            if l.name == name:
                return l
        raise KeyError(name)

    def by_name(self) -> dict:
        return {l.name: l for l in self.layers}

    @property
    def inputs(self) -> list:
        return [l.name for l in self.layers if l.kind == "Input"]

    def consumers(self, name: str) -> list:
        return [l for l in self.layers if name in l.inputs]

    def param_specs(self) -> dict:
        """key -> (layer, ParamSpec) for every parameter reference (shared keys appear once)."""
        out = {}
        for l in self.layers:
            for p in l.params:
                out.setdefault(p.key, (l, p))
        return out

    def copy(self) -> "LayerGraph":
        return copy.deepcopy(self)

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        if not d["build"]:
            del d["build"]
        return {"format": FORMAT, "version": FORMAT_VERSION, **d}

    def to_json(self, indent=1) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict) -> "LayerGraph":
        """The graph of a manifest dict that is already known to be well formed (one this program
        wrote, or one :func:`exporter.manifest_schema.load_manifest` validated: use that for anything
        read from a user's file)."""
        return cls(
            layers=[LayerSpec(**_tupled(l)) for l in d["layers"]],
            outputs=list(d["outputs"]),
            param_keys=list(d.get("param_keys", [])),
            source=d.get("source", ""),
            build=dict(d.get("build", {})),
        )

    @classmethod
    def from_json(cls, text: str) -> "LayerGraph":
        """:meth:`from_dict` of JSON text (see there: no validation)."""
        return cls.from_dict(json.loads(text))


# -- traced computation ----------------------------------------------------------------------------------
@dataclass
class ExprInput:
    """An input of a traced expression: the layer's ``index``-th input (``source="input"``) or its
    parameter ``role`` (``source="param"``), with Theano's type (``dtype``, ``broadcastable``) and the
    sizes known while tracing (``shape``, None where unknown)."""

    name: str
    source: str
    dtype: str
    broadcastable: list
    shape: list
    index: int = 0
    role: str = ""

    @property
    def ndim(self) -> int:
        return len(self.broadcastable)


@dataclass
class ExprNode:
    """One op of a traced expression: ``op`` is Theano's public dotted name (``theano.tensor.sum``),
    ``inputs`` name earlier nodes or expression inputs, ``attrs`` hold the op's non-tensor arguments
    (plain JSON), and the output has Theano's type (``ndim``, ``dtype``, ``broadcastable``) and the
    sizes known while tracing (``shape``).  ``where`` is the user's ``file:line`` that made it.
    A constant is a node of op ``theano.tensor.constant`` without inputs, its value in
    ``attrs["value"]`` (see :mod:`exporter.theano_ops`)."""

    name: str
    op: str
    inputs: list
    attrs: dict
    ndim: int
    dtype: str
    broadcastable: list
    shape: list
    where: str = ""


@dataclass
class ExprGraph:
    """What a traced layer computes: ``nodes`` in topological order from ``inputs`` to ``outputs``.

    It is the ``expr`` attribute of a layer of kind ``Expression`` (and of a ``traced`` nonlinearity),
    written by the Theano-free tracer (``exporter.frontends.theano_trace``) and lowered to ONNX op
    by op through the registry's lowering table (``exporter.theano_ops``; ``docs/theano_ops.md``
    documents the format and the op names)."""

    inputs: list
    nodes: list
    outputs: list

    def __post_init__(self):
        self.inputs = [i if isinstance(i, ExprInput) else ExprInput(**i) for i in self.inputs]
        self.nodes = [n if isinstance(n, ExprNode) else ExprNode(**n) for n in self.nodes]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, what: str = "expression", n_outputs: int | None = 1) -> "ExprGraph":
        problem = expr_problem(d, n_outputs=n_outputs)
        if problem:
            raise ValueError(f"{what}: {problem}")
        return cls(inputs=d["inputs"], nodes=d["nodes"], outputs=d["outputs"])


_EXPR_INPUT_FIELDS = {"name": str, "source": str, "dtype": str, "broadcastable": list, "shape": list}
_EXPR_NODE_FIELDS = {"name": str, "op": str, "inputs": list, "attrs": dict, "ndim": int, "dtype": str,
                     "broadcastable": list, "shape": list}


def expr_problem(d, n_inputs: int | None = None, roles=None, n_outputs: int | None = 1) -> str | None:
    """What is wrong with a serialised :class:`ExprGraph` (structure, names, references), or None.
    ``n_inputs``/``roles``: the layer's input count and parameter roles, when known; ``n_outputs``: how
    many outputs it must have (a layer's expression one; None: one or more, a loop's step)."""
    if not isinstance(d, dict):
        return f"the expression must be an object, got {type(d).__name__}"
    for key in ("inputs", "nodes", "outputs"):
        if not isinstance(d.get(key), list):
            return f"the expression's {key!r} must be a list"
    if set(d) - {"inputs", "nodes", "outputs"}:
        return f"the expression has unknown field {sorted(set(d) - {'inputs', 'nodes', 'outputs'})[0]!r}"
    seen = set()
    for i, inp in enumerate(d["inputs"]):
        what = f"expression input {i}"
        if not isinstance(inp, dict):
            return f"{what} must be an object"
        for key, typ in _EXPR_INPUT_FIELDS.items():
            if not isinstance(inp.get(key), typ):
                return f"{what} needs {key!r} ({typ.__name__})"
        if set(inp) - set(_EXPR_INPUT_FIELDS) - {"index", "role"}:
            return f"{what} has unknown field {sorted(set(inp) - set(_EXPR_INPUT_FIELDS) - {'index', 'role'})[0]!r}"
        if inp["source"] == "input":
            if not _is_int(inp.get("index", 0)) or inp.get("index", 0) < 0 or (
                    n_inputs is not None and inp.get("index", 0) >= n_inputs):
                return f"{what} refers to input {inp.get('index')!r}, which the layer does not have"
        elif inp["source"] == "param":
            if not isinstance(inp.get("role"), str) or (roles is not None and inp["role"] not in roles):
                return f"{what} refers to parameter {inp.get('role')!r}, which the layer does not have"
        else:
            return f"{what}: source must be 'input' or 'param', got {inp['source']!r}"
        problem = _type_problem(inp, what)
        if problem:
            return problem
        if inp["name"] in seen:
            return f"{what}: the name {inp['name']!r} is used twice"
        seen.add(inp["name"])
    for i, node in enumerate(d["nodes"]):
        what = f"expression node {i}"
        if not isinstance(node, dict):
            return f"{what} must be an object"
        for key, typ in _EXPR_NODE_FIELDS.items():
            if not isinstance(node.get(key), typ) or (typ is int and isinstance(node.get(key), bool)):
                return f"{what} needs {key!r} ({typ.__name__})"
        if set(node) - set(_EXPR_NODE_FIELDS) - {"where"}:
            return f"{what} has unknown field {sorted(set(node) - set(_EXPR_NODE_FIELDS) - {'where'})[0]!r}"
        what = f"expression node {node['name']!r} ({node['op']})"
        for ref in node["inputs"]:
            if not isinstance(ref, str) or ref not in seen:
                return f"{what}: its input {ref!r} is not defined before it"
        if node["ndim"] != len(node["broadcastable"]):
            return f"{what}: ndim {node['ndim']} does not match broadcastable {node['broadcastable']}"
        problem = _type_problem(node, what)
        if problem:
            return problem
        if node["name"] in seen:
            return f"{what}: the name {node['name']!r} is used twice"
        seen.add(node["name"])
    if n_outputs is not None and len(d["outputs"]) != n_outputs:
        return f"the expression must have {n_outputs} output{'s' if n_outputs != 1 else ''}, got {d['outputs']!r}"
    if not d["outputs"] or not all(isinstance(o, str) and o in seen for o in d["outputs"]):
        return f"the expression's outputs must be defined in it, got {d['outputs']!r}"
    return None


def _type_problem(v, what):
    if not all(isinstance(b, bool) for b in v["broadcastable"]):
        return f"{what}: broadcastable must list booleans"
    if len(v["shape"]) != len(v["broadcastable"]) or not all(s is None or (_is_int(s) and s >= 0) for s in v["shape"]):
        return f"{what}: shape must list one size (or null) per axis"
    if v["dtype"] not in DTYPES:
        return f"{what}: unknown dtype {v['dtype']!r}"
    return None


DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
           "float64")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def traced_parts(graph: LayerGraph) -> dict:
    """What the Theano-free tracer captured, by layer name: the layer's ``get_output_for`` (kind
    Expression) or a callable it was given (a ``traced`` nonlinearity)."""
    out = {}
    for l in graph.layers:
        if l.kind == "Expression":
            out[l.name] = l.attrs.get("traced") or "get_output_for"
        for key, value in l.attrs.items():
            if isinstance(value, dict) and value.get("name") == "traced":
                out.setdefault(l.name, f"{key} {value.get('function', '')}".strip())
            if key == "gate_nonlinearities" and isinstance(value, dict):
                for gate, nl in value.items():
                    if isinstance(nl, dict) and nl.get("name") == "traced":
                        out.setdefault(l.name, f"{gate} nonlinearity {nl.get('function', '')}".strip())
    return out


def _tupled(layer: dict) -> dict:
    layer = dict(layer)
    layer["params"] = [ParamSpec(**p) for p in layer.get("params", [])]
    return layer


def to_jsonable(value: Any) -> Any:
    """Convert tuples/numpy scalars in layer attributes into JSON types (lists, int, float)."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, str)):
        return value
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"attribute value {value!r} of type {type(value).__name__} is not serialisable")
