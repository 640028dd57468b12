"""Run an exported model and read every Lasagne layer's output, for per-layer comparisons."""
from __future__ import annotations

import json

import numpy as np
import onnx
from onnx import TensorProto, helper

from .convert import LAYER_MAP_KEY


def layer_value_map(model: onnx.ModelProto) -> dict:
    """Lasagne layer name -> ONNX value name, from the metadata the exporter writes."""
    for prop in model.metadata_props:
        if prop.key == LAYER_MAP_KEY:
            return json.loads(prop.value)
    return {}


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


def error_stats(actual, expected) -> dict:
    """max abs error, and max abs error relative to the reference's scale (max(1, max|expected|))."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return {"shape_mismatch": (actual.shape, expected.shape), "max_abs": float("inf"), "rel": float("inf")}
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return {"max_abs": diff, "rel": diff / scale}
