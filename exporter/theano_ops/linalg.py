"""Products: ``dot`` of 1-d/2-d operands (MatMul computes numpy's dot there) and ``batched_dot`` of
2-d/3-d operands (MatMul over the batch, with an axis inserted for a 2-d operand).  Higher-rank
``dot``/``tensordot`` reach here as Theano's formula of reshapes and 2-d dots (see the tracer)."""
import numpy as np

from ..registry import lowering
from ..schema import INT, NON_NEGATIVE
from .checks import count, fits, rank
from .lower import cast, const


def _aligned(a, b, ka, kb):
    """The summed sizes of the two operands agree where both are known."""
    if ka is not None and kb is not None and ka != kb:
        return f"multiplies operands of shapes {a['shape']} and {b['shape']}, which are not aligned"
    return None


def check_dot(node, inputs):
    """1-d or 2-d operands (the tracer writes Theano's formula for others): numpy's dot."""
    problem = count(inputs, 2)
    if problem:
        return problem
    a, b = inputs
    if rank(a) not in (1, 2) or rank(b) not in (1, 2):
        return f"multiplies a {rank(a)}-d and a {rank(b)}-d operand; it takes 1-d or 2-d ones"
    return _aligned(a, b, a["shape"][-1], b["shape"][0]) or fits(node, a["shape"][:-1] + b["shape"][1:])


def check_batched_dot(node, inputs):
    """2-d or 3-d operands with a batch axis first."""
    problem = count(inputs, 2)
    if problem:
        return problem
    a, b = inputs
    if rank(a) not in (2, 3) or rank(b) not in (2, 3):
        return f"multiplies a {rank(a)}-d and a {rank(b)}-d operand; it takes 2-d or 3-d ones"
    inner = b["shape"][1]
    batch = [n for n in (a["shape"][0], b["shape"][0]) if n is not None]
    if len(set(batch)) > 1:
        return f"multiplies operands of batch sizes {batch[0]} and {batch[1]}"
    return _aligned(a, b, a["shape"][-1], inner) or fits(node, batch[:1] + [None] * (not batch) + a["shape"][1:-1]
                                                          + b["shape"][2:])


@lowering("theano.tensor.dot", emits=("MatMul", "Cast"), check=check_dot)
def dot(node, g, args):
    a, b = (cast(g, v, node.dtype, node.scope) for v in args)
    return g.node("MatMul", [a, b], node.scope)


@lowering("theano.tensor.batched_dot", emits=("MatMul", "Unsqueeze", "Squeeze", "Cast"), check=check_batched_dot)
def batched_dot(node, g, args):
    """(B, n, k) x (B, k, m); a 2-d left operand is (B, 1, k), a 2-d right one (B, k, 1)."""
    a, b = (cast(g, v, node.dtype, node.scope) for v in args)
    squeeze = []
    if a.ndim == 2:
        a = g.unsqueeze(a, [1], node.scope)
        squeeze.append(1)
    if b.ndim == 2:
        b = g.unsqueeze(b, [2], node.scope)
        squeeze.append(2)
    y = g.node("MatMul", [a, b], node.scope)
    return g.squeeze(y, squeeze, node.scope) if squeeze else y


# -- diagonals (``T.diag``, ``T.diagonal``): sizes read when the network runs -------------------------------------
def check_alloc_diag(node, inputs):
    """A vector on the ``offset``-th diagonal of a square matrix of side ``len + |offset|``."""
    problem = count(inputs, 1)
    if problem:
        return problem
    (v,) = inputs
    if rank(v) != 1 or node["dtype"] != v["dtype"]:
        return f"puts a {rank(v)}-d {v['dtype']} value on a diagonal; it takes a vector of the node's dtype"
    n = v["shape"][0]
    side = None if n is None else n + abs(node["attrs"]["offset"])
    return fits(node, [side, side])


@lowering("theano.tensor.alloc_diag", attrs={"offset": INT}, check=check_alloc_diag,
          emits=("Shape", "Add", "Squeeze", "Range", "Unsqueeze", "Sub", "Equal", "Concat", "Where"))
