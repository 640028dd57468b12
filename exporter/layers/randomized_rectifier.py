"""RandomizedRectifierLayer (``rrelu``) at inference: Lasagne's deterministic output is
``relu(x, (lower + upper) / 2)``, a leaky rectifier with the mean slope -> ONNX LeakyRelu.  The random
slopes are drawn only in training (deterministic=False), which an export never computes."""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NUMBER, obj


@capture_rule("RandomizedRectifier", "RandomizedRectifierLayer")
def capture_randomized_rectifier(layer, ctx):
    bounds = {}
    for what in ("lower", "upper"):
        v = getattr(layer, what)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise ctx.unsupported(f"{what}={v!r} is not a number (a Theano expression cannot be exported)")
        bounds[what] = float(v)
    return bounds


@attrs_schema("RandomizedRectifier", obj({"lower": NUMBER, "upper": NUMBER}))
def check_randomized_rectifier(layer):
    a = layer.attrs
    return f"lower {a['lower']} is above upper {a['upper']} (Lasagne refuses it)" if a["lower"] > a["upper"] else None


@converter("RandomizedRectifier", emits=("LeakyRelu",))
def convert_randomized_rectifier(spec, g):
    slope = (spec.attrs["lower"] + spec.attrs["upper"]) / 2.0
    return g.node("LeakyRelu", [g.input(spec)], spec.name, output=g.out(spec), alpha=slope)
