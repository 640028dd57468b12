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
    wanted = [v for v in dict.fromkeys(layer_value_map(model).values()) if v and v not in present]
    types = _elem_types(model, wanted)
    for value in wanted:  # float32 but where a layer computes integers (a reshape of an Embedding's indices)
        m.graph.output.append(helper.make_tensor_value_info(value, types.get(value, TensorProto.FLOAT), None))
    return m


def _elem_types(model: onnx.ModelProto, values) -> dict:
    """value -> ONNX element type of those of ``values`` that are not float32, from ONNX shape inference."""
    if not values or all(i.type.tensor_type.elem_type == TensorProto.FLOAT for i in model.graph.input):
        return {}  # layers compute float32 from float32 inputs (traced layers' outputs are cast to it)
    try:
        inferred = onnx.shape_inference.infer_shapes(model).graph.value_info
    except Exception:  # a model shape inference cannot follow: onnxruntime says which output is off
        return {}
    wanted = set(values)
    return {vi.name: vi.type.tensor_type.elem_type for vi in inferred
            if vi.name in wanted and vi.type.tensor_type.elem_type not in (0, TensorProto.FLOAT)}


def run_layers(model: onnx.ModelProto, feeds: dict) -> dict:
    """Every layer's output in onnxruntime: Lasagne layer name -> array."""
    from .validate import make_session, run_session

    sess = make_session(with_layer_outputs(model))
    names = [o.name for o in sess.get_outputs()]
    values = dict(feeds)
    values.update(zip(names, run_session(sess, names, feeds)))
    return {layer: values[v] for layer, v in layer_value_map(model).items() if v in values}


def layer_runner(model: onnx.ModelProto):
    """``run(output, feeds)``: the value ``output`` computed from ``feeds`` (value name -> array: a layer's
    inputs) alone, by the part of ``model`` between them (``onnx.utils.Extractor``, whose shape
    inference of the whole model is done once, at the first call), or None where that part needs more
    than ``feeds`` (another graph input, a value computed elsewhere) or cannot be cut out."""
    from onnx.utils import Extractor

    from .validate import make_session

    extractor = []

    def run(output: str, feeds: dict):
        try:
            if not extractor:
                extractor.append(Extractor(model))
            part = extractor[0].extract_model(list(feeds), [output])
            needs = {i.name for i in part.graph.input} - {i.name for i in part.graph.initializer}
            if needs != set(feeds):
                return None
            return make_session(part).run([output], feeds)[0]
        except Exception:  # a part onnxruntime or the extractor cannot take: the layer stays compared end to end
            return None

    return run
