"""Evaluate, with numpy, traced ops whose inputs are all constant (literals and parameters).

What a layer computes from its parameters alone (a weight normalisation ``W * g / norm(W)``, a
masked kernel, a transposed weight, weights binarised by a user's Theano op) is computed once at export, as Theano would compute it, and
stored as one initializer: the ONNX graph stays small and importers see constant kernels.  Each
evaluator mirrors Theano's definition (sums accumulate in float64 as Theano's ``Sum`` does; the
result takes the node's dtype).  Ops not listed here are lowered to ONNX nodes as usual.

A validated expression (:mod:`.validate`) has the ranks its nodes declare, but the sizes a node leaves
unknown (computed ones: ``W.reshape(W.shape[0] // 2, -1)``) are only known here: an evaluation whose
constant inputs do not fit together (sizes that do not broadcast, an index beyond its axis) raises
:class:`Mismatch`, and a result must have the type its node declares, before numpy would fail.
"""
import numpy as np


class Mismatch(Exception):
    """Constants that do not fit the op or the node's declared type (the expression is inconsistent)."""

_ELEMWISE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide, "maximum": np.maximum,
    "minimum": np.minimum, "pow": np.power, "neg": np.negative, "abs_": np.abs, "sqr": np.square, "sqrt": np.sqrt,
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "inv": np.reciprocal, "sgn": np.sign, "eq": np.equal,
    "neq": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "switch": lambda c, a, b: np.where(c != 0, a, b), "tensor_copy": lambda a: a, "patternbroadcast": lambda a: a,
    "clip": lambda x, lo, hi: np.where(x < lo, lo, np.where(x > hi, hi, x)),
    "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "round_half_to_even": np.rint,
    "round_half_away_from_zero": lambda a: np.where(np.abs(a - np.trunc(a)) == 0.5, np.trunc(a) + np.sign(a), np.rint(a)),
}


def _compute_dtype(node, arrays):
    """Theano computes an elementwise op in its output dtype (comparisons: in the inputs' upcast)."""
    if node.dtype == "bool" and arrays:
        return np.result_type(*[a.dtype for a in arrays])
    return np.dtype(node.dtype)


def evaluate(node, arrays):
    """The value of ``node`` for constant ``arrays``, or None when it is left to ONNX; raises
    :class:`Mismatch` when the constants do not fit the op or the result the node's type."""
    short = node.op.rsplit(".", 1)[-1]
    if node.op.startswith("theano.tensor.nnet."):
        return None
    with np.errstate(all="ignore"):
        if short in _ELEMWISE and node.op.count(".") == 2:
            _broadcast([a.shape for a in arrays])
            if short == "switch":
                dt = np.dtype(node.dtype)
                result = _ELEMWISE[short](arrays[0], arrays[1].astype(dt), arrays[2].astype(dt))
            else:
                dt = _compute_dtype(node, arrays)
                result = _ELEMWISE[short](*[a.astype(dt) for a in arrays])
        else:
            fn = _STRUCTURAL.get(node.op)
            if fn is None:
                return None
            result = fn(node, arrays)
            if result is None:
                return None
    shape = np.shape(result)
    if len(shape) != node.ndim or any(n is not None and n != s for n, s in zip(node.shape, shape)) or any(
            b and s != 1 for b, s in zip(node.broadcastable, shape)):
        raise Mismatch(f"its constant result has shape {list(shape)}, but the node says {node.shape} "
                       f"(broadcastable {node.broadcastable})")
    return result


def _broadcast(shapes):
    """Sizes that broadcast (numpy's rule, from the right)."""
    for axis in range(1, max((len(s) for s in shapes), default=0) + 1):
        sizes = {s[-axis] for s in shapes if len(s) >= axis} - {1}
        if len(sizes) > 1:
            raise Mismatch(f"its constant inputs of shapes {[list(s) for s in shapes]} do not broadcast")


def _within(i, size, what):
    if not -size <= i < size:
        raise Mismatch(f"{what} {i} is beyond an axis of size {size}")



def _axes(node, x):
    axis = node.attrs.get("axis")
    return tuple(range(x.ndim)) if axis is None else tuple(axis)


def _reduce(np_fn, accumulate):
    def evaluate_reduction(node, arrays):
        x = arrays[0]
        kw = {"dtype": accumulate(x.dtype)} if accumulate else {}
        return np_fn(x, axis=_axes(node, x), keepdims=node.attrs.get("keepdims", False), **kw)

    return evaluate_reduction


def _mean(node, arrays):
    """Theano's mean: the sum (float64 accumulator, node dtype) divided by each reduced size in turn."""
    x = arrays[0]
    axes = _axes(node, x)
    dt = np.dtype(node.dtype)
    s = np.sum(x, axis=axes, keepdims=node.attrs.get("keepdims", False), dtype=np.float64).astype(dt)
    for a in axes:
        s = (s / dt.type(x.shape[a])).astype(dt)
    return s


