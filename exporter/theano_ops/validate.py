"""Validation of a traced expression (:class:`~exporter.ir.ExprGraph`) before it is lowered.

1. its structure: the JSON Schema :data:`exporter.schema.EXPR_GRAPH` (a manifest's Expression layers
   and traced nonlinearities are validated against it with their attributes' schemas);
2. its names and references (:func:`exporter.ir.expr_problem`): inputs defined before use, one rank
   per value, the layer's inputs and parameters it refers to;
3. the sizes of its inputs against the layer's inputs and parameters, when the layer is known;
4. every node against its op's entry in the lowering table: an op the table knows, the attributes
   the op declares (``@lowering(op, attrs={name: JSON Schema})``: all of them, nothing else) and the
   op's ``check`` (:mod:`.checks`): its inputs, attribute values against their ranks, and the node's
   declared type against what the op gives.

So every lowering can rely on its node's attributes and declared type: a lowering failing on a
validated expression is a bug in it (or in its declaration), never the manifest's fault.
"""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .. import registry
from ..ir import expr_problem
from ..schema import EXPR_GRAPH, obj
from . import fold
from .checks import KNOWN
from .values import CONSTANT_OP, decode

_SMALL = 64  # values computed while validating: sizes and their arithmetic (small integer arrays) only

_AS_ATTRIBUTE = obj({"expr": EXPR_GRAPH})
_ATTRS_SCHEMAS: dict = {}  # op -> JSON Schema of its attributes (built from the newest entry's declaration)


def op_entry(op):
    """The newest lowering-table entry of ``op`` (the attributes and check it declares), or None."""
    versions = registry.LOWERINGS.versions(op)
    return versions[-1] if versions else None


def attrs_schema(op) -> dict:
    """The JSON Schema of the attributes of a node of ``op``: those its lowering declares, all required."""
    if op not in _ATTRS_SCHEMAS:
        _ATTRS_SCHEMAS[op] = obj(op_entry(op).attrs)
    return _ATTRS_SCHEMAS[op]


def expression_problem(expr, input_shapes=None, param_shapes=None, structure=False, n_outputs=1) -> str | None:
    """What is wrong with the traced expression ``expr`` (a dict from JSON), in one phrase, or None.

    ``input_shapes``: the output shapes of the layer's inputs (an expression input of source "input"
    reads one; None for a shape not known: a traced nonlinearity's ``[None]``); ``param_shapes``: role
    -> shape of the layer's parameters (a traced nonlinearity has none: ``{}``); None where not known
    (the expression's references are then checked only for their form).  ``structure``: validate
    against the JSON Schema first (a manifest's schemas already did).  ``n_outputs``: see
    :func:`exporter.ir.expr_problem` (a loop's step, checked by its op's check, has several)."""
    from ..schema_messages import attrs_problem

    if structure:  # messages as for an Expression layer's: "attribute 'expr'['nodes'][3]['ndim'] must be ..."
        problem = attrs_problem(("expression",), _AS_ATTRIBUTE, {"expr": expr})
        if problem:
            return problem
    n_inputs = None if input_shapes is None else len(input_shapes)
    problem = expr_problem(expr, n_inputs, None if param_shapes is None else set(param_shapes), n_outputs)
    if problem:
        return problem
    values = {}
    for i, inp in enumerate(expr["inputs"]):
        problem = _input_problem(inp, input_shapes, param_shapes) or _type_problem(inp)
        if problem:
            return f"expression input {inp['name']!r}: {problem}"
        values[inp["name"]] = inp
    for node in expr["nodes"]:
        where = f"expression node {node['name']!r} ({node['op']}{' at ' + node['where'] if node.get('where') else ''})"
        entry = op_entry(node["op"])
        if entry is None:
            return f"{where}: the op has no ONNX lowering"
        inputs = [values[n] for n in node["inputs"]]
        problem = (attrs_problem(("lowering", node["op"]), attrs_schema(node["op"]), node["attrs"])
                   or _type_problem(node)
                   or (entry.check(node, inputs) if entry.check else None))
        if problem:
            return f"{where}: {problem}"
        try:
            known = _known_value(node, inputs)
        except fold.Mismatch as e:
            return f"{where}: {e}"
        values[node["name"]] = node if known is None else {**node, KNOWN: known}
    return None


def _known_value(node, inputs):
    """The value of ``node`` when the validation can know it: a constant's, the shape of a value whose
    sizes are all declared, and what :mod:`.fold` computes of small integer values known so (the sizes
    a reshape or an index is given: ``stack(x.shape[0] // 2, 3)``), else None."""
    if node["op"] == CONSTANT_OP:
        value = decode(node["attrs"]["value"])
    elif node["op"] == "theano.tensor.shape":
        if None in inputs[0]["shape"]:
            return None
        value = np.asarray(inputs[0]["shape"], dtype="int64")
    elif inputs and all(KNOWN in v for v in inputs):
        value = fold.evaluate(SimpleNamespace(**node), [v[KNOWN] for v in inputs])
        value = None if value is None else np.asarray(value).astype(node["dtype"])
    else:
        return None
    return value if value is not None and value.dtype.kind in "iub" and value.size <= _SMALL else None


def _input_problem(inp, input_shapes, param_shapes) -> str | None:
    """An input's type against what the layer gives it: its input's shape (sizes agreeing where both
    are known), its parameter's shape (exactly)."""
    if inp["source"] == "input" and input_shapes is not None and input_shapes[inp.get("index", 0)] is not None:
        have = list(input_shapes[inp.get("index", 0)])
        if len(have) != len(inp["shape"]) or any(h is not None and s is not None and h != s
                                                  for h, s in zip(have, inp["shape"])):
            return f"has shape {inp['shape']}, but the layer's input {inp.get('index', 0)} has shape {have}"
    if inp["source"] == "param" and param_shapes is not None:
        have = list(param_shapes[inp["role"]])
        if inp["shape"] != have:
            return f"has shape {inp['shape']}, but the layer's parameter {inp['role']!r} has shape {have}"
    return None


def _type_problem(v) -> str | None:
    """A broadcastable axis has size 1 (Theano's meaning of the pattern)."""
    bad = next((i for i, (b, n) in enumerate(zip(v["broadcastable"], v["shape"])) if b and n not in (1, None)), None)
    if bad is not None:
        return f"axis {bad} is broadcastable but has size {v['shape'][bad]}"
    return None
