"""NonlinearityLayer and every ``lasagne.nonlinearities`` function.

Layers with a ``nonlinearity`` argument (Conv, Dense, NIN, ...) are split by the
``split_nonlinearities`` pass into the linear layer plus a NonlinearityLayer, so this module is the
only place activations are lowered.
"""
from ..registry import attrs_schema, capture_rule, converter
from .expression import EMITS as TRACED_EMITS
from ..schema import NONLINEARITY, obj

# name -> (ONNX op, attribute builder)
_SIMPLE = {
    "rectify": ("Relu", lambda nl: {}),
    "leaky_rectify": ("LeakyRelu", lambda nl: {"alpha": nl["leakiness"]}),
    "elu": ("Elu", lambda nl: {"alpha": 1.0}),
    "selu": ("Selu", lambda nl: {"gamma": nl["scale"], "alpha": nl["scale_neg"]}),
    "softplus": ("Softplus", lambda nl: {}),
    "sigmoid": ("Sigmoid", lambda nl: {}),
    "tanh": ("Tanh", lambda nl: {}),
    "softmax": ("Softmax", lambda nl: {"axis": 1}),
}
SUPPORTED = sorted(list(_SIMPLE) + ["scaled_tanh", "linear", "traced"])


@capture_rule("Nonlinearity", "NonlinearityLayer")
def capture_nonlinearity(layer, ctx):
    nl = ctx.nonlinearity(layer.nonlinearity)
    if nl["name"] == "softmax" and len(ctx.input_shape) != 2:
        raise ctx.unsupported("lasagne softmax needs a 2-D input (it is Theano's row-wise softmax)")
    return {"nonlinearity": nl}


@attrs_schema("Nonlinearity", obj({"nonlinearity": NONLINEARITY}))
def check_nonlinearity(layer):
    if layer.attrs["nonlinearity"]["name"] == "softmax" and layer.rank != 2:
        return "lasagne softmax needs a 2-D input (it is Theano's row-wise softmax)"
    return None


@converter("Nonlinearity", emits=tuple(sorted({*(op for op, _ in _SIMPLE.values()), "Mul", "Identity", *TRACED_EMITS})))
def convert_nonlinearity(spec, g):
    nl = spec.attrs["nonlinearity"]
    x = g.input(spec)
    name = nl["name"]
    if name in _SIMPLE:
        op, attrs = _SIMPLE[name]
        return g.node(op, [x], spec.name, output=g.out(spec), **attrs(nl))
    if name == "scaled_tanh":
        a = g.constant(f"{spec.name}.scale_in", nl["scale_in"])
        b = g.constant(f"{spec.name}.scale_out", nl["scale_out"])
        t = g.node("Tanh", [g.node("Mul", [x, a], spec.name)], spec.name)
        return g.node("Mul", [t, b], spec.name, output=g.out(spec))
    if name == "linear":
        return g.node("Identity", [x], spec.name, output=g.out(spec))
    if name == "traced":  # a callable Lasagne does not name, traced (see frontends/theano_trace.py)
        from ..theano_ops import lower_expr

        return lower_expr(nl["expr"], g, spec, [x], {}, output=g.out(spec),
                          what=f"nonlinearity {nl.get('function')} of {spec.describe()}")
    raise ValueError(f"{spec.describe()}: unknown nonlinearity {name!r}")
