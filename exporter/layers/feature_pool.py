"""Feature pooling: FeaturePoolLayer (maxout and its kin) and FeatureWTALayer (winner take all).

Both split ``axis`` into ``(size // pool_size, pool_size)`` as Lasagne's ``input.reshape(pool_shape)``
does, so consecutive features form a group.  FeaturePoolLayer reduces the group axis with its
``pool_function`` (``theano.tensor`` max, min, mean, sum or prod -> ONNX Reduce*); FeatureWTALayer
keeps ``input * (argmax == position)``: the first maximum of each group (ArgMax picks the first, as
Theano's argmax does), every other feature zeroed.

Lasagne computes the reshape from ``input_shape[:axis]`` and ``input_shape[axis+1:]``, which for a
negative ``axis`` duplicates the whole shape and fails in Theano, so a negative axis is refused.
"""
import numpy as np

from ..frontends.lasagne_live import describe_callable, identify
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, POSITIVE, obj

_POOL_FUNCTIONS = {fn: (f"theano.tensor.{fn}",) for fn in ("max", "min", "mean", "sum", "prod")}
_REDUCE = {"max": "ReduceMax", "min": "ReduceMin", "mean": "ReduceMean", "sum": "ReduceSum", "prod": "ReduceProd"}


def _group_attrs(layer, ctx):
    axis = int(layer.axis)
    rank = len(ctx.input_shape)
    if not 0 <= axis < rank:
        raise ctx.unsupported(f"axis={axis}: Lasagne's reshape for a negative (or out-of-range) axis does not "
                              f"split that axis (Theano fails on it); give the axis as a number in 0..{rank - 1}")
    return {"pool_size": int(layer.pool_size), "axis": axis}


@capture_rule("FeaturePool", "FeaturePoolLayer")
def capture_feature_pool(layer, ctx):
    fn = identify(layer.pool_function, _POOL_FUNCTIONS)
    if fn is None:
        raise ctx.unsupported(f"pool_function {describe_callable(layer.pool_function)!r} (supported: theano.tensor "
                              f"{', '.join(_POOL_FUNCTIONS)})")
    return {**_group_attrs(layer, ctx), "pool_function": fn}


@capture_rule("FeatureWTA", "FeatureWTALayer")
def capture_feature_wta(layer, ctx):
    return _group_attrs(layer, ctx)


_GROUPS = {"pool_size": POSITIVE, "axis": NON_NEGATIVE}


def _check_groups(layer):
    """``axis`` is an axis of the input whose (known) size ``pool_size`` divides, as Lasagne requires."""
    a = layer.attrs
    if a["axis"] >= layer.rank:
        return f"axis {a['axis']} is not an axis of its {layer.rank}-d input"
    size = layer.input_shape[a["axis"]]
    if size is None or size % a["pool_size"]:
        return (f"pool_size {a['pool_size']} does not divide the input's {size or 'unknown'} features on axis "
                f"{a['axis']} (Lasagne needs a known multiple)")
    return None


@attrs_schema("FeaturePool", obj({**_GROUPS, "pool_function": {"enum": list(_POOL_FUNCTIONS)}}))
def check_feature_pool(layer):
    return _check_groups(layer)


@attrs_schema("FeatureWTA", obj(_GROUPS))
def check_feature_wta(layer):
    return _check_groups(layer)


def grouped(spec, g):
    """``spec``'s input reshaped so that its ``axis`` becomes (groups, pool_size)."""
    shape = g.input_shape(spec)
    axis, size = spec.attrs["axis"], spec.attrs["pool_size"]
    head = [0] * axis + [shape[axis] // size, size]  # 0: copy the input's size at the same position
    tail = list(shape[axis + 1:])
    x = g.input(spec)
    if tail.count(None) <= 1:
        target = g.ints(f"{spec.name}.groups", head + [-1 if d is None else d for d in tail])
    else:  # several unknown trailing sizes: read them at run time
        trailing = g.shape(x, spec.name, start=axis + 1)
        target = g.node("Concat", [g.ints(f"{spec.name}.groups", head), trailing], spec.name, axis=0)
    return g.node("Reshape", [x, target], spec.name)


@converter("FeaturePool", emits=("Reshape", "Shape", "Slice", "Concat") + tuple(_REDUCE.values()))
def convert_feature_pool(spec, g):
    op = _REDUCE[spec.attrs["pool_function"]]
    return g.reduce(op, grouped(spec, g), [spec.attrs["axis"] + 1], spec.name, keepdims=False, output=g.out(spec))


@converter("FeatureWTA", emits=("Reshape", "Shape", "Slice", "Concat", "ArgMax", "Equal", "Cast", "Mul"))
def convert_feature_wta(spec, g):
    from onnx import TensorProto  # here: capture rules import in the legacy environment, which has no onnx

    axis, size = spec.attrs["axis"], spec.attrs["pool_size"]
    rank = len(g.input_shape(spec))
    x = grouped(spec, g)
    winner = g.node("ArgMax", [x], spec.name, axis=axis + 1, keepdims=1)
    positions = g.constant(f"{spec.name}.positions",
                           np.arange(size, dtype=np.int64).reshape([1] * (axis + 1) + [size] + [1] * (rank - axis - 1)))
    mask = g.node("Equal", [winner, positions], spec.name)
    mask = g.node("Reshape", [mask, g.shape(g.input(spec), spec.name)], spec.name)
    mask = g.node("Cast", [mask], spec.name, to=TensorProto.FLOAT)
    return g.node("Mul", [g.input(spec), mask], spec.name, output=g.out(spec))
