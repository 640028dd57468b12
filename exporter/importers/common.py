"""Helpers shared by the importer CLIs: onnxruntime reference runs and output comparison."""
from __future__ import annotations

import importlib.util

import numpy as np

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
    """Random float32 inputs for every graph input, or None when a non-batch dimension is unknown."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in view.inputs:
        shape = view.shape(name)
        if shape is None:
            return None
        shape = [batch if (i == 0 and d is None) else d for i, d in enumerate(shape)]
        if any(d is None for d in shape):
            return None
        feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


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