def _dimshuffle(node, arrays):
    x = arrays[0]
    order = node.attrs["new_order"]
    kept = [p for p in order if p != "x"]
    if any(x.shape[i] != 1 for i in range(x.ndim) if i not in kept):
        raise Mismatch(f"new_order {order} drops an axis of its constant input of shape {list(x.shape)}")
    x = x.reshape([x.shape[i] for i in sorted(kept)])
    x = np.transpose(x, [sorted(kept).index(p) for p in kept])
    return x.reshape([1 if p == "x" else x.shape[kept.index(p)] for p in order])


def _subtensor(node, arrays):
    x, extra = arrays[0], arrays
    index = []

    def value(p):
        return None if p is None else (int(extra[p["input"]]) if isinstance(p, dict) else p)

    for axis, e in enumerate(node.attrs["idx_list"]):
        if "index" in e:
            _within(value(e["index"]), x.shape[axis], "index")
        index.append(value(e["index"]) if "index" in e else slice(*[value(p) for p in e["slice"]]))
    return x[tuple(index)]


def _reshape(node, arrays):
    x, sizes = arrays[0], [int(v) for v in arrays[1]]
    rest = int(np.prod([n for n in sizes if n != -1]))
    if any(n < -1 for n in sizes) or sizes.count(-1) > 1 or (
            x.size != rest if -1 not in sizes else rest == 0 or x.size % rest):
        raise Mismatch(f"reshapes a constant of shape {list(x.shape)} to {sizes}")
    return x.reshape(sizes)


def _joined(node, arrays):
    """Inputs of one shape but on the joined axis (concatenate), or of one shape (stack)."""
    axis = node.attrs["axis"]
    stacked = node.op == "theano.tensor.stack"
    shapes = {tuple(n for i, n in enumerate(a.shape) if stacked or i != axis) for a in arrays}
    if len(shapes) > 1 or len({a.ndim for a in arrays}) > 1:
        raise Mismatch(f"joins constants of shapes {[list(a.shape) for a in arrays]}")
    join = np.stack if stacked else np.concatenate
    return join([v.astype(node.dtype) for v in arrays], axis=axis)


def _dot(node, arrays):
    a, b = arrays
    if a.shape[-1] != b.shape[0]:
        raise Mismatch(f"multiplies constants of shapes {list(a.shape)} and {list(b.shape)}")
    return np.dot(a.astype(node.dtype), b.astype(node.dtype))


def _take(node, arrays):
    x, indices = arrays
    size = x.shape[node.attrs["axis"]]
    if indices.size:
        _within(int(indices.min()), size, "index")
        _within(int(indices.max()), size, "index")
    return np.take(x, indices, axis=node.attrs["axis"])


FOLD_LIMIT = 1 << 20  # elements: a larger constant range or identity is left to ONNX (Range), not stored


def _arange(node, arrays):
    """Theano's ARange: ``np.arange`` of the inputs' Python values in the node's dtype."""
    start, stop, step = (a.item() for a in arrays)
    if step == 0:
        raise Mismatch("its step is 0")
    if max(0, np.ceil((stop - start) / step)) > FOLD_LIMIT:
        return None
    return np.arange(start, stop, step, dtype=node.dtype)


def _eye(node, arrays):
    n, m, k = (int(a) for a in arrays)
    if n < 0 or m < 0:
        raise Mismatch(f"its sizes {n} x {m} are negative")
    return np.eye(n, m, k, dtype=node.dtype) if n * m <= FOLD_LIMIT else None


_STRUCTURAL = {
    "theano.tensor.sum": _reduce(np.sum, lambda d: np.float64 if d.kind == "f" else None),
    "theano.tensor.prod": _reduce(np.prod, lambda d: np.float64 if d.kind == "f" else None),
    "theano.tensor.max": _reduce(np.max, None),
    "theano.tensor.min": _reduce(np.min, None),
    "theano.tensor.mean": _mean,
    "theano.tensor.dimshuffle": _dimshuffle,
    "theano.tensor.reshape": _reshape,
    "theano.tensor.flatten": lambda node, a: a[0].reshape(a[0].shape[:node.attrs["ndim"] - 1] + (-1,)),
    "theano.tensor.subtensor.Subtensor": _subtensor,
    "theano.tensor.cast": lambda node, a: a[0].astype(node.attrs["dtype"]),
    "theano.tensor.dot": _dot,
    "theano.tensor.concatenate": _joined,
    "theano.tensor.stack": _joined,
    "theano.tensor.take": _take,
    "theano.tensor.arange": _arange,
    "theano.tensor.eye": _eye,
}
