"""InputLayer -> a graph input."""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import POSITIVE, array, obj


@capture_rule("Input", "InputLayer")
def capture_input(layer, ctx):
    return {"shape": list(layer.shape)}


@attrs_schema("Input", obj({"shape": array({"anyOf": [POSITIVE, {"type": "null"}]}, 1)}))
def check_input(layer):
    if tuple(layer.attrs["shape"]) != tuple(layer.output_shape):
        return f"attribute 'shape' {layer.attrs['shape']} is not its output_shape {list(layer.output_shape)}"
    return None


@converter("Input", emits=())
def convert_input(spec, g):
    return g.add_input(spec.name, spec.attrs["shape"])
