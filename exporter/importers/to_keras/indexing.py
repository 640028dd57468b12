"""Indexing: ``Gather`` of rows of a constant matrix by run-time indices (Lasagne's EmbeddingLayer)
-> ``keras.layers.Embedding`` (on the torch backend it counts negative indices from the end, as ONNX
and Theano do)."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError
from .builder import TARGET


def embedding(b, n):
    """``Gather(W, indices, axis=0)`` with a constant 2-D ``W`` and run-time ``indices``."""
    table = b.const(n.inputs[0])
    if table is None or table.ndim != 2 or n.attr("axis", 0) != 0:
        raise UnsupportedNodeError(n, "a Gather with run-time indices is supported only as an embedding lookup "
                                      "(rows of a constant matrix, axis 0)", TARGET)
    rows, dim = table.shape
    layer = b.keras.layers.Embedding(rows, dim, name=b.lname(n))
    b.put(n.outputs[0], b.layer(n, layer, b.get(n.inputs[1], n, "cf"), weights=[table]), "cf")
