"""Helpers shared by the importer CLIs: onnxruntime reference runs and output comparison."""
from __future__ import annotations

import numpy as np


def reference_inputs(view, batch=2, seed=0):
    """Random float32 inputs for every graph input (valid indices for integer inputs read by a Gather),
    or None when a non-batch dimension is unknown."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name in view.inputs:
        shape = view.shape(name)
        if shape is None:
            return None
        shape = [batch if (i == 0 and d is None) else d for i, d in enumerate(shape)]
        if any(d is None for d in shape):
            return None
        dtype = view.input_dtypes.get(name, "float32")
        if np.dtype(dtype).kind in "iu":  # indices: below the smallest embedding they select from
            bound = next((int(view.consts[c.inputs[0]].shape[0]) for c in view.consumers.get(name, ())
                          if c.op_type == "Gather" and c.inputs[0] in view.consts), 2)
            feeds[name] = rng.integers(0, bound, size=shape).astype(dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def run_onnxruntime(model_path_or_bytes, feeds):
    from ..validate import make_session

    sess = make_session(model_path_or_bytes)
    return sess.run(None, feeds)


def relative_error(got, want):
    """max |got - want| relative to max(1, max |want|)."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return float("inf")
    if want.size == 0:
        return 0.0
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


def folded_note(view) -> str | None:
    """A warning for models exported with BatchNorm/Scale folded into convolutions (export --optimize)."""
    if not view.folded_layers:
        return None
    names = ", ".join(view.folded_layers[:5]) + (", ..." if len(view.folded_layers) > 5 else "")
    return (f"warning: export optimised this model: the BatchNorm/Scale/Bias after {names} was folded into "
            f"those layers, so it is not a separate (trainable) layer here; re-export with --no-optimize "
            f"to fine-tune with BatchNorm")