def alloc_diag(node, g, args):
    """``out[r, c] = v[r]`` where ``c - r == k`` (``v[c]`` for k < 0), 0 elsewhere: ``v`` padded with ``|k|``
    zeros, broadcast along the rows or the columns, kept on the mask ``(c - r) == k`` (Where: an inf or NaN
    of ``v`` stays on its diagonal)."""
    s, k = node.scope, node.attrs["offset"]
    v = args[0]
    zero, one = const(g, 0, "int64"), const(g, 1, "int64")
    side = g.squeeze(g.node("Add", [g.node("Shape", [v], s), const(g, [abs(k)], "int64")], s), [0], s)
    index = g.node("Range", [zero, side, one], s)
    mask = g.node("Equal", [g.node("Sub", [index, g.unsqueeze(index, [1], s)], s), const(g, k, "int64")], s)
    padded = g.node("Concat", [v, const(g, np.zeros(abs(k)), node.dtype)], s, axis=0) if k else v
    source = g.unsqueeze(padded, [1] if k >= 0 else [0], s)
    return g.node("Where", [mask, source, const(g, 0, node.dtype)], s)


def check_extract_diag(node, inputs):
    """The ``offset``-th diagonal of axes ``axis1``, ``axis2`` of an input of at least 2 axes, on a new last axis."""
    problem = count(inputs, 1)
    if problem:
        return problem
    (x,) = inputs
    a = node["attrs"]
    if rank(x) < 2 or not (0 <= a["axis1"] < rank(x) and 0 <= a["axis2"] < rank(x)) or a["axis1"] == a["axis2"]:
        return f"takes the diagonal of axes {a['axis1']}, {a['axis2']} of a {rank(x)}-d input"
    if node["dtype"] != x["dtype"]:
        return f"gives {node['dtype']} from a {x['dtype']} input"
    n1, n2, k = x["shape"][a["axis1"]], x["shape"][a["axis2"]], a["offset"]
    length = None if n1 is None or n2 is None else max(0, min(n1, n2 - k) if k >= 0 else min(n1 + k, n2))
    return fits(node, [n for i, n in enumerate(x["shape"]) if i not in (a["axis1"], a["axis2"])] + [length])


@lowering("theano.tensor.extract_diag", attrs={"offset": INT, "axis1": NON_NEGATIVE, "axis2": NON_NEGATIVE},
          check=check_extract_diag,
          emits=("Transpose", "Shape", "Gather", "Slice", "Concat", "Reshape", "Add", "Sub", "Min", "Max", "Mul",
                 "Squeeze", "Range"))
def extract_diag(node, g, args):
    """``x[..., i, i + k]``: the two axes moved last (axis1 then axis2) and flattened into one of ``n1 * n2``,
    then gathered at ``i * (n2 + 1) + k`` (``(i - k) * n2 + i`` for k < 0), ``i`` below the diagonal's length
    ``max(0, min(n1, n2 - k))`` (``min(n1 + k, n2)``), all read from the input's shape when it runs."""
    s, a = node.scope, node.attrs
    x, k = args[0], a["offset"]
    rank_ = node.ndim + 1
    perm = [i for i in range(rank_) if i not in (a["axis1"], a["axis2"])] + [a["axis1"], a["axis2"]]
    if perm != list(range(rank_)):
        x = g.node("Transpose", [x], s, perm=perm)
    shape = g.node("Shape", [x], s)
    n1 = g.node("Gather", [shape, const(g, [rank_ - 2], "int64")], s, axis=0)
    n2 = g.node("Gather", [shape, const(g, [rank_ - 1], "int64")], s, axis=0)
    kk = const(g, [abs(k)], "int64")
    length = g.node("Min", [n1, g.node("Sub", [n2, kk], s)] if k >= 0 else [g.node("Sub", [n1, kk], s), n2], s)
    length = g.node("Max", [length, const(g, [0], "int64")], s)
    i = g.node("Range", [const(g, 0, "int64"), g.squeeze(length, [0], s), const(g, 1, "int64")], s)
    start = kk if k >= 0 else g.node("Mul", [kk, n2], s)
    flat_index = g.node("Add", [g.node("Mul", [i, g.node("Add", [n2, const(g, [1], "int64")], s)], s), start], s)
    lead = g.slice(shape, [0], [rank_ - 2], [0], s) if rank_ > 2 else None
    target = g.node("Concat", ([lead] if lead is not None else []) + [const(g, [-1], "int64")], s, axis=0)
    flat = g.node("Reshape", [x, target], s)
    return g.node("Gather", [flat, flat_index], s, axis=rank_ - 2)
