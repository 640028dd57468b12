"""Products: ``dot`` (a node for 1-d/2-d operands, Theano's ``tensordot`` formula beyond), ``tensordot``,
``batched_dot`` (a node for 2-d/3-d operands), ``batched_tensordot`` and ``outer``.

Theano builds ``tensordot`` out of dimshuffle, reshape and a 2-d ``dot``; the tracer follows the
same formula, so a traced graph has the ops Theano's graph has.
"""
import numpy as np

from . import dtypes as D
from . import elemwise as E
from . import shape as S
from .graph import as_variable, make_node
from .registry import builder


@builder("theano.tensor.dot", "theano.tensor.basic.dot")
def dot(a, b):
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        return E.mul(a, b)
    if a.ndim > 2 or b.ndim > 2:
        return tensordot(a, b, [[a.ndim - 1], [max(0, b.ndim - 2)]])
    ka = a.static_shape[-1]
    kb = b.static_shape[0]
    if ka is not None and kb is not None and ka != kb:
        raise ValueError(f"dot: shapes {a.static_shape} and {b.static_shape} are not aligned")
    bc = a.broadcastable[:-1] + b.broadcastable[1:]
    shape = tuple(a.static_shape[:-1]) + tuple(b.static_shape[1:])
    return make_node("theano.tensor.dot", [a, b], dtype=D.upcast(a.dtype, b.dtype), broadcastable=bc, shape=shape)


@builder("theano.tensor.tensordot")
def tensordot(a, b, axes=2):
    return _tensordot_as_dot(as_variable(a), as_variable(b), axes, batched=False)


@builder("theano.tensor.batched_tensordot")
def batched_tensordot(x, y, axes=2):
    return _tensordot_as_dot(as_variable(x), as_variable(y), axes, batched=True)


def _tensordot_as_dot(a, b, axes, batched):
    """Theano's ``_tensordot_as_dot``: move the summed axes last in ``a`` and first in ``b``, reshape both
    to 2-d (3-d when batched), multiply, reshape back."""
    if not np.isscalar(axes):
        if len(axes) != 2:
            raise ValueError("axes should be an integer or a pair of lists of axes")
        a_axes, b_axes = ([int(v) for v in np.atleast_1d(ax)] for ax in axes)
        if len(a_axes) != len(b_axes):
            raise ValueError("axes: the two lists must have the same length")
        a_axes = [v % a.ndim for v in a_axes]
        b_axes = [v % b.ndim for v in b_axes]
        a_order = [i for i in range(a.ndim) if i not in a_axes] + a_axes
        b_order = b_axes + [i for i in range(b.ndim) if i not in b_axes]
        if batched:
            a_order = [0] + [i for i in a_order if i != 0]
            b_order = [0] + [i for i in b_order if i != 0]
        return _tensordot_as_dot(S.dimshuffle(a, a_order), S.dimshuffle(b, b_order), len(a_axes), batched)
    axes = int(axes)
    batch = 1 if batched else 0
    for name, x in (("a", a), ("b", b)):
        if axes > x.ndim - batch:
            raise ValueError(f"axes={axes} is larger than the number of (non-batch) axes of {name}")
    a_shape, b_shape = S.shape(a), S.shape(b)

    def size(shp, x, axes_):
        total = 1
        for i in axes_:
            total = E.mul(total, S.getitem(shp, i)) if not isinstance(total, int) else S.getitem(shp, i)
        return total

    a0 = size(a_shape, a, range(batch, a.ndim - axes))
    a1 = size(a_shape, a, range(a.ndim - axes, a.ndim))
    b0 = size(b_shape, b, range(batch, batch + axes))
    b1 = size(b_shape, b, range(batch + axes, b.ndim))
    if batched:
        lead = [S.getitem(a_shape, 0)]
        a2 = S.reshape(a, lead + [a0, a1], ndim=3)
        b2 = S.reshape(b, [S.getitem(b_shape, 0), b0, b1], ndim=3)
        out = batched_dot(a2, b2)
    else:
        out = dot(S.reshape(a, [a0, a1], ndim=2), S.reshape(b, [b0, b1], ndim=2))
    outshape = S.concatenate([S.getitem(a_shape, slice(None, a.ndim - axes)),
                              S.getitem(b_shape, slice(batch + axes, None))], 0)
    outbc = a.broadcastable[:a.ndim - axes] + b.broadcastable[batch + axes:]
    result = S.reshape(out, outshape, ndim=len(outbc))
    return S.patternbroadcast(result, outbc) if any(outbc) else result


