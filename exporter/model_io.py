"""Saving ONNX models: atomically, with external data when the weights pass protobuf's 2 GB limit."""
from __future__ import annotations

import os

import onnx

from .io import atomic_output

EXTERNAL_DATA_THRESHOLD = 2_000_000_000  # bytes of initializers; protobuf cannot serialise 2 GiB


def initializer_bytes(model: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) for t in model.graph.initializer)


def save_model(model: onnx.ModelProto, path, progress=None):
    """Write ``model`` to ``path``; big models get their tensors in ``<path>.data`` beside it."""
    path = os.fspath(path)
    if initializer_bytes(model) < EXTERNAL_DATA_THRESHOLD:
        with atomic_output(path) as tmp:
            onnx.save_model(model, tmp)
        return
    data_name = os.path.basename(path) + ".data"
    with atomic_output(os.path.join(os.path.dirname(os.path.abspath(path)), data_name)) as tmp_data:
        with atomic_output(path) as tmp:
            onnx.save_model(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                            location=os.path.basename(tmp_data), size_threshold=1024)
            # point the model at the final data file name, then rewrite the (small) graph file
            m = onnx.load_model(tmp, load_external_data=False)
            for t in m.graph.initializer:
                for entry in t.external_data:
                    if entry.key == "location":
                        entry.value = data_name
            onnx.save_model(m, tmp)

