"""JSON Schema validation in one-line messages: a cached ``jsonschema`` validator per schema, and the
first error explained as the user reads it (the layer and the attribute at fault, what was expected).

Shared by manifests (:mod:`exporter.manifest_schema`) and traced expressions
(:mod:`exporter.theano_ops.validate`); it imports nothing of the package, so either can use it.
``jsonschema`` is imported only when something is validated.
"""
from __future__ import annotations

import reprlib

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist, _short.maxdict, _short.maxlevel = 40, 40, 6, 4, 2

_VALIDATORS: dict = {}


def validator(key, make_schema):
    """A cached ``jsonschema`` validator (draft 2020-12) whose integers are Python ints only (JSON
    Schema's "integer" also admits 3.0, which ONNX attributes would take for a float)."""
    if key not in _VALIDATORS:
        from jsonschema import Draft202012Validator, validators

        checker = Draft202012Validator.TYPE_CHECKER.redefine(
            "integer", lambda _, v: isinstance(v, int) and not isinstance(v, bool))
        _VALIDATORS[key] = validators.extend(Draft202012Validator, type_checker=checker)(make_schema())
    return _VALIDATORS[key]


def first_error(validator, instance):
    """The error to report: the shallowest (the enclosing object's problem before its parts')."""
    errors = list(validator.iter_errors(instance))
    return min(errors, key=lambda e: len(e.absolute_path)) if errors else None


def explain(error, root, attrs_of=None, schema=None) -> str:
    """One line for a schema error: where (layer, attribute) and what was expected."""
    path = tuple(error.absolute_path)
    where = where_in(root, path, attrs_of)
    v, expected, instance = error.validator, error.validator_value, error.instance
    if v == "required":
        missing = next((k for k in expected if k not in instance), expected[0])
        return f"{where_in(root, path + (missing,), attrs_of)} is missing{_condition(schema, error)}"
    if v == "additionalProperties":
        allowed = set(error.schema.get("properties", ()))
        unknown = sorted(k for k in instance if k not in allowed)
        known = f" (known: {', '.join(sorted(allowed))})" if allowed else ""
        if attrs_of is not None and not path:
            return f"unknown attribute {unknown[0]!r}{known}"
        return f"{where}: unknown field {unknown[0]!r}{known}"
    if v in ("minimum", "maximum"):
        return f"{where} must be {'at least' if v == 'minimum' else 'at most'} {expected}, got {_short.repr(instance)}"
    if v in ("exclusiveMinimum", "exclusiveMaximum"):
        return f"{where} must be {'more' if v == 'exclusiveMinimum' else 'less'} than {expected}, got " \
               f"{_short.repr(instance)}"
    if v == "uniqueItems":
        return f"{where} lists a value twice"
    if v == "if":  # only reported when a "then" failed; its own errors are more specific
        return f"{where} does not fit its other attributes"
    return f"{where} must be {_describe(error.schema)}, got {_short.repr(instance)}"


def _condition(schema, error) -> str:
    """For an error inside the ``then`` of an ``if``: the condition, in words."""
    steps = list(error.absolute_schema_path)
    if schema is None or "then" not in steps:
        return ""
    node = schema
    for step in steps[:len(steps) - 1 - steps[::-1].index("then")]:
        node = node[step]
    condition = node.get("if", {}).get("properties", {})
    return f" (needed with {', '.join(f'{k} {_describe(v)}' for k, v in condition.items())})" if condition else ""


def _describe(schema, plural=False) -> str:
    """What a (sub)schema admits, in words (``plural``: as the items of a list)."""
    if schema is True:
        return "anything"
    if "const" in schema:
        return repr(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_short.repr(v) for v in schema["enum"])
    if "anyOf" in schema:
        return " or ".join(_describe(s, plural) for s in schema["anyOf"])
    t = schema.get("type")
    if t == "integer":
        lo, hi = schema.get("minimum"), schema.get("maximum")
        text = ("integers" if plural else "an integer") + (f" >= {lo}" if lo is not None and lo > -2 ** 31 + 1 else "")
        text += f" <= {hi}" if hi is not None and hi < 2 ** 31 - 1 else ""
        return text + (" (odd)" if schema.get("not") == {"multipleOf": 2} else
                       f" other than {schema['not']['const']!r}" if "const" in schema.get("not", {}) else "")
    if t == "number":
        lo = schema.get("exclusiveMinimum")
        return ("numbers" if plural else "a number") + (f" > {lo}" if lo is not None else "")
    if t == "boolean":
        return "true or false"
    if t == "null":
        return "null"
    if t == "string":
        return ("non-empty " if schema.get("minLength") else "") + ("strings" if plural else "string")
    if t == "array":
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        size = (f"{lo}" if hi == lo else f"{lo} to {hi}" if hi is not None else f"at least {lo}" if lo else "")
        items = schema.get("items")
        return f"a list of {size + ' ' if size else ''}{_describe(items, True) if items else 'values'}"
    if t == "object":
        return "an object" + (f" with {', '.join(repr(k) for k in schema.get('required', []))}"
                              if schema.get("required") else "")
    return "valid"


def layer_name(layer, i) -> str:
    name = layer.get("name") if isinstance(layer, dict) else None
    kind = layer.get("kind") if isinstance(layer, dict) else None
    label = ", ".join(str(p) for p in (kind if isinstance(kind, str) else None, f"layers[{i}]") if p)
    return f"layer {name!r} ({label})" if isinstance(name, str) and name else label


def where_in(root, path, attrs_of=None) -> str:
    """``path`` inside the manifest ``root`` in words; with ``attrs_of`` (a layer), inside its attrs."""
    if attrs_of is not None:
        if not path:
            return "'attrs'"
        return f"attribute {path[0]!r}" + "".join(f"[{p!r}]" for p in path[1:])
    if len(path) >= 2 and path[0] == "layers" and isinstance(path[1], int):
        layer = root["layers"][path[1]]
        if len(path) > 3 and path[2] == "attrs":
            return f"{layer_name(layer, path[1])}: {where_in(layer['attrs'], path[3:], layer)}"
        return layer_name(layer, path[1]) + (f": {field_path(path[2:])}" if len(path) > 2 else "")
    return field_path(path) if path else "the manifest"


def field_path(path) -> str:
    text = repr(path[0]) if isinstance(path[0], str) else f"[{path[0]}]"
    for p in path[1:]:
        text += f"[{p}]" if isinstance(p, int) else f"[{p!r}]"
    return text


def attrs_problem(key, schema, attrs) -> str | None:
    """``attrs`` against the JSON Schema ``schema`` (its validator cached under ``key``), in one line
    naming the attribute at fault, or None: for attributes that are not a layer's own (a traced
    node's: :mod:`exporter.theano_ops.validate`)."""
    error = first_error(validator(("attrs of",) + tuple(key), lambda: schema), attrs)
    return None if error is None else explain(error, attrs, attrs_of=attrs, schema=schema)
