"""InputLayer -> a graph input.

An input whose Theano variable is an integer tensor (``T.imatrix()``: the indices an EmbeddingLayer
looks up) keeps its dtype in the attribute ``dtype`` (absent for float inputs, which export as float32).
"""
from ..registry import attrs_schema, capture_rule, converter
from ..schema import POSITIVE, array, obj

INTEGER_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def input_dtype(layer) -> str:
    """The dtype of an InputLayer's Theano variable ('float32' when it has none)."""
    return str(getattr(getattr(layer, "input_var", None), "dtype", None) or "float32")


@capture_rule("Input", "InputLayer")
def capture_input(layer, ctx):
    attrs = {"shape": list(layer.shape)}
    dtype = input_dtype(layer)
    if dtype in INTEGER_DTYPES:
        attrs["dtype"] = dtype
    return attrs


@attrs_schema("Input", obj({"shape": array({"anyOf": [POSITIVE, {"type": "null"}]}, 1),
                            "dtype": {"enum": list(INTEGER_DTYPES)}}, optional=("dtype",)))
def check_input(layer):
    if tuple(layer.attrs["shape"]) != tuple(layer.output_shape):
        return f"attribute 'shape' {layer.attrs['shape']} is not its output_shape {list(layer.output_shape)}"
    return None


@converter("Input", emits=())
def convert_input(spec, g):
    from onnx import TensorProto  # here: capture rules import in the legacy environment, which has no onnx

    dtype = spec.attrs.get("dtype")
    return g.add_input(spec.name, spec.attrs["shape"], getattr(TensorProto, dtype.upper()) if dtype else TensorProto.FLOAT)
