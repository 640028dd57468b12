"""Rewrite Lasagne batch normalisation into ONNX BatchNormalization parameters.

Lasagne 0.2 stores ``inv_std = 1/sqrt(var + eps)``; the community layer stores ``std`` and divides by
``std + eps``.  Both reduce to one effective ``inv = 1/sqrt(var + eps)`` (float64 here), from which
``var = inv**-2 - eps``.  The result is the ``variance`` form (scale, bias, mean, var) when the layer
normalises per channel (axis 1) and every ``inv`` and variance is non-negative; otherwise the exact ``affine``
form (``x * scale + shift``) with parameters shaped for broadcasting.
"""
import numpy as np

from exporter.ir import ParamSpec


def effective_inv_std(spec, weights):
    a = spec.attrs
    if a["form"] == "inv_std":
        return weights[spec.param("inv_std").key].astype(np.float64)
    return 1.0 / (weights[spec.param("std").key].astype(np.float64) + a["epsilon"])


def _param_or(spec, weights, role, fill, shape):
    p = spec.param(role)
    return np.full(shape, fill, np.float64) if p is None else weights[p.key].astype(np.float64)


def batchnorm_to_variance(graph, weights):
    graph = graph.copy()
    weights = dict(weights)
    for spec in graph.layers:
        if spec.kind != "BatchNorm" or spec.attrs["form"] not in ("inv_std", "std"):
            continue
        inv = effective_inv_std(spec, weights)
        mean = weights[spec.param("mean").key].astype(np.float64)
        gamma = _param_or(spec, weights, "gamma", 1.0, inv.shape)
        beta = _param_or(spec, weights, "beta", 0.0, inv.shape)
        eps = spec.attrs["epsilon"]
        with np.errstate(divide="ignore", over="ignore"):  # inv_std 0 is a variance of inf: still exact
            var = 1.0 / inv**2 - eps
        rank = len(spec.output_shape)
        per_channel = sorted(spec.attrs["axes"]) == [a for a in range(rank) if a != 1] and inv.ndim == 1
        # var loses inv's sign: a negative inv_std (or std + eps) only has the affine form
        if per_channel and np.all(var >= 0) and np.all(inv >= 0):
            new = {"scale": gamma, "bias": beta, "mean": mean, "var": var}
            form = "variance"
        else:
            scale = gamma * inv
            bshape = [1 if ax in spec.attrs["axes"] else None for ax in range(rank)]
            it = iter(inv.shape)
            bshape = [next(it) if d is None else 1 for d in bshape]
            new = {"scale": scale.reshape(bshape), "shift": (beta - mean * scale).reshape(bshape)}
            form = "affine"
        spec.params = []
        for role, arr in new.items():
            key = f"{spec.name}.{role}"
            weights[key] = arr.astype(np.float32)
            spec.params.append(ParamSpec(role=role, shape=arr.shape, key=key))
        spec.attrs = {**spec.attrs, "form": form}
    return graph, weights
