"""LocalResponseNormalization2DLayer: ``x / (k + alpha * sum_{n channels around} x^2) ** beta``.

Lasagne (like pylearn2) does not divide ``alpha`` by ``n``; ONNX LRN divides by ``size``, so the
exported ``alpha`` is ``alpha * n``.  The window is centred on the channel and zero-padded at the
channel edges in both (``n`` is odd in Lasagne), exactly ONNX's ``[c - (n-1)/2, c + (n-1)/2]``.
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import NUMBER, POSITIVE, obj


@capture_rule("LRN", "LocalResponseNormalization2DLayer")
def capture_lrn(layer, ctx):
    n = int(layer.n)
    if n % 2 == 0 or n < 1:
        raise ctx.unsupported(f"n={n}: only odd window sizes are defined")
    if len(ctx.input_shape) != 4:
        raise ctx.unsupported(f"a {len(ctx.input_shape)}-D input (the layer normalises 4-D BC01 maps)")
    return {"alpha": float(layer.alpha), "k": float(layer.k), "beta": float(layer.beta), "n": n}


@attrs_schema("LRN", obj({"alpha": NUMBER, "k": NUMBER, "beta": NUMBER,
                          "n": {**POSITIVE, "not": {"multipleOf": 2}}}))  # n: an odd window
def check_lrn(layer):
    return None if layer.rank == 4 else f"a {layer.rank}-d input (the layer normalises 4-D BC01 maps)"


@converter("LRN", emits=("LRN",))
def convert_lrn(spec, g):
    a = spec.attrs
    return g.node("LRN", [g.input(spec)], spec.name, output=g.out(spec),
                  alpha=a["alpha"] * a["n"], beta=a["beta"], bias=a["k"], size=a["n"])
