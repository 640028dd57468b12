"""ParametricRectifierLayer (``prelu``): ``relu(x, alpha)`` with one learned slope per position on the
non-shared axes ('auto': per channel, 'all': one scalar).  ONNX PRelu broadcasts its slope from
the right, so alpha is reshaped with unit sizes on the shared axes (the batch axis dropped when
shared)."""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, array, axes_problem, obj, shape_problem
from .scale_bias import broadcast_shape


@capture_rule("PRelu", "ParametricRectifierLayer", params=("alpha",))
def capture_prelu(layer, ctx):
    rank = len(ctx.input_shape)
    axes = layer.shared_axes
    if axes == "auto":
        axes = (0,) + tuple(range(2, rank))
    elif axes == "all":
        axes = tuple(range(rank))
    elif isinstance(axes, int):
        axes = (axes,)
    return {"shared_axes": [int(a) % rank for a in axes]}


@attrs_schema("PRelu", obj({"shared_axes": array(NON_NEGATIVE, unique=True)}), required_params=("alpha",))
def check_prelu(layer):
    axes = layer.attrs["shared_axes"]
    return axes_problem("shared_axes", axes, layer) or shape_problem(
        "alpha", layer, [d for ax, d in enumerate(layer.input_shape) if ax not in axes], ("shared_axes",))


@converter("PRelu", emits=("PRelu",))
def convert_prelu(spec, g):
    shape = broadcast_shape(spec, g, spec.attrs["shared_axes"])
    slope = g.param(spec, "alpha", transform=lambda v: v.reshape(shape))
    return g.node("PRelu", [g.input(spec), slope], spec.name, output=g.out(spec))
