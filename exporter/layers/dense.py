"""DenseLayer: ``nonlinearity(dot(flatten(x, num_leading_axes), W) + b)`` with W of shape (in, out)."""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, NONLINEARITY, POSITIVE, obj, product, shape_problem


@capture_rule("Dense", "DenseLayer", params=("W", "b"))
def capture_dense(layer, ctx):
    lead = int(getattr(layer, "num_leading_axes", 1))
    return {
        "num_units": int(layer.num_units),
        "num_leading_axes": lead + len(ctx.input_shape) if lead < 0 else lead,
        "nonlinearity": ctx.nonlinearity(layer.nonlinearity),
    }


@attrs_schema("Dense", obj({"num_units": POSITIVE, "num_leading_axes": NON_NEGATIVE, "nonlinearity": NONLINEARITY}),
              required_params=("W",))
def check_dense(layer):
    a = layer.attrs
    lead = a["num_leading_axes"]
    if lead >= layer.rank:
        return f"num_leading_axes {lead} leaves no axis of its {layer.rank}-d input to multiply"
    return (shape_problem("W", layer, [product(layer.input_shape[lead:]), a["num_units"]],
                          ("num_units", "num_leading_axes"))
            or shape_problem("b", layer, [a["num_units"]], ("num_units",)))


@converter("Dense", emits=("Flatten", "Gemm", "MatMul", "Reshape", "Add"))
def convert_dense(spec, g):
    rank = len(g.input_shape(spec))
    lead = spec.attrs["num_leading_axes"]  # captured as a non-negative axis count
    x = g.input(spec)
    w = g.param(spec, "W")
    has_b = spec.param("b") is not None
    if lead == 1:
        if rank > 2:
            x = g.node("Flatten", [x], spec.name, axis=1)
        if has_b:
            return g.node("Gemm", [x, w, g.param(spec, "b")], spec.name, output=g.out(spec), transB=0)
        return g.node("MatMul", [x, w], spec.name, output=g.out(spec))
    if rank > lead + 1:
        x = g.node("Reshape", [x, g.ints(f"{spec.name}.shape", [0] * lead + [-1])], spec.name)
    y = g.node("MatMul", [x, w], spec.name, output=None if has_b else g.out(spec))
    if not has_b:
        return y
    return g.node("Add", [y, g.param(spec, "b")], spec.name, output=g.out(spec))
