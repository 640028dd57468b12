"""Turn Lasagne's true convolutions into ONNX cross-correlations.

A layer whose effective Theano ``filter_flip`` is True gets its kernel's spatial axes reversed and
``flip_filters`` set to False.  Derived arrays get keys ``<key>|flipped`` so a shared kernel is
flipped once.
"""
import numpy as np

FLIPPABLE = ("Conv",)


def flip_spatial(w):
    """Reverse every axis after the first two (the spatial axes of a conv kernel)."""
    return np.ascontiguousarray(w[(slice(None), slice(None)) + (slice(None, None, -1),) * (w.ndim - 2)])


def flip_kernels(graph, weights):
    graph = graph.copy()
    weights = dict(weights)
    for spec in graph.layers:
        if spec.kind not in FLIPPABLE or not spec.attrs.get("flip_filters"):
            continue
        w = spec.param("W")
        new_key = f"{w.key}|flipped"
        if new_key not in weights:
            weights[new_key] = flip_spatial(weights[w.key])
        w.key = new_key
        spec.attrs = {**spec.attrs, "flip_filters": False}
    return graph, weights
