"""Products: ``dot`` of 1-d/2-d operands (MatMul computes numpy's dot there) and ``batched_dot`` of
2-d/3-d operands (MatMul over the batch, with an axis inserted for a 2-d operand).  Higher-rank
``dot``/``tensordot`` reach here as Theano's formula of reshapes and 2-d dots (see the tracer)."""
from ..registry import lowering
from .checks import count, fits, rank
from .lower import cast


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
