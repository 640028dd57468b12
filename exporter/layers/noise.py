"""DropoutLayer, GaussianNoiseLayer: identities at inference (deterministic=True).

The ``remove_identity_layers`` pass drops them before lowering; the converter exists for graphs
that skip that pass.
"""
from ..registry import capture_rule, converter


@capture_rule("Identity", "DropoutLayer", "GaussianNoiseLayer", "AlphaDropoutLayer")
def capture_noise(layer, ctx):
    return {}


@converter("Identity", emits=("Identity",))
def convert_identity(spec, g):
    return g.node("Identity", [g.input(spec)], spec.name, output=g.out(spec))
