"""Fold an inference BatchNormalization into the Conv or Gemm that feeds it.

``BN(y) = (y - mean) * k + bias`` with ``k = scale / sqrt(var + eps)`` per channel, and
``y = conv(x, W) + b``, so ``BN(y) = conv(x, W * k) + (b - mean) * k + bias`` exactly in real
arithmetic (computed in float64, rounded to float32 once).  Applies when the Conv/Gemm output feeds
only the BatchNormalization and is not a graph output; the BN's output value keeps its name.
"""
import numpy as np

from .onnx_rewrite import Rewriter, attr, linear_producer, rewrite_linear


def fold_batchnorm(model, payloads=None):
    rw = Rewriter(model, payloads)
    changed = True
    while changed:
        changed = False
        for bn in rw.nodes():
            if bn.op_type != "BatchNormalization" or len(bn.output) != 1 or attr(bn, "training_mode", 0):
                continue
            found = linear_producer(rw, bn.input[0])
            if found is None or rw.only_consumer(bn.input[0]) is not bn:
                continue
            node, w, b, rank, channels, axis = found
            params = [rw.const(v) for v in bn.input[1:5]]
            if any(p is None or p.shape != (channels,) for p in params):
                continue
            scale, bias, mean, var = (p.astype(np.float64) for p in params)
            k = scale / np.sqrt(var + np.float64(np.float32(attr(bn, "epsilon", 1e-5))))
            if node.op_type == "Gemm" and rank != 2:
                continue
            rewrite_linear(rw, node, w, b, axis, k, bias - mean * k, bn.output[0])
            rw.remove_node(bn)
            changed = True
    return rw.finish()
