"""Normalization: ``BatchNormalization`` -> ``nn.BatchNorm1d/2d/3d``, ``LRN`` -> ``nn.LocalResponseNorm``."""
from __future__ import annotations

import numpy as np

from ..codegen import float_source
from ..onnx_reader import UnsupportedNodeError, momentum_complement
from .generator import TARGET, op


@op("BatchNormalization", attrs=("epsilon", "momentum", "training_mode"))
def batchnorm(g, n):
    if n.attr("training_mode", 0):
        raise UnsupportedNodeError(n, "training_mode=1 is not supported (export the inference graph)", TARGET)
    if len([o for o in n.outputs if o]) > 1:
        raise UnsupportedNodeError(n, "the running-statistics outputs are not supported", TARGET)
    scale, bias, mean, var = (g.weight(n, i, w) for i, w in ((1, "scale"), (2, "bias"), (3, "mean"), (4, "var")))
    rank = g.view.rank(n.inputs[0], n)
    k = {2: 1, 3: 1, 4: 2, 5: 3}.get(rank)
    if k is None:
        raise UnsupportedNodeError(n, f"BatchNormalization of a rank-{rank} input is not supported", TARGET)
    eps = float_source(n.attr("epsilon", 1e-5))
    mom = momentum_complement(n.attr("momentum", 0.9))
    state = {"weight": scale, "bias": bias, "running_mean": mean, "running_var": var,
             "num_batches_tracked": np.array(0, dtype=np.int64)}
    m = g.module(n, f"nn.BatchNorm{k}d({scale.shape[0]}, eps={eps}, momentum={float_source(mom, float32=False)})", state)
    g.assign(n, n.outputs[0], f"{m}({g.x(n.inputs[0], n)})")


@op("LRN", attrs=("alpha", "beta", "bias", "size"))
def lrn(g, n):
    size = n.attr("size")
    if size % 2 == 0:
        raise UnsupportedNodeError(n, f"an even size ({size}) centres the window differently in torch", TARGET)
    alpha, beta, bias = (float_source(n.attr(k, d)) for k, d in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)))
    m = g.module(n, f"nn.LocalResponseNorm({size}, alpha={alpha}, beta={beta}, k={bias})")
    g.assign(n, n.outputs[0], f"{m}({g.x(n.inputs[0], n)})")
