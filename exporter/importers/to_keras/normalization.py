"""Normalization: ``BatchNormalization`` -> ``BatchNormalization``, ``LRN`` -> ``LocalResponseNormalization``."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError, float_literal
from .builder import TARGET, op


@op("BatchNormalization", attrs=("epsilon", "momentum", "training_mode"))
def batchnorm(b, n):
    if n.attr("training_mode", 0) or len([o for o in n.outputs if o]) > 1:
        raise UnsupportedNodeError(n, "training_mode=1 / running-statistics outputs are not supported", TARGET)
    ws = [b.const(i) for i in n.inputs[1:5]]
    if any(w is None for w in ws):
        raise UnsupportedNodeError(n, "scale, bias, mean and var must be constants", TARGET)
    rank = b.rank(n.inputs[0], n)
    layout = b.layout_of(n.inputs[0])
    layer = b.keras.layers.BatchNormalization(axis=b.axis(1, rank, layout),
                                              momentum=float_literal(n.attr("momentum", 0.9)),
                                              epsilon=float_literal(n.attr("epsilon", 1e-5)), name=b.lname(n))
    scale, bias, mean, var = ws
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n), weights=[scale, bias, mean, var]), layout)


@op("LRN", attrs=("alpha", "beta", "bias", "size"))
def lrn(b, n):
    from ..keras_layers import LocalResponseNormalization

    layout = b.layout_of(n.inputs[0])
    rank = b.rank(n.inputs[0], n)
    shape = b.view.shape(n.inputs[0])
    if shape is None or shape[1] is None:  # the window runs over the channels: only their count is needed
        raise UnsupportedNodeError(n, f"needs a static channel count (input shape {shape})", TARGET)
    layer = LocalResponseNormalization(n.attr("size"), float_literal(n.attr("alpha", 1e-4)),
                                       float_literal(n.attr("beta", 0.75)), float_literal(n.attr("bias", 1.0)),
                                       axis=b.axis(1, rank, layout), name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[0], n)), layout)
