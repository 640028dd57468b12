"""Indexing and selection: ``Gather`` of rows of a constant matrix by run-time indices (Lasagne's
EmbeddingLayer) -> ``nn.Embedding`` (negative indices count from the end as in ONNX and Theano, which
``nn.Embedding`` alone refuses; indices out of range stay an error); ``Mod``; ``GatherND``
(per example: the spatial transformers' bilinear sampling), ``ScatterND`` and ``Range`` (the index
grids of set_subtensor / inc_subtensor in traced code)."""
from __future__ import annotations

from ..onnx_reader import UnsupportedNodeError
from .generator import _TORCH_DTYPES, TARGET, op, shape_elems


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


@op("Mod", attrs=("fmod",))
def mod(g, n):
    """``fmod=1``: C's fmod (the dividend's sign) = ``torch.fmod``; ``fmod=0`` (integers): the divisor's sign
    = ``torch.remainder``."""
    a, b = (g.operand(i, n, trainable=False) for i in n.inputs)
    g.assign(n, n.outputs[0], f"torch.{'fmod' if n.attr('fmod', 0) else 'remainder'}({a}, {b})")


@op("GatherND", attrs=("batch_dims",))
def gather_nd(g, n):
    """Per-example row lookup: data (N, M, C), indices (N, P, 1), batch_dims=1 -> (N, P, C); without batch
    dimensions (inc_subtensor in traced code), the elements at ``indices`` (..., k) by advanced indexing."""
    if n.attr("batch_dims", 0) == 0:
        x, i = g.x(n.inputs[0], n), g.x(n.inputs[1], n)
        g.assign(n, n.outputs[0], f"{x}[tuple({i}.unbind(-1))]")
        return
    data, idx = g.view.rank(n.inputs[0], n), g.view.shape(n.inputs[1])
    if n.attr("batch_dims", 0) != 1 or data != 3 or idx is None or len(idx) != 3 or idx[2] != 1:
        raise UnsupportedNodeError(n, "only GatherND of rows per example (batch_dims=1, data (N, M, C), indices "
                                      "(N, P, 1)) is supported", TARGET)
    x, i = g.x(n.inputs[0], n), g.x(n.inputs[1], n)
    g.assign(n, n.outputs[0], f"torch.gather({x}, 1, {i}.expand(-1, -1, {x}.shape[2]))")


@op("ScatterND", attrs=("reduction",))
def scatter_nd(g, n):
    """``data`` with the elements at ``indices`` (..., k) replaced by ``updates`` (set_subtensor in traced code):
    ``torch.index_put``, which returns a new tensor as ONNX does."""
    if n.attr("reduction", "none") != "none":
        raise UnsupportedNodeError(n, f"reduction={n.attr('reduction')!r} is not supported", TARGET)
    data, idx, updates = (g.x(i, n) for i in n.inputs)
    g.assign(n, n.outputs[0], f"torch.index_put({data}, tuple({idx}.unbind(-1)), {updates})")


@op("Range")
def range_(g, n):
    """``torch.arange`` of int bounds known when the model runs (constants or sizes computed from ``Shape``);
    a Range of constants alone is a constant already."""
    start, limit, delta = (shape_elems(g, i, n) for i in n.inputs)
    if not all(scalar for _, scalar in (start, limit, delta)):
        raise UnsupportedNodeError(n, "the bounds of a Range must be scalars", TARGET)
    dtypes = {g.const(i).dtype.name for i in n.inputs if g.const(i) is not None}
    dtype = "" if dtypes <= {"int64"} else f", dtype={_TORCH_DTYPES.get(dtypes.pop(), 'torch.int64')}"
    g.assign(n, n.outputs[0], f"torch.arange({start[0][0]}, {limit[0][0]}, {delta[0][0]}{dtype})")
