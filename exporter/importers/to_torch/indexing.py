"""Indexing: ``Gather`` of rows of a constant matrix by run-time indices (Lasagne's EmbeddingLayer)
-> ``nn.Embedding``.  Negative indices count from the end as in ONNX and Theano (``nn.Embedding``
alone refuses them); indices out of range stay an error."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError
from .generator import TARGET


def embedding(g, n):
    """``Gather(W, indices, axis=0)`` with a constant 2-D ``W`` and run-time ``indices``."""
    table = g.const(n.inputs[0])
    if table is None or table.ndim != 2 or n.attr("axis", 0) != 0:
        raise UnsupportedNodeError(n, "a Gather with run-time indices is supported only as an embedding lookup "
                                      "(rows of a constant matrix, axis 0)", TARGET)
    rows, dim = table.shape
    m = g.module(n, f"nn.Embedding({rows}, {dim})", state={"weight": table.astype("float32")}, suffix="embedding")
    idx = g.x(n.inputs[1], n)
    g.assign(n, n.outputs[0], f"{m}(torch.where({idx} < 0, {idx} + {rows}, {idx}))")
