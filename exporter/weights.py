"""Reading ``model.npz`` safely and binding its arrays to a layer graph.

``np.savez('model.npz', *get_all_param_values(net))`` stores ``arr_0..arr_N`` in ``get_all_params``
order.  Pickled objects are refused unless the caller explicitly trusts the file: a pickle runs code.
The tool may embed the architecture manifest in the npz as a uint8 array (no pickle involved).
"""
from __future__ import annotations

import os
import re
import warnings
import zipfile

import numpy as np

from .errors import WeightsError
from .ir import LayerGraph

MANIFEST_KEY = "__lasagne2onnx_manifest__"
_ARR = re.compile(r"^arr_(\d+)$")


class WeightsWarning(UserWarning):
    pass


def load_npz(path, trust_pickle: bool = False):
    """Return ``(weights, manifest_json_or_None)``; ``weights`` maps ``arr_<i>`` to arrays."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise WeightsError(f"{path}: weights file not found")
    if not zipfile.is_zipfile(path):
        raise WeightsError(f"{path}: not an .npz file (not a zip archive)")
    weights, manifest = {}, None
    try:
        with np.load(path, allow_pickle=trust_pickle) as z:
            for key in z.files:
                try:
                    arr = z[key]
                except ValueError as e:
                    if "allow_pickle" in str(e):
                        raise WeightsError(
                            f"{path}: array {key!r} contains pickled Python objects, which can run code when "
                            f"loaded; refusing (pass --trust-pickle only if you trust this file)") from None
                    raise
                if key == MANIFEST_KEY:
                    manifest = arr.tobytes().decode("utf-8")
                    continue
                if arr.dtype == object:
                    raise WeightsError(f"{path}: array {key!r} is an object array, not numeric weights")
                weights[key] = arr
    except WeightsError:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError, UnicodeDecodeError) as e:
        raise WeightsError(f"{path}: cannot read npz ({type(e).__name__}: {e}); the file may be truncated or corrupt") from None
    return weights, manifest


def bind_weights(graph: LayerGraph, weights: dict, path: str = "weights") -> dict:
    """Check that ``weights`` fits ``graph`` (count, names and shapes) and return them as float32.

    Errors name the layer, the parameter and the npz key.  NaN/Inf values produce a warning.
    """
    expected = graph.param_keys or sorted({p.key for l in graph.layers for p in l.params}, key=_arr_order)
    arr_keys = sorted((k for k in weights if _ARR.match(k)), key=_arr_order)
    other = sorted(k for k in weights if not _ARR.match(k))
    if other and not arr_keys:
        raise WeightsError(
            f"{path}: expected arrays named arr_0..arr_{len(expected) - 1} (np.savez(path, *get_all_param_values(net))), "
            f"found {', '.join(other[:5])}{'...' if len(other) > 5 else ''}")
    if len(arr_keys) != len(expected):
        raise WeightsError(
            f"{path}: holds {len(arr_keys)} arrays but the network has {len(expected)} parameters "
            f"(get_all_params order); was it saved from a different architecture?")
    owners = graph.param_specs()
    bound = {}
    for key in expected:
        if key not in weights:
            raise WeightsError(f"{path}: missing array {key!r}")
        arr = weights[key]
        layer, p = owners[key]
        if tuple(arr.shape) != tuple(p.shape):
            raise WeightsError(
                f"{path}: array {key} has shape {tuple(arr.shape)} but {layer.describe()} expects "
                f"parameter {p.role!r} of shape {tuple(p.shape)}")
        if not np.issubdtype(arr.dtype, np.number):
            raise WeightsError(f"{path}: array {key} ({layer.name}.{p.role}) has non-numeric dtype {arr.dtype}")
        arr = arr.astype(np.float32, copy=False)
        if not np.all(np.isfinite(arr)):
            warnings.warn(f"{path}: array {key} ({layer.name}.{p.role}) contains NaN or Inf values", WeightsWarning,
                          stacklevel=2)
        bound[key] = arr
    return bound


def _arr_order(key):
    m = _ARR.match(key)
    return (0, int(m.group(1))) if m else (1, key)


def embed_manifest(npz_path, graph: LayerGraph, out_path):
    """Write a copy of ``npz_path`` with the architecture manifest stored inside it."""
    weights, _ = load_npz(npz_path)
    payload = np.frombuffer(graph.to_json().encode("utf-8"), dtype=np.uint8)
    from .io import atomic_output

    with atomic_output(out_path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **weights, **{MANIFEST_KEY: payload})
