"""FlattenLayer, ReshapeLayer (with ``[i]`` references) and DimshuffleLayer."""
import numbers

import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, POSITIVE, array, obj


@capture_rule("Flatten", "FlattenLayer")
def capture_flatten(layer, ctx):
    return {"outdim": int(layer.outdim)}


@attrs_schema("Flatten", obj({"outdim": POSITIVE}))
def check_flatten(layer):
    k = layer.attrs["outdim"]
    return None if k <= layer.rank else f"outdim {k} is more than its input's {layer.rank} axes"


@converter("Flatten", emits=("Flatten", "Reshape"))
def convert_flatten(spec, g):
    k = spec.attrs["outdim"]
    if k == 2:
        return g.node("Flatten", [g.input(spec)], spec.name, output=g.out(spec), axis=1)
    shape = g.ints(f"{spec.name}.shape", [0] * (k - 1) + [-1])
    return g.node("Reshape", [g.input(spec), shape], spec.name, output=g.out(spec))


@capture_rule("Reshape", "ReshapeLayer")
def capture_reshape(layer, ctx):
    """Sizes given as ints and ``[i]``; a symbolic size (``input_var.shape[0] * seq_len``) is computed by the
    network, so the layer is traced instead (its sizes become ONNX shape arithmetic)."""
    for s in layer.shape:
        if not isinstance(s, (list, tuple, numbers.Integral, np.integer)):
            raise ctx.unsupported(f"its shape {_shape_text(layer.shape)} holds a symbolic size")
    return {"shape": [[int(s[0])] if isinstance(s, (list, tuple)) else int(s) for s in layer.shape]}


def _shape_text(shape):
    return "(" + ", ".join(repr(s) if isinstance(s, (list, tuple, numbers.Integral, np.integer)) else "<symbolic>"
                           for s in shape) + ")"


# a size, -1 (the rest), or [i]: input dimension i (0 would mean "copy" in ONNX, a zero size in Lasagne)
@attrs_schema("Reshape", obj({"shape": array({"anyOf": [POSITIVE, {"const": -1}, array(NON_NEGATIVE, 1, 1)]}, 1)}))
def check_reshape(layer):
    shape = layer.attrs["shape"]
    refs = [s[0] for s in shape if isinstance(s, list)]
    if any(i >= layer.rank for i in refs):
        return f"shape {shape} refers to an axis its {layer.rank}-d input does not have"
    if shape.count(-1) > 1:
        return f"shape {shape} has more than one -1"
    return None


@converter("Reshape", emits=("Reshape", "Shape", "Gather", "Concat"))
def convert_reshape(spec, g):
    """``[i]`` copies input dimension i.  ONNX's 0 only copies the same position, so other
    references use the static size when known and otherwise read it with Shape/Gather."""
    in_shape = g.input_shape(spec)
    x = g.input(spec)
    static, dynamic = [], False
    for pos, s in enumerate(spec.attrs["shape"]):
        if isinstance(s, list):
            i = s[0]
            if i == pos:
                static.append(0)
            elif in_shape[i] is not None:
                static.append(in_shape[i])
            else:
                static.append(s)
                dynamic = True
        else:
            static.append(s)
    if not dynamic:
        return g.node("Reshape", [x, g.ints(f"{spec.name}.shape", static)], spec.name, output=g.out(spec))
    shape_of_x = g.node("Shape", [x], spec.name)
    pieces = []
    for s in static:
        if isinstance(s, list):
            pieces.append(g.node("Gather", [shape_of_x, g.ints(f"{spec.name}.index", [s[0]])], spec.name, axis=0))
        else:
            pieces.append(g.ints(f"{spec.name}.dim", [s]))
    target = g.node("Concat", pieces, spec.name, axis=0)
    return g.node("Reshape", [x, target], spec.name, output=g.out(spec))


@capture_rule("Dimshuffle", "DimshuffleLayer")
def capture_dimshuffle(layer, ctx):
    pattern = ["x" if p == "x" else int(p) for p in layer.pattern]
    rank = len(ctx.input_shape)
    for ax in range(rank):
        if ax not in pattern and ctx.input_shape[ax] not in (1, None):
            raise ctx.unsupported(f"pattern {pattern} drops axis {ax} of size {ctx.input_shape[ax]}")
    return {"pattern": pattern}


@attrs_schema("Dimshuffle", obj({"pattern": array({"anyOf": [NON_NEGATIVE, {"const": "x"}]})}))
def check_dimshuffle(layer):
    pattern, shape = layer.attrs["pattern"], layer.input_shape
    kept = [p for p in pattern if p != "x"]
    if len(set(kept)) != len(kept) or any(p >= layer.rank for p in kept):
        return f"pattern {pattern} must list distinct axes of its {layer.rank}-d input (and 'x')"
    dropped = [ax for ax in range(layer.rank) if ax not in kept and shape[ax] not in (1, None)]
    if dropped:
        return f"pattern {pattern} drops axis {dropped[0]} of size {shape[dropped[0]]}"
    return None


@converter("Dimshuffle", emits=("Squeeze", "Transpose", "Unsqueeze", "Identity"))
def convert_dimshuffle(spec, g):
    pattern = spec.attrs["pattern"]
    rank = len(g.input_shape(spec))
    x = g.input(spec)
    kept = [p for p in pattern if p != "x"]
    dropped = [ax for ax in range(rank) if ax not in kept]
    steps = []
    if dropped:
        steps.append(("Squeeze", dropped))
    remaining = [ax for ax in range(rank) if ax not in dropped]
    perm = [remaining.index(p) for p in kept]
    if perm != sorted(perm):
        steps.append(("Transpose", perm))
    new_axes = [i for i, p in enumerate(pattern) if p == "x"]
    if new_axes:
        steps.append(("Unsqueeze", new_axes))
    if not steps:
        return g.node("Identity", [x], spec.name, output=g.out(spec))
    for k, (op, arg) in enumerate(steps):
        out = g.out(spec) if k == len(steps) - 1 else None
        if op == "Transpose":
            x = g.node(op, [x], spec.name, output=out, perm=arg)
        else:
            x = (g.squeeze if op == "Squeeze" else g.unsqueeze)(x, arg, spec.name, output=out)
    return x
