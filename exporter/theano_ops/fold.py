"""Evaluate, with numpy, traced ops whose inputs are all constant (literals and parameters).

What a layer computes from its parameters alone (a weight normalisation ``W * g / norm(W)``, a
masked kernel, a transposed weight) is computed once at export, as Theano would compute it, and
stored as one initializer: the ONNX graph stays small and importers see constant kernels.  Each
evaluator mirrors Theano's definition (sums accumulate in float64 as Theano's ``Sum`` does; the
result takes the node's dtype).  Ops not listed here are lowered to ONNX nodes as usual.
"""
import numpy as np

_ELEMWISE = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "true_div": np.true_divide, "maximum": np.maximum,
    "minimum": np.minimum, "pow": np.power, "neg": np.negative, "abs_": np.abs, "sqr": np.square, "sqrt": np.sqrt,
    "exp": np.exp, "log": np.log, "tanh": np.tanh, "inv": np.reciprocal, "sgn": np.sign, "eq": np.equal,
    "neq": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal,
    "switch": lambda c, a, b: np.where(c != 0, a, b), "tensor_copy": lambda a: a, "patternbroadcast": lambda a: a,
    "clip": lambda x, lo, hi: np.where(x < lo, lo, np.where(x > hi, hi, x)),
}


def _compute_dtype(node, arrays):
    """Theano computes an elementwise op in its output dtype (comparisons: in the inputs' upcast)."""
    if node.dtype == "bool" and arrays:
        return np.result_type(*[a.dtype for a in arrays])
    return np.dtype(node.dtype)


def evaluate(node, arrays):
    """The value of ``node`` for constant ``arrays``, or None when it is left to ONNX."""
    short = node.op.rsplit(".", 1)[-1]
    if node.op.startswith("theano.tensor.nnet."):
        return None
    with np.errstate(all="ignore"):
        if short in _ELEMWISE and node.op.count(".") == 2:
            if short == "switch":
                dt = np.dtype(node.dtype)
                return _ELEMWISE[short](arrays[0], arrays[1].astype(dt), arrays[2].astype(dt))
            dt = _compute_dtype(node, arrays)
            return _ELEMWISE[short](*[a.astype(dt) for a in arrays])
        fn = _STRUCTURAL.get(node.op)
        return fn(node, arrays) if fn is not None else None


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
    x = x.reshape([x.shape[i] for i in sorted(kept)])
    x = np.transpose(x, [sorted(kept).index(p) for p in kept])
    return x.reshape([1 if p == "x" else x.shape[kept.index(p)] for p in order])


def _subtensor(node, arrays):
    x, extra = arrays[0], arrays
    index = []

    def value(p):
        return None if p is None else (int(extra[p["input"]]) if isinstance(p, dict) else p)

    for e in node.attrs["idx_list"]:
        index.append(value(e["index"]) if "index" in e else slice(*[value(p) for p in e["slice"]]))
    return x[tuple(index)]


_STRUCTURAL = {
    "theano.tensor.sum": _reduce(np.sum, lambda d: np.float64 if d.kind == "f" else None),
    "theano.tensor.prod": _reduce(np.prod, lambda d: np.float64 if d.kind == "f" else None),
    "theano.tensor.max": _reduce(np.max, None),
    "theano.tensor.min": _reduce(np.min, None),
    "theano.tensor.mean": _mean,
    "theano.tensor.dimshuffle": _dimshuffle,
    "theano.tensor.reshape": lambda node, a: a[0].reshape([int(v) for v in a[1]]),
    "theano.tensor.flatten": lambda node, a: a[0].reshape(a[0].shape[:node.attrs["ndim"] - 1] + (-1,)),
    "theano.tensor.subtensor.Subtensor": _subtensor,
    "theano.tensor.cast": lambda node, a: a[0].astype(node.attrs["dtype"]),
    "theano.tensor.dot": lambda node, a: np.dot(a[0].astype(node.dtype), a[1].astype(node.dtype)),
    "theano.tensor.concatenate": lambda node, a: np.concatenate([v.astype(node.dtype) for v in a],
                                                                axis=node.attrs["axis"]),
    "theano.tensor.stack": lambda node, a: np.stack([v.astype(node.dtype) for v in a], axis=node.attrs["axis"]),
    "theano.tensor.take": lambda node, a: np.take(a[0], a[1], axis=node.attrs["axis"]),
}
