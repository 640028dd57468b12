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
