"""Driver: run every node's converter (:func:`generate`) and import the generated source (:func:`load_generated`)."""
from __future__ import annotations

import types

import numpy as np

from .. import onnx_reader, traced
from ..codegen import check_generated
from ..onnx_reader import identifier
from . import traced as traced_classes
from .generator import REGISTRY, Gen


def generate(view, source_name="model.onnx"):
    """Return ``(python_source, state_dict_arrays)`` for an :class:`~exporter.importers.onnx_reader.OnnxView`;
    each traced layer becomes a class of its own (:mod:`.traced`)."""
    REGISTRY.require_all(view.nodes, view.opset)
    outer, layers = traced.split(view)
    g = Gen(outer)
    for name in view.inputs:
        g.vars[name] = identifier(name, g.var_names)
    for n in outer.nodes:
        if n.index in layers:
            traced_classes.convert(g, layers[n.index])
        elif n.index not in g.skip:
            REGISTRY.lookup(n, view.opset)(g, n)
    for o in view.outputs:
        if o not in g.vars and o not in g.shape_vals and view.const(o) is None:
            raise onnx_reader.OnnxInputError(f"graph output {o!r} is not produced by any node")
    return g.render(source_name)


def load_generated(source, state, module_name="lasagne2onnx_generated"):
    """Import generated source as a module and return ``Model()`` with ``state`` loaded (strict)."""
    import torch

    check_generated(source)  # nothing runs unless the source has the generator's shape
    mod = types.ModuleType(module_name)
    exec(compile(source, f"<{module_name}>", "exec"), mod.__dict__)
    model = mod.Model()
    model.load_state_dict(to_torch_state(state), strict=True)
    return model.eval()


def to_torch_state(state):
    import torch

    return {k: torch.from_numpy(np.array(v, copy=True)) for k, v in state.items()}
