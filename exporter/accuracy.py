"""The one error metric and the tolerances it is held to.

Every comparison in lasagne2onnx (``--expect``, ``check``, the ``--optimize`` verification, the
importers' onnxruntime check) measures the same thing: the largest absolute difference, relative to
the reference's scale, ``max |actual - expected| / max(1, max |expected|)``, in float64.
"""
from __future__ import annotations

import numpy as np

# float32 parity with the source computation (Theano, or the plain export): --expect, check, --optimize
PARITY_TOLERANCE = 1e-5
# to-torch / to-keras against onnxruntime before anything is written: other kernels, other summation orders
IMPORTER_TOLERANCE = 1e-4


def error_stats(actual, expected) -> dict:
    """``{"max_abs", "rel"}``: max abs error, and that relative to the reference's scale (max(1, max|expected|));
    both infinite, with ``shape_mismatch`` = (actual shape, expected shape), when the shapes differ."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return {"shape_mismatch": (actual.shape, expected.shape), "max_abs": float("inf"), "rel": float("inf")}
    diff = float(np.max(np.abs(actual - expected))) if actual.size else 0.0
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    return {"max_abs": diff, "rel": diff / scale}


def relative_error(actual, expected) -> float:
    """``error_stats(actual, expected)["rel"]``."""
    return error_stats(actual, expected)["rel"]
