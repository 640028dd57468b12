"""Run the ONNX checker and strict shape inference on a finished model."""
import onnx

from exporter.errors import ExportError


class ValidationFailed(ExportError):
    """The ONNX checker or strict shape inference refused the model."""


def check_and_infer(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        onnx.checker.check_model(model)
        inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise ValidationFailed(f"the generated ONNX model failed validation: {e}") from e
    onnx.checker.check_model(inferred)
    return inferred
