"""BatchNormLayer (Lasagne 0.2: beta, gamma, mean, inv_std), its cuDNN twin BatchNormDNNLayer, and
the older community form (std).

Lasagne 0.2 at inference: ``(x - mean) * (gamma * inv_std) + beta`` with ``inv_std = 1/sqrt(var+eps)``.
The community layer: ``(x - mean) * (gamma / (std + eps)) + beta``.  The ``batchnorm_to_variance``
pass rewrites both into ONNX's ``(scale, bias, mean, var, epsilon)``; when that is impossible
(normalisation over other axes than "all but channels", or a would-be negative variance) it
rewrites them into an exact per-element affine ``x * scale + shift`` instead.
"""
from ..registry import capture_rule, converter


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
