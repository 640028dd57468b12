"""Validation of architecture manifests (``--manifest``, manifests embedded in an npz, the manifest a
build child process hands back): :func:`read_manifest` / :func:`load_manifest` are the only way a
manifest from outside becomes a :class:`~exporter.ir.LayerGraph`.

Three layers of checks, each naming the layer and the attribute at fault in one line:

1. a walk that bounds the nesting (:data:`MAX_DEPTH`) and refuses numbers no layer can use (NaN,
   infinities, beyond int64), so nothing later recurses without end or overflows;
2. JSON Schemas, validated with ``jsonschema``: the manifest's structure (derived from the fields of
   :class:`~exporter.ir.LayerGraph`, :class:`~exporter.ir.LayerSpec` and
   :class:`~exporter.ir.ParamSpec`), then each layer's ``attrs`` against its kind's schema from the
   registry (:func:`exporter.registry.attrs_schema`, registered beside each capture rule); errors are
   explained by :mod:`exporter.schema_messages`;
3. what a schema cannot say: the topology (names, inputs defined before use, shared parameters of
   one shape), the parameter roles of each kind, and the kind's own ``check`` (sizes that must agree
   with the parameters and the input's rank).

``jsonschema`` is imported only when a manifest is validated: the capture code, which imports this
package in the legacy Theano environment too, never needs it.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math

from . import ir
from .errors import NetworkError
from .schema import ANY_ROLE, BOOL, INT, POSITIVE, LayerView, array
from .schema_messages import explain, first_error, layer_name, validator, where_in
# A manifest's deepest values are traced constants: layers, i, attrs, gate_nonlinearities, gate, expr, nodes, j,
# attrs, value, data, then one level per axis of the constant (12 in the parity cases).  A CustomRecurrentLayer's
# sub-networks hold layers 4 levels deeper (attrs, input_to_hidden, layers, i), and may nest one again.
MAX_DEPTH = 32
_LARGEST_NUMBER = 2 ** 62  # ONNX holds sizes and attributes as int64


# JSON Schema of each field of the IR dataclasses (exporter.ir); the required ones are those without a default
PARAM_FIELDS = {"role": {"type": "string", "minLength": 1}, "shape": array({"type": "integer", "minimum": 0}),
                "key": {"type": "string", "minLength": 1}}
LAYER_FIELDS = {
    "name": {"type": "string", "minLength": 1},
    "kind": {"type": "string"},  # one of the registered kinds: added when the validator is made
    "lasagne_class": {"type": "string"},
    "inputs": array({"type": "string", "minLength": 1}),
    "attrs": {"type": "object"},  # the kind's schema
    "params": array(None),  # items: the ParamSpec schema
    "output_shape": array({"anyOf": [POSITIVE, {"type": "null"}]}, 1),
    "position": INT,
    "user_named": BOOL,
}
GRAPH_FIELDS = {
    "layers": array(None, 1),  # items: the LayerSpec schema
    "outputs": array({"type": "string"}, 1, unique=True),
    "param_keys": array({"type": "string"}, unique=True),
    "source": {"type": "string"},
    # choices the build made (ir.LayerGraph.build): {"cudnn": "yes"|"no"|"either", "read_as_python2": [files],
    # "arguments": "60, 60, n=9" (the build function's, as literal text), "defaults": "n=5" (its defaults left)}
    "build": {"type": "object", "additionalProperties": {
        "anyOf": [{"type": "string"}, array({"type": "string"})]}},
}


def _object_of(cls, field_schemas: dict, **extra) -> dict:
    """The JSON Schema of a dataclass's ``asdict`` form: every field, no other key."""
    fields = dataclasses.fields(cls)
    props = {f.name: field_schemas[f.name] for f in fields}
    props.update(extra)
    required = [f.name for f in fields if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    return {"type": "object", "properties": props, "required": required + list(extra), "additionalProperties": False}


def _layer_schema(kinds) -> dict:
    """The JSON Schema of one layer of a manifest (its ``attrs``: its kind's schema, validated after)."""
    param = _object_of(ir.ParamSpec, PARAM_FIELDS)
    return _object_of(ir.LayerSpec, {**LAYER_FIELDS, "kind": {"enum": sorted(kinds)}, "params": array(param)})


def structure_schema(kinds) -> dict:
    """The JSON Schema of a manifest (format and version are checked before it)."""
    return _object_of(ir.LayerGraph, {**GRAPH_FIELDS, "layers": array(_layer_schema(kinds), 1)},
                      format={"const": ir.FORMAT}, version={"const": ir.FORMAT_VERSION})


def subnetwork_schema(kinds) -> dict:
    """The JSON Schema of a layer graph nested in a layer's attributes (a CustomRecurrentLayer's
    sub-networks): layers as a manifest's, and the one layer whose output is the sub-network's."""
    return {"type": "object", "properties": {"layers": array(_layer_schema(kinds), 1),
                                             "outputs": array({"type": "string", "minLength": 1}, 1, 1)},
            "required": ["layers", "outputs"], "additionalProperties": False}


def read_manifest(text: str, origin: str = "") -> "ir.LayerGraph":
    """The layer graph of manifest JSON ``text``; anything malformed is a NetworkError naming
    ``origin`` (the manifest's file) and the layer at fault."""
    where = f"{origin}: " if origin else ""
    try:
        d = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise NetworkError(f"{where}architecture manifest is not valid JSON: {e}") from None
    return load_manifest(d, origin)


def load_manifest(d, origin: str = "") -> "ir.LayerGraph":
    """The layer graph a manifest dict describes, validated (see :func:`read_manifest`)."""
    where = f"{origin}: " if origin else ""
    if not isinstance(d, dict):
        raise NetworkError(f"{where}architecture manifest must be a JSON object")
    if d.get("format") != ir.FORMAT:
        raise NetworkError(f"{where}not a lasagne2onnx architecture manifest (format={d.get('format')!r})")
    if d.get("version") != ir.FORMAT_VERSION:
        raise NetworkError(f"{where}manifest version {d.get('version')!r} is not supported "
                           f"(expected {ir.FORMAT_VERSION})")
    problem = manifest_problem(d)  # the JSON Schemas of the manifest and of each layer kind's attributes
    if problem:
        raise NetworkError(f"{where}malformed architecture manifest: {problem}")
    return ir.LayerGraph.from_dict(d)


def manifest_problem(d) -> str | None:
    """What is wrong with a manifest (a dict read from JSON), in one line, or None."""
    from . import registry

    registry.load_all()
    problem = _walk(d)
    if problem:
        return problem
    schemas = tuple((kind, id(entry)) for kind, entry in sorted(registry.ATTRS_SCHEMAS.items()))
    return _validated(json.dumps(d, sort_keys=True), schemas)


@functools.lru_cache(maxsize=32)
def _validated(text, schemas) -> str | None:
    """The problem of the manifest ``text`` under the registered ``schemas``.  Validation is pure, and
    (pure-Python) jsonschema takes about 2 ms a layer: a manifest read again (an export at several
    opsets) is not validated again."""
    d = json.loads(text)
    kinds = tuple(kind for kind, _ in schemas)
    structure = validator(("structure", kinds), lambda: structure_schema(kinds))
    error = first_error(structure, d)
    if error is not None:
        return explain(error, d)
    return _layers_problem(d)


def subnetwork_problem(sub) -> str | None:
    """What is wrong with a layer graph nested in a layer's attributes (``{"layers": [...], "outputs":
    [...]}``: a CustomRecurrentLayer's sub-networks), checked as a manifest's layers are: its structure,
    the topology within it, each layer against its own kind's schema and check; or None.  Called by
    the checks of the kinds that nest graphs, so only inside a manifest whose nesting the walk bounded."""
    from . import registry

    kinds = tuple(sorted(registry.ATTRS_SCHEMAS))
    error = first_error(validator(("subnetwork", kinds), lambda: subnetwork_schema(kinds)), sub)
    if error is not None:
        return explain(error, sub)
    return _layers_problem(sub)


def _layers_problem(d) -> str | None:
    """The topology of ``d["layers"]``, then each layer against its kind's schema and check."""
    from . import registry

    problem = _topology_problem(d)
    if problem:
        return problem
    seen = {}
    for i, l in enumerate(d["layers"]):
        problem = _layer_problem(registry.ATTRS_SCHEMAS[l["kind"]], l, i, seen)
        if problem:
            return f"{layer_name(l, i)}: {problem}"
        seen[l["name"]] = l
    return None


# -- 1. nesting and numbers --------------------------------------------------------------------------------
def _walk(d) -> str | None:
    """Bound the nesting and refuse unusable numbers, without recursion (in document order)."""
    todo = [(d, ())]
    while todo:
        value, path = todo.pop()
        if len(path) > MAX_DEPTH:
            return f"{where_in(d, path[:MAX_DEPTH])}: nested deeper than a manifest can be ({MAX_DEPTH} levels)"
        if isinstance(value, dict):
            todo.extend(reversed([(v, path + (k,)) for k, v in value.items()]))
        elif isinstance(value, list):
            todo.extend(reversed([(v, path + (i,)) for i, v in enumerate(value)]))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if (isinstance(value, float) and not math.isfinite(value)) or abs(value) >= _LARGEST_NUMBER:
                return f"{where_in(d, path)}: {value!r} is not a usable number"
    return None


# -- 2. schemas ---------------------------------------------------------------------------------------------
# -- 3. what a schema cannot say ---------------------------------------------------------------------------
def _topology_problem(d) -> str | None:
    names, param_shapes = set(), {}
    keys = set(d.get("param_keys", ()))
    for i, l in enumerate(d["layers"]):
        what = layer_name(l, i)
        if l["name"] in names:
            return f"{what}: the name {l['name']!r} is used by an earlier layer too"
        for x in l["inputs"]:
            if x not in names:
                later = any(m["name"] == x for m in d["layers"][i:])
                return (f"{what}: its input {x!r} " + ("is not defined before it (layers must be listed in "
                        "topological order: is there a cycle?)" if later else "is not a layer of the manifest"))
        if (l["kind"] == "Input") != (not l["inputs"]):
            return f"{what}: " + ("an Input layer has no inputs" if l["inputs"] else
                                  "has no inputs (only Input layers may)")
        roles = [p["role"] for p in l["params"]]
        if len(set(roles)) != len(roles):
            return f"{what}: parameter {next(r for r in roles if roles.count(r) > 1)!r} appears twice"
        for p in l["params"]:
            if param_shapes.setdefault(p["key"], p["shape"]) != p["shape"]:
                return (f"{what}: parameter {p['role']!r} shares {p['key']!r} with another layer but has "
                        f"shape {p['shape']}, not {param_shapes[p['key']]}")
            if keys and p["key"] not in keys:
                return f"{what}: parameter {p['role']!r} uses {p['key']!r}, which is not in 'param_keys'"
        names.add(l["name"])
    missing = next((o for o in d["outputs"] if o not in names), None)
    if missing is not None:
        return f"output {missing!r} is not a layer of the manifest"
    return None


def _layer_problem(entry, layer, i, seen) -> str | None:
    """One layer against its kind's registered schema: parameter roles, attrs, then the kind's check.
    A kind whose roles are the user's own names (a traced layer's) registers ``params=(ANY_ROLE,)``
    and checks them itself."""
    roles = [p["role"] for p in layer["params"]]
    allowed = entry.allowed_params()
    unknown = [] if ANY_ROLE in allowed else [r for r in roles if r not in allowed]
    if unknown:
        return (f"parameter {unknown[0]!r} is not one of a {entry.kind} layer's "
                f"({', '.join(allowed) or 'it has none'})")
    missing = [r for r in entry.required_params if r not in roles]
    if missing:
        return f"parameter {missing[0]!r} is missing"
    error = first_error(validator(("attrs", entry.kind, id(entry.schema)), lambda: entry.schema), layer["attrs"])
    if error is not None:
        return explain(error, layer["attrs"], attrs_of=layer, schema=entry.schema)
    problem = _traced_nonlinearity_problem(layer["attrs"])
    if problem:
        return problem
    if entry.check is None:
        return None
    inputs = [seen[x] for x in layer["inputs"]]
    view = LayerView(layer["name"], layer["attrs"], [tuple(x["output_shape"]) for x in inputs],
                     tuple(layer["output_shape"]), {p["role"]: tuple(p["shape"]) for p in layer["params"]}, inputs)
    if not view.input_shapes:  # an Input layer: its own shape is what its check compares
        view.input_shapes = [view.output_shape]
    return entry.check(view)


def _traced_nonlinearity_problem(attrs) -> str | None:
    """A traced nonlinearity (``{"name": "traced", "expr": ...}``, as an attribute or a recurrent
    layer's gate) whose expression is malformed: its structure (again, wherever a kind's schema holds
    it), one input, no parameters, every node as its op declares (exporter.theano_ops.validate)."""
    from .theano_ops.validate import expression_problem

    todo = [(k, v) for k, v in attrs.items()]
    while todo:
        key, value = todo.pop()
        if isinstance(value, dict):
            if value.get("name") == "traced":
                problem = expression_problem(value.get("expr"), [None], {}, structure=True)
                if problem:
                    return f"attribute {key!r}: {problem}"
            todo.extend((f"{key}.{k}", v) for k, v in value.items())
    return None
