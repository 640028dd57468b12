"""Layer graph + weights -> ONNX model: lowering passes, converters, checker."""
from __future__ import annotations

import json

import onnx
from onnx import TensorProto, helper

import passes

from . import __version__, registry
from .errors import UnsupportedLayerError
from .ir import LayerGraph
from .onnx_graph import DEFAULT_OPSET, OnnxGraph

LAYER_MAP_KEY = "lasagne2onnx.layers"  # metadata: Lasagne layer name -> ONNX value name


def to_onnx(graph: LayerGraph, weights: dict, opset: int = DEFAULT_OPSET, name: str = "lasagne",
            progress=None) -> onnx.ModelProto:
    """Lower a bound layer graph to a checked, shape-inferred ONNX model.

    ``weights`` must already be bound (:func:`exporter.weights.bind_weights`).  ``progress`` is an
    optional callable ``(done, total, layer_name)``.
    """
    registry.load_all()
    lowered, lowered_weights = passes.lower(graph, weights)
    g = OnnxGraph(lowered_weights, opset=opset, layers=lowered.by_name())
    total = len(lowered.layers)
    for i, spec in enumerate(lowered.layers):
        convert = registry.CONVERTERS.get(spec.kind)
        if convert is None:
            raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position, f"no converter for kind {spec.kind}")
        g.set_output(spec.name, convert(spec, g))
        if progress:
            progress(i + 1, total, spec.name)
    layers = lowered.by_name()
    for out in lowered.outputs:
        shape = [d if d is not None else ("N" if i == 0 else f"{out}_d{i}") for i, d in enumerate(layers[out].output_shape)]
        g.outputs.append(helper.make_tensor_value_info(g.tensor(out), TensorProto.FLOAT, shape))
    model = g.finish(name, doc=f"Exported from Lasagne ({graph.source or 'unknown source'}) by lasagne2onnx {__version__}")
    layer_map = {}
    for l in graph.layers:  # a layer removed as an identity is served by its input's value
        layer_map[l.name] = g.value_of(l.name) or layer_map.get(l.inputs[0] if l.inputs else "")
    helper.set_model_props(model, {LAYER_MAP_KEY: json.dumps(layer_map)})
    return passes.check_and_infer(model)
