"""BatchNormLayer (Lasagne 0.2: beta, gamma, mean, inv_std), its cuDNN twin BatchNormDNNLayer, and
the older community form (std).

Lasagne 0.2 at inference: ``(x - mean) * (gamma * inv_std) + beta`` with ``inv_std = 1/sqrt(var+eps)``.
The community layer: ``(x - mean) * (gamma / (std + eps)) + beta``.  The ``batchnorm_to_variance``
pass rewrites both into ONNX's ``(scale, bias, mean, var, epsilon)``; when that is impossible
(normalisation over other axes than "all but channels", or a would-be negative variance) it
rewrites them into an exact per-element affine ``x * scale + shift`` instead.
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NON_NEGATIVE, NONLINEARITY, NUMBER, array, axes_problem, obj, shape_problem


# foreign_ok: the community BatchNormLayer (and early copies of Lasagne's) lived in users' own projects;
# BatchNormDNNLayer (cuDNN's) has the same parameters and, at inference, the same formula
@capture_rule("BatchNorm", "BatchNormLayer", params=("beta", "gamma", "mean", "inv_std", "std"), foreign_ok=True)
@capture_rule("BatchNorm", "BatchNormDNNLayer", params=("beta", "gamma", "mean", "inv_std"))
def capture_batchnorm(layer, ctx):
    if getattr(layer, "inv_std", None) is not None:
        form = "inv_std"
    elif getattr(layer, "std", None) is not None:
        form = "std"
    else:
        raise ctx.unsupported("BatchNormLayer without inv_std or std statistics")
    attrs = {
        "form": form,
        "axes": [int(a) for a in layer.axes],
        "epsilon": float(layer.epsilon),
        "alpha": float(layer.alpha),
    }
    nl = getattr(layer, "nonlinearity", None)  # the community layer applies one itself
    attrs["nonlinearity"] = ctx.nonlinearity(nl)
    return attrs


# the form as captured; the batchnorm_to_variance pass rewrites it to "variance" or "affine" before lowering
@attrs_schema("BatchNorm", obj({"form": {"enum": ["inv_std", "std"]}, "axes": array(NON_NEGATIVE, 1, unique=True),
                                "epsilon": NUMBER, "alpha": NUMBER, "nonlinearity": NONLINEARITY}),
              required_params=("mean",))
def check_batchnorm(layer):
    form = layer.attrs["form"]
    other = "std" if form == "inv_std" else "inv_std"
    if form not in layer.param_shapes or other in layer.param_shapes:
        return f"form {form!r} needs parameter {form!r} (and no {other!r})"
    problem = axes_problem("axes", layer.attrs["axes"], layer)
    if problem:
        return problem
    kept = [d for ax, d in enumerate(layer.input_shape) if ax not in layer.attrs["axes"]]
    for role in ("mean", form, "beta", "gamma"):
        problem = shape_problem(role, layer, kept, ("axes",))
        if problem:
            return problem
    return None


@converter("BatchNorm", emits=("BatchNormalization", "Mul", "Add"))
def convert_batchnorm(spec, g):
    a = spec.attrs
    x = g.input(spec)
    if a["form"] == "variance":
        inputs = [x] + [g.param(spec, r) for r in ("scale", "bias", "mean", "var")]
        # ONNX running averages: new = old * momentum + batch * (1 - momentum); Lasagne: alpha = 1 - momentum
        return g.node("BatchNormalization", inputs, spec.name, output=g.out(spec), epsilon=a["epsilon"],
                      momentum=1.0 - a["alpha"])
    if a["form"] == "affine":
        y = g.node("Mul", [x, g.param(spec, "scale")], spec.name)
        return g.node("Add", [y, g.param(spec, "shift")], spec.name, output=g.out(spec))
    raise AssertionError(f"{spec.describe()}: run the batchnorm_to_variance pass first")