@builder("theano.tensor.batched_dot", "theano.tensor.basic.batched_dot")
def batched_dot(a, b):
    a, b = as_variable(a), as_variable(b)
    if a.ndim == 0 or b.ndim == 0:
        raise TypeError("batched_dot: both operands need a batch axis")
    if a.ndim == 1:
        return E.mul(S.dimshuffle(a, [0] + ["x"] * (b.ndim - 1)), b)
    if b.ndim == 1:
        return E.mul(a, S.dimshuffle(b, [0] + ["x"] * (a.ndim - 1)))
    if a.ndim > 3 or b.ndim > 3:
        return batched_tensordot(a, b, [[a.ndim - 1], [max(1, b.ndim - 2)]])
    bc = (a.broadcastable[0] or b.broadcastable[0],) + a.broadcastable[1:-1] + b.broadcastable[2:]
    batch = a.static_shape[0] if a.static_shape[0] is not None else b.static_shape[0]
    shape = (batch,) + tuple(a.static_shape[1:-1]) + tuple(b.static_shape[2:])
    return make_node("theano.tensor.batched_dot", [a, b], dtype=D.upcast(a.dtype, b.dtype), broadcastable=bc,
                     shape=shape)


@builder("theano.tensor.outer")
def outer(x, y):
    x, y = as_variable(x), as_variable(y)
    if x.ndim != 1:
        x = S.flatten(x, 1)
    if y.ndim != 1:
        y = S.flatten(y, 1)
    return dot(S.dimshuffle(x, [0, "x"]), S.dimshuffle(y, ["x", 0]))


# -- diagonals -----------------------------------------------------------------------------------------------
def _offset(k, op):
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
        from .graph import NotTraceable, user_location

        raise NotTraceable(f"{op} is traced with a constant integer offset only", op, user_location())
    return int(k)


@builder("theano.tensor.diag", "theano.tensor.basic.diag")
def diag(v, k=0):
    """Theano's ``diag``: the square matrix with the vector ``v`` on its ``k``-th diagonal (AllocDiag), or
    the ``k``-th diagonal of a matrix (ExtractDiag)."""
    v = as_variable(v)
    k = _offset(k, "theano.tensor.diag")
    if v.ndim == 1:
        n = v.static_shape[0]
        size = None if n is None else n + abs(k)
        return make_node("theano.tensor.alloc_diag", [v], {"offset": k}, dtype=v.dtype, broadcastable=(False, False),
                         shape=(size, size))
    if v.ndim >= 2:
        return diagonal(v, k, 0, 1)
    raise ValueError("Input must has v.ndim >= 1.")


@builder("theano.tensor.diagonal", "theano.tensor.basic.diagonal")
def diagonal(a, offset=0, axis1=0, axis2=1):
    """numpy's ``diagonal``: the entries ``a[..., i, i + offset]`` of the axes ``axis1``, ``axis2``, on a new
    last axis (Theano's ExtractDiag)."""
    a = as_variable(a)
    offset = _offset(offset, "theano.tensor.diagonal")
    axis1, axis2 = int(axis1) % max(a.ndim, 1), int(axis2) % max(a.ndim, 1)
    if a.ndim < 2 or axis1 == axis2:
        raise ValueError(f"diagonal: needs two distinct axes of a tensor of at least 2 dimensions, got axes "
                         f"{axis1}, {axis2} of a {a.ndim}-d one")
    rest = [i for i in range(a.ndim) if i not in (axis1, axis2)]
    n1, n2 = a.static_shape[axis1], a.static_shape[axis2]
    length = None
    if n1 is not None and n2 is not None:
        length = max(0, min(n1, n2 - offset) if offset >= 0 else min(n1 + offset, n2))
    bc = tuple(a.broadcastable[i] for i in rest) + (False,)
    shape = tuple(a.static_shape[i] for i in rest) + (length,)
    return make_node("theano.tensor.extract_diag", [a], {"offset": offset, "axis1": axis1, "axis2": axis2},
                     dtype=a.dtype, broadcastable=bc, shape=shape)
