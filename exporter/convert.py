"""Layer graph + weights -> detached ONNX model: lowering passes, converters, checker.

The whole export (this, then :mod:`exporter.optimize`) is orchestrated by :mod:`exporter.pipeline`.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

import passes

from . import __version__, metadata, model_io, registry
from .errors import UnsupportedLayerError
from .ir import LayerGraph, traced_parts
from .onnx_graph import DEFAULT_OPSET, OnnxGraph, check_opset


class _DetachingGraph(OnnxGraph):
    """An OnnxGraph that keeps large initializers as arrays beside the model (no copies)."""

    def __init__(self, *args, payloads, **kwargs):
        super().__init__(*args, **kwargs)
        self.payloads = payloads

    def constant(self, base: str, array) -> str:
        array = model_io.payload_array(array)
        if array.nbytes < model_io.DETACH_MIN_BYTES or array.dtype not in model_io._NP_TO_ONNX:
            return super().constant(base, array)
        name = self.unique(base)
        self.payloads[name] = array
        self.initializers.append(model_io.placeholder(name, array))
        return name

    def add_initializer(self, name: str, array) -> str:
        array = np.asarray(array, order="C")
        if (array.nbytes < model_io.DETACH_MIN_BYTES or array.dtype not in model_io._NP_TO_ONNX
                or array.dtype == np.float64 or array.dtype.byteorder == ">"):  # payloads are stored as given
            return super().add_initializer(name, array)
        self.payloads[name] = array
        self.initializers.append(model_io.placeholder(name, array))
        return name


def build(graph: LayerGraph, weights: dict, opset: int = DEFAULT_OPSET, name: str = "lasagne", progress=None):
    """Lower a bound layer graph (:func:`exporter.weights.bind_weights`) to ``(skeleton, payloads)``: a
    checked, shape-inferred model whose large initializers are placeholders, and their arrays (shared
    with ``weights``, not copied).  ``progress`` is an optional callable ``(done, total, layer_name)``.

    Save it with :func:`exporter.model_io.save_model(skeleton, path, payloads=payloads)`.
    """
    check_opset(opset)
    registry.load_all()
    lowered, lowered_weights = passes.lower(graph, weights)
    payloads = {}
    g = _DetachingGraph(lowered_weights, opset=opset, layers=lowered.by_name(), payloads=payloads)
    total = len(lowered.layers)
    for i, spec in enumerate(lowered.layers):
        convert = registry.find_converter(spec.kind, opset)
        if convert is None:
            detail = (f"no converter for kind {spec.kind}" if spec.kind not in registry.CONVERTERS else
                      f"{spec.kind} needs ONNX opset {registry.CONVERTERS.versions(spec.kind)[0].since} or newer "
                      f"(asked for {opset})")
            raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position, detail)
        g.set_output(spec.name, convert(spec, g))
        if progress:
            progress(i + 1, total, spec.name)
    del lowered_weights, g.weights
    layers = lowered.by_name()
    for out in lowered.outputs:
        shape = [d if d is not None else ("N" if i == 0 else f"{out}_d{i}") for i, d in enumerate(layers[out].output_shape)]
        g.outputs.append(helper.make_tensor_value_info(g.tensor(out), TensorProto.FLOAT, shape))
    doc = f"Exported from Lasagne ({graph.source or 'unknown source'}) by lasagne2onnx {__version__}"
    model = g.finish(name, doc=doc)
    model.producer_version, model.doc_string = __version__, doc
    layer_map = {}
    for l in graph.layers:  # a layer removed as an identity is served by its input's value
        layer_map[l.name] = g.value_of(l.name) or layer_map.get(l.inputs[0] if l.inputs else "")
    metadata.set_layer_map(model, layer_map)
    metadata.set_build_record(model, graph.build)  # e.g. lasagne2onnx.cudnn
    metadata.set_traced_record(model, traced_parts(graph))  # which layers hold traced custom computation
    from .layers.embedding import index_bounds
    from .layers.recurrent import mask_inputs

    bounds = {**{name: 2 for name in mask_inputs(lowered)}, **index_bounds(lowered)}  # masks: 0 or 1
    metadata.set_index_bounds(model, {layer_map[name]: n for name, n in bounds.items()})
    return check_detached(model), payloads


def check_detached(skeleton: onnx.ModelProto) -> onnx.ModelProto:
    """Checker + strict shape inference on a detached model; returns it with inferred value_info."""
    inferred = passes.check_and_infer(model_io.checkable(skeleton))
    out = onnx.ModelProto()
    out.CopyFrom(skeleton)
    del out.graph.value_info[:]
    out.graph.value_info.extend(inferred.graph.value_info)
    del out.graph.output[:]
    out.graph.output.extend(inferred.graph.output)
    return out
