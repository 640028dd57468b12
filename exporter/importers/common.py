"""Helpers shared by the importer CLIs: onnxruntime reference runs and output comparison."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np

from .. import metadata
from ..errors import ExportError

_PACKAGE_NAMES = {"torch": "PyTorch", "keras": "Keras 3", "tensorflow": "TensorFlow"}


class MissingDependencyError(ExportError):
    """An optional dependency of a command is not installed (exit status 2, like other bad input)."""


def require(module: str, extra: str, command: str):
    """Refuse, in one line naming the extra that installs it, a command whose optional dependency is absent."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        found = False
    if not found:
        raise MissingDependencyError(f"{command} needs {_PACKAGE_NAMES.get(module, module)} ({module}), which is not "
                                     f"installed: pip install lasagne2onnx[{extra}]")


def reference_inputs(view, batch=2, seed=0):
    """Random float32 inputs for every graph input (valid indices for integer inputs read by a Gather),
    or None when a non-batch dimension is unknown.  Inputs over
    :data:`exporter.validate.MAX_RANDOM_INPUT_BYTES` are refused (ExportError) before anything is drawn."""
    from ..errors import ExportError
    from ..validate import check_random_input_shapes

    shapes = {}
    for name in view.inputs:
        shape = view.shape(name)
        if shape is None:
            return None
        shape = [batch if (i == 0 and d is None) else d for i, d in enumerate(shape)]
        if any(d is None for d in shape):
            return None
        shapes[name] = tuple(shape)
    try:
        check_random_input_shapes(shapes, hint="pass --no-check to convert without comparing")
    except ValueError as e:
        raise ExportError(f"cannot compare with onnxruntime: {e}") from None
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, shape in shapes.items():
        dtype = view.input_dtypes.get(name, "float32")
        if np.dtype(dtype).kind in "iu":  # indices: below the smallest embedding they select from
            bound = next((int(view.consts[c.inputs[0]].shape[0]) for c in view.consumers.get(name, ())
                          if c.op_type == "Gather" and c.inputs[0] in view.consts), 2)
            feeds[name] = rng.integers(0, bound, size=shape).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


# -- vetting a model before it is converted ---------------------------------------------------------
def read_model(path):
    """The ONNX model at ``path`` (its external data loaded), vetted by :func:`check_model` (metadata
    that cannot be read is dropped with a warning: it only names things); errors are one-line
    :class:`~exporter.importers.onnx_reader.OnnxInputError` s."""
    import onnx

    from .onnx_reader import OnnxInputError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise OnnxInputError(f"{path}: ONNX file not found")
    if os.path.isdir(path):
        raise OnnxInputError(f"{path}: is a directory, not an ONNX model")
    try:
        model = onnx.load_model(path)
    except Exception as e:  # protobuf decode errors have many types
        raise OnnxInputError(f"{path}: not a readable ONNX model ({type(e).__name__}: "
                             f"{' '.join(str(e).split())[:200]})") from None
    check_model(model, path, strict=False)
    return model


def vetted_model(model):
    """:func:`read_model` for a path; for an ``onnx.ModelProto`` (the Python API's), a copy vetted the same way."""
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        return read_model(os.fsdecode(model))
    import onnx

    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    check_model(copy, model_label(model), strict=False)
    return copy


def check_model(model, path, strict: bool = True, keys=None):
    """Vet what the converters and ``check`` read before they read it: the ``lasagne2onnx.*`` metadata
    in the form the exporter writes it, and no graph input with a negative dimension (an
    OnnxInputError).  ``strict=False``: malformed metadata is removed from ``model`` with a warning.
    ``keys``: the metadata entries to vet (default: all the importers read)."""
    from .onnx_reader import OnnxInputError

    for key, problem in metadata.problems(model).items():
        if keys is not None and key not in keys:
            continue
        if strict:
            raise OnnxInputError(f"{path}: its metadata {key!r} {problem}")
        print(f"warning: {path}: its metadata {key!r} {problem}; ignoring it", file=sys.stderr)
        kept = [p for p in model.metadata_props if p.key != key]
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
    initializers = {t.name for t in model.graph.initializer}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        if value.name not in initializers and any(d.HasField("dim_value") and d.dim_value < 0 for d in dims):
            shape = tuple(d.dim_value if d.HasField("dim_value") else d.dim_param or "?" for d in dims)
            raise OnnxInputError(f"{path}: input {value.name!r} has a negative dimension {shape}")


def run_onnxruntime(model_path_or_bytes, feeds):
    import os

    from ..validate import make_session

    if hasattr(model_path_or_bytes, "__fspath__"):
        model_path_or_bytes = os.fspath(model_path_or_bytes)
    sess = make_session(model_path_or_bytes)
    return sess.run(None, feeds)


def folded_note(view) -> str | None:
    """A warning for models exported with BatchNorm/Scale folded into convolutions (export --optimize)."""
    if not view.folded_layers:
        return None
    names = ", ".join(view.folded_layers[:5]) + (", ..." if len(view.folded_layers) > 5 else "")
    return (f"warning: export optimised this model: the BatchNorm/Scale/Bias after {names} was folded into "
            f"those layers, so it is not a separate (trainable) layer here; re-export with --no-optimize "
            f"to fine-tune with BatchNorm")


def model_label(model) -> str:
    """How a model given as a path (its file name) or as an ``onnx.ModelProto`` (its graph's name) is named."""
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        import os

        return os.path.basename(os.fsdecode(model))
    graph = getattr(model, "graph", None)
    return f"{graph.name or 'model'}.onnx" if graph is not None else "model.onnx"
