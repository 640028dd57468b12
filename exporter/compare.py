"""Run an exported model and read every Lasagne layer's output, for per-layer comparisons."""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from .accuracy import error_stats  # noqa: F401  (the metric the per-layer comparisons use)
from .metadata import layer_map as layer_value_map


def with_layer_outputs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` whose graph outputs include every layer's output value."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    present = {o.name for o in m.graph.output} | {i.name for i in m.graph.input}
    for value in dict.fromkeys(layer_value_map(model).values()):
        if value and value not in present:
            m.graph.output.append(helper.make_tensor_value_info(value, TensorProto.FLOAT, None))
            present.add(value)
    return m


def run_layers(model: onnx.ModelProto, feeds: dict) -> dict:
    """Every layer's output in onnxruntime: Lasagne layer name -> array."""
    from .validate import make_session

    sess = make_session(with_layer_outputs(model))
    names = [o.name for o in sess.get_outputs()]
    values = dict(feeds)
    values.update(zip(names, sess.run(names, feeds)))
    return {layer: values[v] for layer, v in layer_value_map(model).items() if v in values}
