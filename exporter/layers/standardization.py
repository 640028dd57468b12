"""StandardizationLayer (Lasagne 0.2), the layer ``instance_norm`` and ``layer_norm`` put before their
ScaleLayer / BiasLayer / NonlinearityLayer (those export as themselves).

``(x - mean) / sqrt(var + epsilon)`` with mean and (biased) variance over ``axes`` of each example:
epsilon is added to the variance inside the square root, as Lasagne does (not to the standard
deviation).  Lowered op for op, as Theano computes it: ReduceMean, Sub, Mul, ReduceMean, Add, Sqrt, Div.
"""
import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, NUMBER, array, obj


@capture_rule("Standardization", "StandardizationLayer")
def capture_standardization(layer, ctx):
    rank = len(ctx.input_shape)
    axes = sorted({int(a) % rank for a in layer.axes})
    epsilon = layer.epsilon
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool):
        raise ctx.unsupported(f"epsilon={epsilon!r} is not a number (a Theano expression cannot be exported)")
    return {"axes": axes, "epsilon": float(epsilon)}


@attrs_schema("Standardization", obj({"axes": array(NON_NEGATIVE, 1, unique=True), "epsilon": NUMBER}))
def check_standardization(layer):
    axes = layer.attrs["axes"]
    if axes != sorted(axes) or axes[-1] >= layer.rank:
        return f"attribute 'axes' must list axes of its {layer.rank}-d input in increasing order, got {axes}"
    return None


@converter("Standardization", emits=("ReduceMean", "Sub", "Mul", "Add", "Sqrt", "Div"))
def convert_standardization(spec, g):
    x = g.input(spec)
    axes = spec.attrs["axes"]
    centered = g.node("Sub", [x, g.reduce("ReduceMean", x, axes, spec.name)], spec.name)
    var = g.reduce("ReduceMean", g.node("Mul", [centered, centered], spec.name), axes, spec.name)
    epsilon = g.constant(f"{spec.name}.epsilon", np.float32(spec.attrs["epsilon"]))  # float32 even if given as 1
    std = g.node("Sqrt", [g.node("Add", [var, epsilon], spec.name)], spec.name)
    return g.node("Div", [centered, std], spec.name, output=g.out(spec))
