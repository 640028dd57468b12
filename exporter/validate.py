"""Run an exported model in onnxruntime."""
from __future__ import annotations

import numpy as np


def make_session(model_or_path, providers=None):
    import onnxruntime as ort

    src = model_or_path if isinstance(model_or_path, (str, bytes)) else model_or_path.SerializeToString()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(src, opts, providers=providers or ["CPUExecutionProvider"])


def random_inputs(session, batch: int = 2, seed: int = 0, overrides: dict | None = None) -> dict:
    """Random float32 inputs for every graph input; symbolic dims get ``batch`` (first) or ``overrides``."""
    rng = np.random.default_rng(seed)
    feeds = {}
    if overrides and None in overrides and len(session.get_inputs()) == 1:  # --input-shape without a name
        overrides = {session.get_inputs()[0].name: overrides[None]}
    for inp in session.get_inputs():
        if overrides and inp.name in overrides:
            shape = overrides[inp.name]
        else:
            shape = [d if isinstance(d, int) else None for d in inp.shape]
            if shape and shape[0] is None:
                shape[0] = batch
            if any(d is None for d in shape):
                raise ValueError(f"input {inp.name!r} has unknown dimensions {inp.shape}; give --input-shape")
        feeds[inp.name] = rng.standard_normal(shape).astype(np.float32)
    return feeds


def run(model_or_path, feeds: dict, outputs=None) -> dict:
    sess = make_session(model_or_path)
    names = outputs or [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))
