"""DropoutLayer, GaussianNoiseLayer: identities at inference (deterministic=True).

The ``remove_identity_layers`` pass drops them before lowering; the converter exists for graphs
that skip that pass.
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import obj


@capture_rule("Identity", "DropoutLayer", "GaussianNoiseLayer", "AlphaDropoutLayer")
def capture_noise(layer, ctx):
    return {}


attrs_schema("Identity", obj({}))


@converter("Identity", emits=("Identity",))
def convert_identity(spec, g):
    return g.node("Identity", [g.input(spec)], spec.name, output=g.out(spec))
