"""Shapes that ONNX's own shape inference leaves unknown in traced custom computation, filled in by
onnxruntime's symbolic shape inference.

Traced code reshapes to sizes it computes from ``x.shape`` at run time (``Shape -> Gather -> Concat ->
Reshape``).  ONNX's inference cannot follow a target holding the unknown batch size (at opset 13 it
gives no shape at all), so the ops after it lose their ranks and sizes.  onnxruntime's
``SymbolicShapeInference`` tracks the batch as a symbol (``N``) and knows them.  Only what ONNX left
unknown is taken from it; where it fails (or sympy is absent), nothing changes.
"""
from __future__ import annotations

import logging


def unknown_shapes(model) -> bool:
    """True when some value of ``model`` (as ONNX's inference left it) has no shape or an unknown size
    other than the first."""
    g = model.graph
    infos = {vi.name: vi for vi in list(g.value_info) + list(g.output)}
    produced = [o for n in g.node for o in n.output if o]
    for name in produced:
        vi = infos.get(name)
        if vi is None or not vi.type.tensor_type.HasField("shape"):
            return True
        if any(not d.HasField("dim_value") for d in list(vi.type.tensor_type.shape.dim)[1:]):
            return True
    return False


def unranked(model) -> bool:
    """True when some value ``model``'s nodes produce has no shape at all (ONNX's inference lost its rank)."""
    g = model.graph
    infos = {vi.name: vi for vi in list(g.value_info) + list(g.output)}
    return any(o not in infos or not infos[o].type.tensor_type.HasField("shape")
               for n in g.node for o in n.output if o)


ROUNDS = 3


def refine(v, model):
    """Fill in the shapes of the view ``v`` (of ``model``, its constants folded) that ONNX left unknown,
    folding again what the new shapes make constant."""
    for _ in range(ROUNDS):
        before = (len(v.nodes), {k: list(s) for k, s in v.shapes.items()})
        merge(v.shapes, v.dtypes, infer(folded_model(v, model)))
        from .fold import fold_constants

        fold_constants(v)
        if (len(v.nodes), v.shapes) == before:
            return


def folded_model(v, model):
    """``model`` with the view's nodes (its constants folded) and the constants they read as initializers."""
    from onnx import helper, numpy_helper

    nodes = [helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name, **n.attrs) for n in v.nodes]
    used = {i for n in v.nodes for i in n.inputs if i in v.consts} | {o for o in v.outputs if o in v.consts}
    inputs = [i for i in model.graph.input if i.name in v.inputs]
    graph = helper.make_graph(nodes, model.graph.name, inputs, list(model.graph.output),
                              [numpy_helper.from_array(v.consts[name], name) for name in sorted(used)])
    folded = helper.make_model(graph, opset_imports=list(model.opset_import), ir_version=model.ir_version)
    return folded


def infer(model) -> dict:
    """``{value: (dims with None for a symbolic size, elem type)}`` from onnxruntime's symbolic shape
    inference of ``model``, ``{}`` when it cannot run.  (Its public ``infer_shapes`` writes a file into
    the working directory when it gives up: the same steps are run here without that.)"""
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
    except Exception:  # onnxruntime without its tools, or sympy absent
        return {}
    log = logging.getLogger("onnxruntime.tools.symbolic_shape_infer")
    level = log.level
    log.setLevel(logging.CRITICAL)  # it warns about every op it merely guesses
    try:
        inference = SymbolicShapeInference(2 ** 31 - 1, True, False, 0)
        inference._preprocess(model)
        try:
            while inference.run_:
                inference._infer_impl()
        except Exception:  # an op it cannot follow: what it inferred before that (in graph order) stands
            pass
        inference._update_output_from_vi()
        out = inference.out_mp_
    except Exception:  # a model it cannot read at all: ONNX's shapes are kept as they are
        return {}
    finally:
        log.setLevel(level)
    found = {}
    for vi in list(out.graph.value_info) + list(out.graph.output):
        t = vi.type.tensor_type
        if t.HasField("shape"):
            found[vi.name] = ([d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim], t.elem_type)
    return found


def merge(shapes: dict, dtypes: dict, found: dict):
    """Fill in ``shapes`` (value -> dims, None where unknown) and ``dtypes`` from ``found`` where they lack
    a shape or a size; a size ONNX inferred is never changed."""
    import numpy as np
    from onnx import helper

    for name, (dims, elem_type) in found.items():
        have = shapes.get(name)
        if have is None:
            shapes[name] = dims
        elif len(have) == len(dims):
            shapes[name] = [h if h is not None else d for h, d in zip(have, dims)]
        if name not in dtypes and elem_type:
            dtypes[name] = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)).name
