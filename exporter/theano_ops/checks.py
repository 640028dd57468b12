"""What a traced node must satisfy beyond its attributes' schemas, as each lowering declares it
(``@lowering(op, attrs={...}, check=...)``): the number of inputs, attribute values against the inputs'
ranks (an axis within the rank, a permutation), and the node's declared type against what the op
gives its inputs' types (its rank always; its sizes wherever both are known).

A check is ``check(node, inputs) -> problem or None``: ``node`` is the node's dict (its schema and
its op's attribute schema already hold), ``inputs`` the dicts of the values it reads (expression
inputs or earlier nodes, each with ``dtype``, ``broadcastable``, ``shape``).  A problem is a phrase
completing "expression node 'n3' (theano.tensor.sum): ...".  The declared sizes are validated this
way node by node from the expression's inputs, whose sizes must agree with the layer's inputs and
parameters (:mod:`.validate`), so a lowering may rely on a size the node declares.
"""
from __future__ import annotations

INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def rank(v) -> int:
    return len(v["broadcastable"])


def count(inputs, n, most=None) -> str | None:
    """``n`` inputs (up to ``most``, None: exactly ``n``; -1: any number from ``n``)."""
    most = n if most is None else most
    if len(inputs) < n or (most >= 0 and len(inputs) > most):
        want = f"{n}" if most == n else f"at least {n}" if most < 0 else f"{n} to {most}"
        return f"takes {want} input{'s' if want != '1' else ''}, not {len(inputs)}"
    return None


def fits(node, shape) -> str | None:
    """The node's declared rank must be ``len(shape)``, and its declared sizes those of ``shape``
    (None: unknown) wherever both are known; a broadcastable axis has size 1."""
    if node["ndim"] != len(shape):
        return f"gives a {len(shape)}-d result, but the node says {node['ndim']}-d"
    for axis, (have, want, b) in enumerate(zip(node["shape"], shape, node["broadcastable"])):
        if have is not None and want is not None and have != want:
            return f"gives size {want} on axis {axis}, but the node says {have}"
        if b and want not in (None, 1):
            return f"gives size {want} on axis {axis}, but the node says it is broadcastable"
    return None


KNOWN = "known value"  # the key of a known value in the dicts a check gets (never a field of the expression)


def constant_value(v):
    """The value of ``v`` when it is known while validating (a numpy array), else None: a constant's,
    and the integer arithmetic of sizes the expression declares (``x.shape[0] * 2``, see :mod:`.validate`)."""
    return v.get(KNOWN)


def constant_int(v):
    """The int a constant integer scalar ``v`` holds, else None."""
    value = constant_value(v)
    return int(value) if value is not None and value.ndim == 0 and value.dtype.kind in "iu" else None


def same_dtype(node, v) -> str | None:
    if node["dtype"] != v["dtype"]:
        return f"keeps its input's dtype {v['dtype']}, but the node says {node['dtype']}"
    return None


def has_dtype(node, dtype) -> str | None:
    if node["dtype"] != dtype:
        return f"gives {dtype}, but the node says {node['dtype']}"
    return None


def integer_scalar(v, what) -> str | None:
    if rank(v) != 0 or v["dtype"] not in INT_DTYPES:
        return f"{what} must be an integer scalar, got a {rank(v)}-d {v['dtype']} value"
    return None


def axis_problem(attr, axis, ndim) -> str | None:
    """``axis`` (non-negative, as the tracer writes it) must be an axis of an ``ndim``-d input (a
    0-d input has axis 0, as Theano's reductions say)."""
    if axis >= max(ndim, 1):
        return f"{attr} {axis} is not an axis of its {ndim}-d input"
    return None


def broadcast(inputs):
    """(shape, problem): the result's sizes of an elementwise op (Theano pads a lower-rank input with
    broadcastable axes on the left): a known size other than 1 where an input has one, 1 where every
    input has 1, else unknown; a problem when two known sizes other than 1 differ."""
    nd = max((rank(v) for v in inputs), default=0)
    shapes = [[1] * (nd - rank(v)) + list(v["shape"]) for v in inputs]
    out = []
    for axis in range(nd):
        sizes = [s[axis] for s in shapes]
        big = {n for n in sizes if n is not None and n != 1}
        if len(big) > 1:
            return None, f"has inputs of sizes {sorted(big)} on axis {axis}, which do not broadcast"
        out.append(big.pop() if big else 1 if None not in sizes else None)
    return out, None


def elementwise(n, most=None, dtype=None):
    """The check of an elementwise op of ``n`` (to ``most``) inputs; ``dtype``: the result's dtype
    when the op decides it (comparisons give bool)."""

    def check(node, inputs):
        problem = count(inputs, n, most)
        if problem:
            return problem
        shape, problem = broadcast(inputs)
        return problem or fits(node, shape) or (has_dtype(node, dtype) if dtype else None)

    return check


def unary(node, inputs):
    return elementwise(1)(node, inputs)


def binary(node, inputs):
    return elementwise(2)(node, inputs)
