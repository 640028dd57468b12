"""The model metadata lasagne2onnx writes (``ModelProto.metadata_props``), defined, written and read here only.

``lasagne2onnx.layers``     JSON: Lasagne layer name -> the ONNX value holding its output (``None`` once
                            ``export --optimize`` folded the layer into the one before it).
``lasagne2onnx.optimized``  JSON: what ``--optimize`` did (``fused_layers``, ``nodes_before``/``nodes_after``,
                            ``max_rel``); absent when the plain export was kept.
``lasagne2onnx.pickle.<key>``  JSON: the other entries of a model-zoo pickle (class names, mean values).
``lasagne2onnx.traced``    JSON: layer name -> what of it was traced (custom computation exported op by op).
``lasagne2onnx.index_bounds``  JSON: integer graph input -> the exclusive upper bound of the indices it
                            holds (the smallest embedding it selects from), and float input -> 2 for a
                            recurrent layer's mask (0 or 1): for drawing valid random inputs.
``lasagne2onnx.<choice>``   the choices the build code's run made (``ir.LayerGraph.build``): ``cudnn``
                            (``yes``/``no``/``either``), ``read_as_python2`` (JSON list of files),
                            ``arguments`` (the build function's arguments, as literal text: ``60, 60, n=9``),
                            ``defaults`` (its parameters left at a literal default: ``n=5``).

Readers are lenient: a key that is absent or holds something other than the JSON it should reads as
"nothing recorded", so a model from elsewhere (or hand-edited) never raises here.  Nothing here
imports the exporter's pipeline: the passes use this module too.
"""
from __future__ import annotations

import json

LAYER_MAP_KEY = "lasagne2onnx.layers"
OPTIMIZED_KEY = "lasagne2onnx.optimized"
TRACED_KEY = "lasagne2onnx.traced"
INDEX_BOUNDS_KEY = "lasagne2onnx.index_bounds"
PICKLE_PREFIX = "lasagne2onnx.pickle."
BUILD_PREFIX = "lasagne2onnx."  # + a key of ir.LayerGraph.build


def props(model) -> dict:
    """Every metadata entry of ``model`` as a dict (key -> string value)."""
    return {p.key: p.value for p in model.metadata_props}


def set_prop(model, key: str, value: str):
    """Set ``key`` to ``value`` (a string), replacing an existing entry in place (its position kept)."""
    for p in model.metadata_props:
        if p.key == key:
            p.value = value
            return
    model.metadata_props.add(key=key, value=value)


def _json(model, key, kind):
    raw = props(model).get(key)
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deeply
        return None
    return value if isinstance(value, kind) else None


def layer_map(model) -> dict:
    """Lasagne layer name -> ONNX value name (``{}`` when the model has none)."""
    return _json(model, LAYER_MAP_KEY, dict) or {}


def set_layer_map(model, mapping: dict):
    set_prop(model, LAYER_MAP_KEY, json.dumps(mapping))


def optimization_record(model) -> dict | None:
    """What ``--optimize`` did to an exported model (None if it was not optimised)."""
    return _json(model, OPTIMIZED_KEY, dict)


def set_optimization_record(model, record: dict):
    set_prop(model, OPTIMIZED_KEY, json.dumps(record))


def folded_layers(model) -> list:
    """The layers whose own output ``--optimize`` folded away (``[]`` when none or not optimised)."""
    record = optimization_record(model) or {}
    folded = record.get("fused_layers", [])
    return list(folded) if isinstance(folded, list) else []


def set_traced_record(model, traced: dict):
    """Record which layers were traced (nothing is written when none was)."""
    if traced:
        set_prop(model, TRACED_KEY, json.dumps(traced))


def traced_record(model) -> dict:
    """Layer name -> what of it was traced (``{}`` when nothing was)."""
    return _json(model, TRACED_KEY, dict) or {}


def set_index_bounds(model, bounds: dict):
    """Record the index bounds of integer inputs, and of float inputs holding whole numbers below a
    bound (a recurrent layer's mask: 2); nothing is written when there are none."""
    if bounds:
        set_prop(model, INDEX_BOUNDS_KEY, json.dumps(bounds))


def index_bounds_of(values: dict) -> dict:
    """Integer input -> index bound, from metadata as a dict (``props(model)``, or an onnxruntime
    session's ``custom_metadata_map``); malformed entries read as none."""
    try:
        bounds = json.loads(values.get(INDEX_BOUNDS_KEY, "{}"))
    except ValueError:
        return {}
    return {k: v for k, v in bounds.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0} \
        if isinstance(bounds, dict) else {}


def set_build_record(model, build: dict):
    """Record the build's choices (``ir.LayerGraph.build``): strings as they are, lists as JSON."""
    for key, value in build.items():
        set_prop(model, BUILD_PREFIX + key, value if isinstance(value, str) else json.dumps(value))


def cudnn_choice(model) -> str | None:
    """How the export built a network that probes for cuDNN: ``yes``, ``no``, ``either`` (None: not recorded)."""
    return props(model).get(BUILD_PREFIX + "cudnn")


def read_as_python2(model) -> list:
    """The files (base names) the export read as Python 2 (``[]``: none, or not recorded)."""
    files = _json(model, BUILD_PREFIX + "read_as_python2", list) or []
    return [f for f in files if isinstance(f, str)]


def build_arguments(model) -> str:
    """The arguments the export called the build function with, as literal text (``""``: none recorded)."""
    value = props(model).get(BUILD_PREFIX + "arguments")
    return value if isinstance(value, str) else ""


def pickle_key(name: str) -> str:
    """The metadata key of a model-zoo pickle entry ``name``."""
    return PICKLE_PREFIX + name


def problems(model) -> dict:
    """``{key: what is wrong}`` for the entries the importers and ``check`` read, checked strictly (the
    lenient readers above read a malformed entry as "nothing recorded")."""
    values = props(model)
    found = {}
    for key, fits, form in (
            (LAYER_MAP_KEY, lambda v: isinstance(v, dict) and all(isinstance(x, str) or x is None for x in v.values()),
             "a JSON object mapping each Lasagne layer name to an ONNX value name"),
            (OPTIMIZED_KEY, lambda v: isinstance(v, dict) and isinstance(v.get("fused_layers", []), list) and all(
                isinstance(n, str) for n in v.get("fused_layers", [])),
             "a JSON object whose 'fused_layers' is a list of layer names"),
            (TRACED_KEY, lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
             "a JSON object mapping each traced Lasagne layer name to what of it was traced")):
        if key not in values:
            continue
        try:
            value = json.loads(values[key])
        except (ValueError, RecursionError) as e:
            detail = "nested too deeply" if isinstance(e, RecursionError) else " ".join(str(e).split())[:100]
            found[key] = f"is not valid JSON ({detail})"
            continue
        if not fits(value):
            found[key] = f"is malformed: it should be {form}"
    return found
