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
    # "read_as_python2": [file names]} (see exporter/frontends/isolation.py); written only when non-empty
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
    def from_dict(cls, d: dict, origin: str = "") -> "LayerGraph":
        """The graph a manifest describes; anything malformed is a NetworkError naming ``origin``
        (the manifest's file) and the layer at fault."""
        from .errors import NetworkError

        where = f"{origin}: " if origin else ""
        if d.get("format") != FORMAT:
            raise NetworkError(f"{where}not a lasagne2onnx architecture manifest (format={d.get('format')!r})")
        if d.get("version") != FORMAT_VERSION:
            raise NetworkError(f"{where}manifest version {d.get('version')!r} is not supported "
                               f"(expected {FORMAT_VERSION})")
        problem = _manifest_problem(d)
        if problem:
            raise NetworkError(f"{where}malformed architecture manifest: {problem}")
        return cls(
            layers=[LayerSpec(**_tupled(l)) for l in d["layers"]],
            outputs=list(d["outputs"]),
            param_keys=list(d.get("param_keys", [])),
            source=d.get("source", ""),
            build=dict(d.get("build", {})),
        )

    @classmethod
    def from_json(cls, text: str, origin: str = "") -> "LayerGraph":
        from .errors import NetworkError

        where = f"{origin}: " if origin else ""
        try:
            d = json.loads(text)
        except (ValueError, UnicodeDecodeError, RecursionError) as e:
            raise NetworkError(f"{where}architecture manifest is not valid JSON: {e}") from None
        if not isinstance(d, dict):
            raise NetworkError(f"{where}architecture manifest must be a JSON object")
        return cls.from_dict(d, origin)


_LAYER_FIELDS = {"name": str, "kind": str, "lasagne_class": str, "inputs": list, "attrs": dict, "params": list,
                 "output_shape": list}
