"""ConcatLayer and ElemwiseSumLayer / ElemwiseMergeLayer."""
import numpy as np

from ..frontends.lasagne_live import describe_callable, identify
from ..registry import attrs_schema, capture_rule, converter
from ..schema import CROPPING, INT, NUMBER, array, obj


@capture_rule("Concat", "ConcatLayer")
def capture_concat(layer, ctx):
    cropping = getattr(layer, "cropping", None)
    return {"axis": int(layer.axis), "cropping": None if cropping is None else list(cropping)}


@attrs_schema("Concat", obj({"axis": INT, "cropping": CROPPING}))
def check_concat(layer):
    return _axis_problem(layer) or _cropping_problem(layer)


def _axis_problem(layer):
    rank, axis = layer.rank, layer.attrs["axis"]
    if not -rank <= axis < rank:
        return f"axis {axis} is not an axis of its {rank}-d inputs"
    return None


def _cropping_problem(layer):
    """Inputs of one rank, whose cropped axes (autocrop) are known; ``cropping`` covers at most that rank."""
    ranks = {len(s) for s in layer.input_shapes}
    if len(ranks) != 1:
        return f"its inputs have different ranks ({', '.join(str(len(s)) for s in layer.input_shapes)})"
    cropping = layer.attrs.get("cropping") or []
    if len(cropping) > layer.rank:
        return f"'cropping' names {len(cropping)} axes of its {layer.rank}-d inputs"
    for axis, mode in enumerate(cropping):
        if mode is not None and any(s[axis] is None for s in layer.input_shapes):
            return f"cropping needs known sizes on axis {axis}"
    return None


@converter("Concat", emits=("Concat", "Slice"))
def convert_concat(spec, g):
    xs = [g.input(spec, i) for i in range(len(spec.inputs))]
    cropping = spec.attrs.get("cropping")
    if cropping and any(c is not None for c in cropping):
        xs = _crop(spec, g, xs, cropping)
    return g.node("Concat", xs, spec.name, output=g.out(spec), axis=spec.attrs["axis"])


def _crop(spec, g, xs, cropping):
    """Lasagne's autocrop: crop every input to the smallest size on each cropped axis."""
    shapes = [g.input_shape(spec, i) for i in range(len(xs))]
    out = list(xs)
    for axis, mode in enumerate(cropping):
        if mode is None:
            continue
        sizes = [s[axis] for s in shapes]
        if any(s is None for s in sizes):
            raise ValueError(f"{spec.describe()}: cropping needs known sizes on axis {axis}")
        target = min(sizes)
        for i, size in enumerate(sizes):
            if size == target:
                continue
            start = {"lower": 0, "upper": size - target, "center": (size - target) // 2}[mode]
            out[i] = g.node("Slice", [out[i], g.ints(f"{spec.name}.starts", [start]),
                                      g.ints(f"{spec.name}.ends", [start + target]),
                                      g.ints(f"{spec.name}.axes", [axis])], spec.name)
    return out


_MERGE_FUNCTIONS = {"add": "Add", "mul": "Mul", "maximum": "Max", "minimum": "Min", "sub": "Sub"}


@capture_rule("ElemwiseSum", "ElemwiseSumLayer")
def capture_sum(layer, ctx):
    coeffs = layer.coeffs
    if not isinstance(coeffs, (list, tuple)):
        coeffs = [coeffs] * len(layer.input_layers)
    return {"coeffs": [float(c) for c in coeffs], "cropping": _cropping(layer)}


@attrs_schema("ElemwiseSum", obj({"coeffs": array(NUMBER, 1), "cropping": CROPPING}))
def check_sum(layer):
    n = len(layer.input_shapes)
    if len(layer.attrs["coeffs"]) != n:
        return f"'coeffs' has {len(layer.attrs['coeffs'])} values for {n} inputs"
    return _cropping_problem(layer)


@converter("ElemwiseSum", emits=("Slice", "Mul", "Add", "Identity"))
def convert_sum(spec, g):
    terms = []
    xs = _inputs_cropped(spec, g)
    for i, c in enumerate(spec.attrs["coeffs"]):
        x = xs[i]
        if c != 1:
            x = g.node("Mul", [x, g.constant(f"{spec.name}.coeff{i}", np.float32(c))], spec.name)
        terms.append(x)
    return _chain(g, spec, "Add", terms)


@capture_rule("ElemwiseMerge", "ElemwiseMergeLayer")
def capture_merge(layer, ctx):
    fn = identify(layer.merge_function, {f: (f"theano.tensor.{f}",) for f in _MERGE_FUNCTIONS})
    if fn is None:
        raise ctx.unsupported(f"merge_function {describe_callable(layer.merge_function)!r} (supported: theano.tensor "
                              f"{', '.join(_MERGE_FUNCTIONS)})")
    return {"merge_function": fn, "cropping": _cropping(layer)}


@attrs_schema("ElemwiseMerge", obj({"merge_function": {"enum": sorted(_MERGE_FUNCTIONS)}, "cropping": CROPPING}))
def check_merge(layer):
    return _cropping_problem(layer)


@converter("ElemwiseMerge", emits=("Slice", "Identity", *_MERGE_FUNCTIONS.values()))
def convert_merge(spec, g):
    terms = _inputs_cropped(spec, g)
    return _chain(g, spec, _MERGE_FUNCTIONS[spec.attrs["merge_function"]], terms)


def _cropping(layer):
    """Lasagne 0.2's ``cropping`` of the elementwise merge layers (0.1 has none)."""
    cropping = getattr(layer, "cropping", None)
    return None if cropping is None else list(cropping)


def _inputs_cropped(spec, g):
    xs = [g.input(spec, i) for i in range(len(spec.inputs))]
    cropping = spec.attrs.get("cropping")
    if cropping and any(c is not None for c in cropping):
        xs = _crop(spec, g, xs, cropping)
    return xs


def _chain(g, spec, op, terms):
    """Left fold with a binary op, the last node writing the layer's output."""
    acc = terms[0]
    for k, x in enumerate(terms[1:]):
        last = k == len(terms) - 2
        acc = g.node(op, [acc, x], spec.name, output=g.out(spec) if last else None)
    if len(terms) == 1:
        acc = g.node("Identity", [acc], spec.name, output=g.out(spec))
    return acc
