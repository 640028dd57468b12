"""Graph passes.

Layer-graph passes (``LayerGraph, weights -> LayerGraph, weights``) fold Lasagne conventions into
ONNX semantics before lowering; each is a small pure function that returns new objects and leaves
its arguments untouched.  ONNX passes (``ModelProto -> ModelProto``) check and tidy the result.
"""
from .batchnorm_variance import batchnorm_to_variance
from .check_and_infer import check_and_infer
from .drop_identity import drop_identity
from .explicit_pads import explicit_pads
from .fold_batchnorm import fold_batchnorm
from .flip_kernels import flip_kernels
from .fuse_affine import fuse_affine
from .remove_identity_layers import remove_identity_layers
from .split_nonlinearities import split_nonlinearities

# Split first so that identity removal sees the nonlinearity layers the split creates.
LOWERING_PASSES = (
    split_nonlinearities,
    remove_identity_layers,
    flip_kernels,
    batchnorm_to_variance,
    explicit_pads,
)


# ONNX-level optimisations (``model, payloads -> model, payloads``), run by ``export --optimize``.
OPTIMIZE_PASSES = (
    drop_identity,
    fold_batchnorm,
    fuse_affine,
)


def lower(graph, weights):
    """Run every layer-graph pass; returns the rewritten (graph, weights)."""
    for p in LOWERING_PASSES:
        graph, weights = p(graph, weights)
    return graph, weights


__all__ = (["LOWERING_PASSES", "OPTIMIZE_PASSES", "lower", "check_and_infer"]
           + [p.__name__ for p in LOWERING_PASSES + OPTIMIZE_PASSES])
