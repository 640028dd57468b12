"""InputLayer -> a graph input."""
from ..registry import capture_rule, converter


@capture_rule("Input", "InputLayer")
def capture_input(layer, ctx):
    return {"shape": list(layer.shape)}


@converter("Input", emits=())
def convert_input(spec, g):
    return g.add_input(spec.name, spec.attrs["shape"])
