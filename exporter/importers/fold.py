"""Constant folding for the importers' view: nodes whose inputs are all constants are evaluated ahead of
time (onnx's reference evaluator) and their outputs become constants.

Shapes are folded where they are known: ``Shape(x)`` of a value whose batch size is unknown is only
partly known, but ``Gather(Shape(x), 1)`` is not, nor is arithmetic on the known sizes (traced
custom code computes ``x.shape[1] // 2``, crops and index grids from such sizes).  Partly known int
values are tracked element by element (:class:`Partial`) through the shape arithmetic below; a
result whose every element is known becomes a constant, the rest is left to the converters.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UnsupportedNodeError

# ops that are pure functions of their inputs and cheap to evaluate ahead of time
FOLDABLE = {"Constant", "Cast", "Concat", "Gather", "Slice", "Unsqueeze", "Squeeze", "Reshape", "Transpose",
            "Add", "Sub", "Mul", "Div", "Neg", "Identity", "Range", "ConstantOfShape", "ReduceProd", "Shape",
            "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where",
            "ReduceMin", "ReduceMax", "ReduceSum", "Max", "Min", "Abs", "Floor", "Expand", "Tile", "ScatterND"}
# ops whose folded result can be far larger than their inputs: folded only up to MAX_GROWN elements
GROWING = {"Expand", "Tile", "ConstantOfShape", "Range"}
MAX_GROWN = 1 << 16


@dataclass
class Partial:
    """An int (or bool; or a float cast of one) value some of whose elements are known: ``values`` where
    ``known``."""
    values: np.ndarray
    known: np.ndarray

    @property
    def complete(self):
        return bool(self.known.all())


def fold_constants(v):
    """Fold what can be folded in the view ``v`` (its ``nodes``, ``consts`` and ``shapes`` are updated)."""
    from onnx import numpy_helper

    partial = {}
    kept = []
    read_before = {i for n in v.nodes for i in n.inputs if i}
    for n in v.nodes:
        if n.op_type == "Constant":
            (key, val), = n.attrs.items()
            if key == "value":
                arr = numpy_helper.to_array(val)
            elif key in ("value_float", "value_int"):
                arr = np.array(val, dtype=np.float32 if key == "value_float" else np.int64)
            elif key in ("value_floats", "value_ints"):
                arr = np.array(val, dtype=np.float32 if key == "value_floats" else np.int64)
            else:
                raise UnsupportedNodeError(n, f"Constant attribute {key!r} is not supported")
            _set_const(v, n.outputs[0], arr)
            continue
        if len(n.outputs) == 1 and (n.op_type == "Shape" or any(i in partial for i in n.inputs)):
            found = _partial_result(n, v, partial)
            if found is not None and found.complete:
                _set_const(v, n.outputs[0], found.values)
                continue
            if found is not None:
                partial[n.outputs[0]] = found
            kept.append(n)
            continue
        ins = [i for i in n.inputs if i]
        if n.op_type in FOLDABLE and ins and all(i in v.consts for i in ins) and len(n.outputs) == 1:
            arr = _evaluate(n, v)
            if arr is not None:
                _set_const(v, n.outputs[0], arr)
                continue
        kept.append(n)
    v.nodes = _without_dead(kept, read_before, set(v.outputs))


def _without_dead(nodes, read_before, outputs):
    """``nodes`` less those whose every output was read only by nodes folded away (shape arithmetic
    whose result became a constant), repeatedly."""
    while True:
        read = {i for n in nodes for i in n.inputs if i}
        dead = {n.index for n in nodes if all(o in read_before and o not in read and o not in outputs
                                              for o in n.outputs if o)}
        if not dead:
            return nodes
        nodes = [n for n in nodes if n.index not in dead]


def _set_const(v, name, arr):
    v.consts[name] = arr
    v.shapes[name] = list(arr.shape)


def _evaluate(n, v):
    """The output of ``n`` (all of whose inputs are constants), or None when it cannot be evaluated."""
    from onnx import helper, numpy_helper

    try:
        from onnx.reference import ReferenceEvaluator

        node = helper.make_node(n.op_type, n.inputs, n.outputs, **n.attrs)
        ev = ReferenceEvaluator(helper.make_graph(
            [node], "fold", [], [helper.make_tensor_value_info(n.outputs[0], 0, None)],
            [numpy_helper.from_array(v.consts[i], i) for i in n.inputs if i]), opsets={"": v.opset})
        arr = np.asarray(ev.run(None, {})[0])
    except Exception:  # not foldable after all: leave it to the converters
        return None
    if n.op_type in GROWING and arr.size > MAX_GROWN:
        return None
    return arr


# -- partly known shapes ----------------------------------------------------------------------------------
def _operand(name, v, partial):
    """A Partial for an input (a constant is completely known), or None."""
    if name in partial:
        return partial[name]
    arr = v.consts.get(name)
    if arr is None or arr.dtype.kind not in "iub":
        return None
    return Partial(arr, np.ones(arr.shape, bool))


def _ints(v, name):
    arr = v.consts.get(name) if name else None
    return None if arr is None else [int(x) for x in arr.reshape(-1)]


def _partial_result(n, v, partial):
    """The Partial output of a shape-arithmetic node ``n``, or None when it is not one."""
    if n.op_type == "Shape":
        s = v.shapes.get(n.inputs[0])
        if s is None:
            return None
        s = s[n.attr("start", 0):n.attr("end", len(s))]
        return Partial(np.array([d or 0 for d in s], np.int64), np.array([d is not None for d in s], bool))
    args = [_operand(i, v, partial) if i else None for i in n.inputs]
    fn = _PARTIAL_OPS.get(n.op_type)
    if fn is None or args[0] is None:
        return None
    try:
        return fn(n, v, args)
    except (ValueError, IndexError, TypeError):  # an input of a form the ONNX op would refuse too
        return None


def _gather(n, v, args):
    data, idx = args
    if idx is None or not idx.complete:
        return None
    axis = n.attr("axis", 0)
    return Partial(np.take(data.values, idx.values, axis=axis), np.take(data.known, idx.values, axis=axis))


def _slice(n, v, args):
    ins = list(n.inputs) + [""] * (5 - len(n.inputs))
    starts, ends, axes, steps = (_ints(v, i) for i in ins[1:5])
    if starts is None or ends is None or (ins[3] and axes is None) or (ins[4] and steps is None):
        return None
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    data = args[0]
    index = [slice(None)] * data.values.ndim
    for a, s, e, st in zip(axes, starts, ends, steps):
        index[a] = slice(s, e, st)  # numpy clamps the bounds as ONNX does
    index = tuple(index)
    return Partial(data.values[index], data.known[index])


def _concat(n, v, args):
    if any(a is None for a in args):
        return None
    axis = n.attr("axis")
    return Partial(np.concatenate([a.values for a in args], axis), np.concatenate([a.known for a in args], axis))


def _axes(n, v):
    return _ints(v, n.inputs[1]) if len(n.inputs) > 1 and n.inputs[1] else n.attr("axes")


def _unsqueeze(n, v, args):
    axes = _axes(n, v)
    if axes is None:
        return None
    values, known = args[0].values, args[0].known
    rank = values.ndim + len(axes)
    for a in sorted(a + rank if a < 0 else a for a in axes):
        values, known = np.expand_dims(values, a), np.expand_dims(known, a)
    return Partial(values, known)


def _squeeze(n, v, args):
    axes = _axes(n, v)
    values, known = args[0].values, args[0].known
    axes = tuple(range(values.ndim)) if axes is None else tuple(a % values.ndim for a in axes)
    axes = tuple(a for a in axes if values.shape[a] == 1)
    return Partial(np.squeeze(values, axes), np.squeeze(known, axes))


def _cast(n, v, args):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(n.attr("to")))
    if dtype.kind not in "iubf":
        return None
    # to float too: Theano's mean divides by cast(x.shape[i]), a size known though the batch size is not
    return Partial(args[0].values.astype(dtype), args[0].known)


def _identity(n, v, args):
    return args[0]


def _trunc_div(a, b):
    """ONNX's integer Div: the quotient rounded toward zero."""
    q = np.abs(a) // np.abs(b)
    return np.where((a < 0) != (b < 0), -q, q)


