"""Products: ``dot`` of 1-d/2-d operands (MatMul computes numpy's dot there) and ``batched_dot`` of
2-d/3-d operands (MatMul over the batch, with an axis inserted for a 2-d operand).  Higher-rank
``dot``/``tensordot`` reach here as Theano's formula of reshapes and 2-d dots (see the tracer)."""
from ..registry import lowering
from .lower import cast


@lowering("theano.tensor.dot", emits=("MatMul", "Cast"))
def dot(node, g, args):
    a, b = (cast(g, v, node.dtype, node.scope) for v in args)
    return g.node("MatMul", [a, b], node.scope)


@lowering("theano.tensor.batched_dot", emits=("MatMul", "Unsqueeze", "Squeeze", "Cast"))
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
