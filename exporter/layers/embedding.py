"""EmbeddingLayer: ``W[indices]``, rows of W (input_size, output_size) looked up by integer index.

ONNX ``Gather(W, indices, axis=0)``.  Indices behave as in Theano: a negative index counts from the end
(-1 is the last row), an index outside ``[-input_size, input_size)`` is an error in both Theano
(IndexError) and onnxruntime.  The indices come from an integer InputLayer (``input_var=T.imatrix()``,
whose dtype the graph input keeps); Gather takes int32 or int64, so other integer types are cast.
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import POSITIVE, obj, shape_problem
from .input import INTEGER_DTYPES, input_dtype

_GATHER_INDEX_TYPES = ("int32", "int64")


@capture_rule("Embedding", "EmbeddingLayer", params=("W",))
def capture_embedding(layer, ctx):
    source = getattr(layer, "input_layer", None)
    if type(source).__name__ == "InputLayer" and input_dtype(source) not in INTEGER_DTYPES:
        raise ctx.unsupported(f"its input {source.name or 'InputLayer'!r} holds {input_dtype(source)} values; "
                              f"EmbeddingLayer needs integer indices (give the InputLayer input_var=T.imatrix() "
                              f"or another integer tensor), as Theano does")
    return {"input_size": int(layer.input_size), "output_size": int(layer.output_size)}


@attrs_schema("Embedding", obj({"input_size": POSITIVE, "output_size": POSITIVE}), required_params=("W",))
def check_embedding(layer):
    a = layer.attrs
    source = layer.input_layers[0]
    if source["kind"] == "Input" and "dtype" not in source["attrs"]:  # as the capture refuses it
        return (f"its input layer {source['name']!r} has no integer 'dtype' (a float32 input): EmbeddingLayer needs "
                f"integer indices")
    if len(layer.output_shape) != layer.rank + 1:
        return f"output_shape {list(layer.output_shape)} is not its {layer.rank}-d input's shape and output_size"
    return shape_problem("W", layer, [a["input_size"], a["output_size"]], ("input_size", "output_size"))


def index_dtype(spec, g) -> str | None:
    """The dtype of ``spec``'s input when it is an integer InputLayer, else None."""
    source = g.layers.get(spec.inputs[0])
    return source.attrs.get("dtype") if source is not None and source.kind == "Input" else None


@converter("Embedding", emits=("Gather", "Cast"))
def convert_embedding(spec, g):
    indices = g.input(spec)
    if index_dtype(spec, g) not in _GATHER_INDEX_TYPES:
        from onnx import TensorProto  # here: capture rules import in the legacy environment, which has no onnx

        indices = g.node("Cast", [indices], spec.name, to=TensorProto.INT64)
    return g.node("Gather", [g.param(spec, "W"), indices], spec.name, output=g.out(spec), axis=0)


def index_bounds(graph) -> dict:
    """Input layer name -> the number of rows of the smallest embedding its indices select from, for
    every integer input that feeds EmbeddingLayers directly (what random test inputs may draw from)."""
    bounds = {}
    by_name = graph.by_name()
    for spec in graph.layers:
        if spec.kind == "Embedding":
            source = by_name.get(spec.inputs[0])
            if source is not None and source.kind == "Input":
                n = spec.attrs["input_size"]
                bounds[source.name] = min(n, bounds.get(source.name, n))
    return bounds