_OPTIONAL_LAYER_FIELDS = {"position": int, "user_named": bool}
_PARAM_FIELDS = {"role": str, "shape": list, "key": str}
_AXES_ATTRS = ("axes", "shared_axes")  # normalised axis indices; the layer's parameters span the other axes


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _bad_number(value):
    """A NaN/infinite or absurdly large number inside an attribute value (as ONNX int64 would overflow), or None."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            bad = _bad_number(v)
            if bad is not None:
                return bad
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or abs(value) >= 2 ** 62:
            return value
    return None


def _manifest_problem(d: dict) -> str | None:
    """What is wrong with a manifest's structure (types, names, topology, shapes), or None.

    The layer-specific attributes are the converters' business; here only what every layer has
    (and the axis attributes the passes index with) is checked, so the rest can rely on it.
    """
    for key, typ in (("layers", list), ("outputs", list)):
        if not isinstance(d.get(key), typ):
            return f"{key!r} must be a {typ.__name__}, got {type(d.get(key)).__name__}"
    if not isinstance(d.get("param_keys", []), list) or not all(isinstance(k, str) for k in d.get("param_keys", [])):
        return "'param_keys' must be a list of strings"
    if not isinstance(d.get("source", ""), str):
        return "'source' must be a string"
    build = d.get("build", {})
    if not isinstance(build, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in build.values()):
        return "'build' must map names to strings or lists of strings"
    if len(set(d.get("param_keys", []))) != len(d.get("param_keys", [])):
        return "'param_keys' lists a key twice"
    if not d["layers"]:
        return "no layers"
    shapes, param_shapes = {}, {}
    for i, l in enumerate(d["layers"]):
        if not isinstance(l, dict):
            return f"layers[{i}] must be an object, got {type(l).__name__}"
        what = f"layer {l.get('name')!r} (layers[{i}])" if isinstance(l.get("name"), str) else f"layers[{i}]"
        for key, typ in _LAYER_FIELDS.items():
            if key not in l:
                return f"{what} has no {key!r}"
            if not isinstance(l[key], typ):
                return f"{what}: {key!r} must be a {typ.__name__}, got {type(l[key]).__name__}"
        for key, typ in _OPTIONAL_LAYER_FIELDS.items():
            if key in l and not (isinstance(l[key], typ) and (typ is bool or _is_int(l[key]))):
                return f"{what}: {key!r} must be a {typ.__name__}"
        unknown = sorted(set(l) - set(_LAYER_FIELDS) - set(_OPTIONAL_LAYER_FIELDS))
        if unknown:
            return f"{what} has unknown field {unknown[0]!r}"
        name = l["name"]
        if not name:
            return f"{what} has an empty name"
        if name in shapes:
            return f"{what}: the name {name!r} is used by an earlier layer too"
        shape = l["output_shape"]
        if not shape or not all(d is None or (_is_int(d) and d > 0) for d in shape):
            return f"{what}: output_shape {shape} must list positive integers or null (unknown)"
        inputs = l["inputs"]
        if not all(isinstance(x, str) for x in inputs):
            return f"{what}: 'inputs' must be layer names"
        for x in inputs:
            if x not in shapes:
                later = any(isinstance(m, dict) and m.get("name") == x for m in d["layers"][i:])
                return (f"{what}: its input {x!r} " + ("is not defined before it (layers must be listed in "
                        "topological order: is there a cycle?)" if later else "is not a layer of the manifest"))
        if (l["kind"] == "Input") != (not inputs):
            return f"{what}: " + ("an Input layer has no inputs" if inputs else "has no inputs (only Input layers may)")
        roles = set()
        for j, p in enumerate(l["params"]):
            if not isinstance(p, dict):
                return f"{what}: params[{j}] must be an object"
            for key, typ in _PARAM_FIELDS.items():
                if not isinstance(p.get(key), typ):
                    return f"{what}: params[{j}] needs {key!r} ({typ.__name__})"
            if set(p) - set(_PARAM_FIELDS):
                return f"{what}: params[{j}] has unknown field {sorted(set(p) - set(_PARAM_FIELDS))[0]!r}"
            if p["role"] in roles:
                return f"{what}: parameter {p['role']!r} appears twice"
            roles.add(p["role"])
            if not all(_is_int(n) and n >= 0 for n in p["shape"]):
                return f"{what}: parameter {p['role']!r} has shape {p['shape']}, not non-negative integers"
            if param_shapes.setdefault(p["key"], p["shape"]) != p["shape"]:
                return (f"{what}: parameter {p['role']!r} shares {p['key']!r} with another layer but has "
                        f"shape {p['shape']}, not {param_shapes[p['key']]}")
            if d.get("param_keys") and p["key"] not in d["param_keys"]:
                return f"{what}: parameter {p['role']!r} uses {p['key']!r}, which is not in 'param_keys'"
        for attr, value in l["attrs"].items():
            bad = _bad_number(value)
            if bad is not None:
                return f"{what}: attribute {attr!r} holds {bad!r}, which is not a usable number"
        rank = len(shapes[inputs[0]]) if inputs else len(shape)
        for attr in _AXES_ATTRS:
            if attr not in l["attrs"]:
                continue
            axes = l["attrs"][attr]
            if (not isinstance(axes, list) or not all(_is_int(a) and 0 <= a < rank for a in axes)
                    or len(set(axes)) != len(axes)):
                return f"{what}: {attr!r} must list distinct axes of its {rank}-d input, got {axes!r}"
            for p in l["params"]:
                if p["shape"] and len(p["shape"]) != rank - len(axes):
                    return (f"{what}: parameter {p['role']!r} of shape {p['shape']} does not span the "
                            f"{rank - len(axes)} axes not in {attr} {axes}")
        shapes[name] = shape
    outputs = d["outputs"]
    if not outputs:
        return "'outputs' is empty"
    for o in outputs:
        if not isinstance(o, str) or o not in shapes:
            return f"output {o!r} is not a layer of the manifest"
    if len(set(outputs)) != len(outputs):
        return "'outputs' lists a layer twice"
    return None


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
