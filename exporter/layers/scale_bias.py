"""BiasLayer (``x + b``) and ScaleLayer (``x * scales``) with Lasagne's ``shared_axes``.

The parameter holds one value per non-shared axis; it is reshaped so that ONNX broadcasting puts
those values on the right axes.
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, array, axes_problem, obj, shape_problem


def _shared_axes(layer, ctx):
    axes = layer.shared_axes
    if axes == "auto":
        axes = (0,) + tuple(range(2, len(ctx.input_shape)))
    elif isinstance(axes, int):
        axes = (axes,)
    return [int(a) for a in axes]


@capture_rule("Bias", "BiasLayer", params=("b",))
def capture_bias(layer, ctx):
    return {"shared_axes": _shared_axes(layer, ctx)}


@capture_rule("Scale", "ScaleLayer", params=("scales",))
def capture_scale(layer, ctx):
    return {"shared_axes": _shared_axes(layer, ctx)}


def _check_shared_axes(layer):
    axes = layer.attrs["shared_axes"]
    kept = [d for ax, d in enumerate(layer.input_shape) if ax not in axes]
    return axes_problem("shared_axes", axes, layer) or next(
        filter(None, (shape_problem(role, layer, kept, ("shared_axes",)) for role in layer.param_shapes)), None)


for _kind in ("Bias", "Scale"):
    attrs_schema(_kind, obj({"shared_axes": array(NON_NEGATIVE, unique=True)}), check=_check_shared_axes)


def broadcast_shape(spec, g, shared_axes):
    """Shape of the parameter once its shared axes are re-inserted as 1s (batch axis dropped)."""
    rank = len(g.input_shape(spec))
    shared = {a % rank for a in shared_axes}
    role = spec.params[0]
    it = iter(role.shape)
    shape = [1 if ax in shared else next(it) for ax in range(rank)]
    return shape[1:] if 0 in shared else shape


def _emit(op, role):
    def convert(spec, g):
        if spec.param(role) is None:
            return g.node("Identity", [g.input(spec)], spec.name, output=g.out(spec))
        shape = broadcast_shape(spec, g, spec.attrs["shared_axes"])
        p = g.param(spec, role, transform=lambda v: v.reshape(shape))
        return g.node(op, [g.input(spec), p], spec.name, output=g.out(spec))

    return convert


converter("Bias", emits=("Add", "Identity"))(_emit("Add", "b"))
converter("Scale", emits=("Mul", "Identity"))(_emit("Mul", "scales"))
