"""The export pipeline: layer graph + weights -> ONNX (:mod:`exporter.convert`), then the optional
ONNX-level optimisation, verified in onnxruntime (:mod:`exporter.optimize`).

This module sits above both; nothing below it imports it (``tests/test_architecture.py`` checks the
module graph has no cycle).
"""
from __future__ import annotations

import onnx

from . import model_io
from .convert import build, check_detached
from .ir import LayerGraph
from .onnx_graph import DEFAULT_OPSET
from .optimize import optimize as run_optimize


def optimize_detached(skeleton: onnx.ModelProto, payloads: dict, mode: str = "auto", input_shapes=None):
    """:func:`exporter.optimize.optimize` on a detached model; a kept optimised graph is checked and
    shape-inferred again.  Returns ``(skeleton, payloads, report)``."""
    skeleton, payloads, report = run_optimize(skeleton, payloads, mode, input_shapes=input_shapes)
    if report["kept"]:
        skeleton = check_detached(skeleton)
    return skeleton, payloads, report


def to_onnx(graph: LayerGraph, weights: dict, opset: int = DEFAULT_OPSET, name: str = "lasagne",
            progress=None, optimize: str = "off") -> onnx.ModelProto:
    """Lower a bound layer graph to a checked, shape-inferred, self-contained ONNX model.

    ``weights`` must already be bound (:func:`exporter.weights.bind_weights`).  ``progress`` is an
    optional callable ``(done, total, layer_name)``.  ``optimize`` is a mode of
    :func:`exporter.optimize.optimize` ("off", "on" or "auto").
    """
    skeleton, payloads = build(graph, weights, opset=opset, name=name, progress=progress)
    skeleton, payloads, _ = optimize_detached(skeleton, payloads, optimize)
    return model_io.attach(skeleton, payloads)
