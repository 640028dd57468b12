"""Building blocks of the layer kinds' attribute schemas (JSON Schema, draft 2020-12, as plain dicts).

Each layer family registers the schema of the attributes its capture rule writes beside the rule
(:func:`exporter.registry.attrs_schema`), optionally with a ``check`` for what a schema cannot say
(sizes that must agree with the parameters or the input's rank).  :mod:`exporter.manifest_schema`
validates every manifest against them before anything is lowered, so converters can rely on their
attributes' types, ranges and enums.

Standard library only: the capture code imports the layer modules in the legacy environment too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .ir import DTYPES

ANY_ROLE = "*"  # in a kind's ``params``: any parameter role is allowed (its check decides)
INT_MAX = 2 ** 31 - 1  # sizes and counts beyond this are not a network anyone trained

INT = {"type": "integer", "minimum": -INT_MAX, "maximum": INT_MAX}
NON_NEGATIVE = {"type": "integer", "minimum": 0, "maximum": INT_MAX}
POSITIVE = {"type": "integer", "minimum": 1, "maximum": INT_MAX}
BOOL = {"type": "boolean"}
NUMBER = {"type": "number"}  # finite: manifest_schema refuses NaN/Infinity anywhere
POSITIVE_NUMBER = {"type": "number", "exclusiveMinimum": 0}
ODD = {**POSITIVE, "not": {"multipleOf": 2}}  # an odd size (a window centred on its position)
OPTIONAL_INT = {"anyOf": [INT, {"type": "null"}]}


def array(items, min_items=0, max_items=None, unique=False) -> dict:
    schema = {"type": "array", "items": items, "minItems": min_items}
    if max_items is not None:
        schema["maxItems"] = max_items
    if unique:
        schema["uniqueItems"] = True
    return schema


def spatial(items=POSITIVE) -> dict:
    """One value per spatial axis of a 1-D, 2-D or 3-D layer."""
    return array(items, 1, 3)


def obj(properties: dict, optional=()) -> dict:
    """An object with exactly these properties (all required except ``optional``), nothing else."""
    return {"type": "object", "properties": dict(properties),
            "required": [k for k in properties if k not in optional], "additionalProperties": False}


def tagged(tag: str, variants: dict, optional=None) -> dict:
    """An object whose ``tag`` property names one of ``variants`` (name -> the other properties it has;
    all required except ``optional``: variant name -> the optional ones)."""
    optional = optional or {}
    return {
        "type": "object",
        "required": [tag],
        "properties": {tag: {"enum": sorted(variants)}},
        "allOf": [{"if": {"properties": {tag: {"const": name}}, "required": [tag]},
                   "then": obj({tag: True, **props}, optional.get(name, ()))}
                  for name, props in sorted(variants.items())],
    }


# -- traced computation: the ExprGraph (exporter.ir) of an Expression layer or a traced nonlinearity ---------
DTYPE = {"enum": list(DTYPES)}  # Theano's dtypes (of traced values)
SIZE_HINT = {"anyOf": [NON_NEGATIVE, {"type": "null"}]}  # a size known while tracing, or null
EXPR_NAME = {"type": "string", "minLength": 1}
_TYPE = {"dtype": DTYPE, "broadcastable": array(BOOL), "shape": array(SIZE_HINT)}  # Theano's type of a value
# its structure; what a schema cannot say (names defined before use, one rank per value, each node's attrs
# against its op's own schema) is checked by exporter.theano_ops.validate
EXPR_GRAPH = obj({
    # the layer's index-th input (its role empty), or its parameter role (its index 0): ir.ExprInput's fields
    "inputs": array(tagged("source", {
        "input": {"name": EXPR_NAME, **_TYPE, "index": NON_NEGATIVE, "role": {"const": ""}},
        "param": {"name": EXPR_NAME, **_TYPE, "role": EXPR_NAME, "index": {"type": "integer", "const": 0}},
    }, optional={"input": ("role",), "param": ("index",)})),
    # ir.ExprNode's fields: "attrs" as its op declares them (registry.lowering(attrs=)); "where" (the user's
    # file:line) is a hint for messages
    "nodes": array(obj({"name": EXPR_NAME, "op": EXPR_NAME, "inputs": array(EXPR_NAME), "attrs": {"type": "object"},
                        "ndim": NON_NEGATIVE, **_TYPE, "where": {"type": "string"}}, optional=("where",))),
    "outputs": array(EXPR_NAME, 1, 1),
})
# the step of a theano.scan (exporter/theano_ops/scan.py): an ExprGraph of one or more outputs whose inputs are
# the loop's (source "input", numbered as the op says)
STEP_GRAPH = {**EXPR_GRAPH, "properties": {**EXPR_GRAPH["properties"], "outputs": array(EXPR_NAME, 1)}}


# lasagne.nonlinearities as ``describe_nonlinearity`` writes them: {"name": ..., **parameters}
NONLINEARITY = tagged("name", {
    **{name: {} for name in ("linear", "rectify", "sigmoid", "softmax", "tanh", "elu", "softplus")},
    "leaky_rectify": {"leakiness": NUMBER},
    "scaled_tanh": {"scale_in": NUMBER, "scale_out": NUMBER},
    "selu": {"scale": NUMBER, "scale_neg": NUMBER},
    # any other callable, traced on the Theano-free API: what it is (a label) and its ExprGraph (checked by
    # theano_ops/validate.py)
    "traced": {"function": {"type": "string", "minLength": 1}, "expr": EXPR_GRAPH},
})

# Lasagne 0.2's autocrop modes, one per axis (None: not cropped)
CROPPING = {"anyOf": [{"type": "null"}, array({"enum": [None, "lower", "upper", "center"]}, 1)]}


@dataclass
class LayerView:
    """What a kind's ``check`` sees of one manifest layer, once the schemas passed: its attributes,
    the output shapes of its inputs (in order), its declared output shape and its parameters' shapes;
    ``input_layers``: its input layers as the manifest gives them (dicts with ``name``, ``kind``,
    ``inputs``, ``attrs``..., already validated), for the kinds whose meaning depends on them."""

    name: str
    attrs: dict
    input_shapes: list
    output_shape: tuple
    param_shapes: dict = field(default_factory=dict)  # role -> shape
    input_layers: list = field(default_factory=list)

    @property
    def input_shape(self) -> tuple:
        return self.input_shapes[0]

    @property
    def rank(self) -> int:
        return len(self.input_shapes[0])


def lengths_problem(attrs: dict, *names, rank=None) -> str | None:
    """Attributes listing one value per spatial axis must agree on their number (and with a
    ``rank``-dimensional (batch, channels, spatial...) input, when given)."""
    sizes = {n: len(attrs[n]) for n in names if isinstance(attrs.get(n), list)}
    n = next(iter(sizes.values()))
    if any(v != n for v in sizes.values()):
        listed = ", ".join(f"{k!r} ({v} value{'s' if v != 1 else ''})" for k, v in sizes.items())
        return f"attributes {listed} must have one value per spatial axis each"
    if rank is not None and rank != n + 2:
        return f"{n} spatial axes in {names[0]!r} do not fit its {rank}-d input (batch, channels, spatial axes)"
    return None


def axes_problem(attr: str, axes: list, layer: LayerView) -> str | None:
    """``axes`` (normalised, non-negative) must be distinct axes of the input, and the layer's
    parameters must span the other axes."""
    rank = layer.rank
    if len(set(axes)) != len(axes) or any(a >= rank for a in axes):
        return f"attribute {attr!r} must list distinct axes of its {rank}-d input, got {axes}"
    for role, shape in layer.param_shapes.items():
        if shape and len(shape) != rank - len(axes):
            return f"parameter {role!r} of shape {list(shape)} does not span the {rank - len(axes)} axes not in " \
                   f"{attr} {axes}"
    return None


def shape_problem(role: str, layer: LayerView, want, attrs=()) -> str | None:
    """Parameter ``role`` (when the layer has it) must have shape ``want`` (None entries: any size),
    which the attributes ``attrs`` and the input's shape give."""
    have = layer.param_shapes.get(role)
    if have is None:
        return None
    want = list(want)
    if len(have) != len(want) or any(w is not None and h != w for h, w in zip(have, want)):
        shown = [("?" if w is None else w) for w in want]
        given = ", ".join(f"{a} {layer.attrs[a]}" for a in attrs if a in layer.attrs)
        return f"parameter {role!r} has shape {list(have)}, but {given + ' and ' if given else ''}the input need {shown}"
    return None


def agree(have, want) -> bool:
    """Shapes ``have`` and ``want`` have one rank and the same size wherever both know it."""
    return len(have) == len(want) and all(h is None or w is None or h == w for h, w in zip(have, want))


def product(dims):
    """The product of ``dims``, or None when one is unknown."""
    return None if any(d is None for d in dims) else math.prod(dims)