_BINARY = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _trunc_div, "Max": np.maximum,
           "Min": np.minimum, "Equal": np.equal, "Less": np.less, "Greater": np.greater, "LessOrEqual": np.less_equal,
           "GreaterOrEqual": np.greater_equal, "And": np.logical_and, "Or": np.logical_or, "Xor": np.logical_xor}


def _binary(n, v, args):
    if len(args) != 2 or args[1] is None:
        return None
    a, b = args
    if n.op_type == "Div":
        if (b.known & (b.values == 0)).any():
            return None
        b = Partial(np.where(b.known, b.values, 1), b.known)
    fn = np.true_divide if n.op_type == "Div" and np.result_type(a.values, b.values).kind == "f" \
        else _BINARY[n.op_type]
    values = fn(a.values, b.values)
    return Partial(np.asarray(values), np.asarray(np.logical_and(a.known, b.known)))


def _unary(n, v, args):
    fn = {"Neg": np.negative, "Not": np.logical_not, "Abs": np.abs}[n.op_type]
    return Partial(np.asarray(fn(args[0].values)), args[0].known)


def _reduce(n, v, args):
    axes = _axes(n, v)
    x = args[0]
    if not axes and n.attr("noop_with_empty_axes", 0):
        return x
    axes = tuple(range(x.values.ndim)) if not axes else tuple(axes)
    keep = bool(n.attr("keepdims", 1))
    fn = {"ReduceMin": np.min, "ReduceMax": np.max, "ReduceProd": np.prod, "ReduceSum": np.sum}[n.op_type]
    return Partial(np.asarray(fn(x.values, axis=axes, keepdims=keep)), np.all(x.known, axis=axes, keepdims=keep))


_PARTIAL_OPS = {"Gather": _gather, "Slice": _slice, "Concat": _concat, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
                "Cast": _cast, "Identity": _identity, "Neg": _unary, "Not": _unary, "Abs": _unary,
                **{op: _binary for op in _BINARY},
                **{op: _reduce for op in ("ReduceMin", "ReduceMax", "ReduceProd", "ReduceSum")}}
