"""Constant values inside an :class:`~exporter.ir.ExprGraph` (``attrs["value"]`` of a
``theano.tensor.constant`` node), as plain JSON.

``{"dtype": "float32", "shape": [2], "data": [0.5, 2.0]}`` for small arrays of moderate finite
numbers (readable), otherwise ``{"dtype": ..., "shape": ..., "base64": <little-endian bytes>}``
(exact for any value, NaN and infinities included).
"""
import base64

import numpy as np

_INLINE = 16  # elements
_INLINE_LIMIT = 2 ** 52  # beyond, a float in JSON may be refused as an unusable number (see ir._bad_number)


def encode(array) -> dict:
    a = np.asarray(array, order="C")
    d = {"dtype": str(a.dtype), "shape": [int(n) for n in a.shape]}
    if a.dtype.kind not in "biuf":
        raise TypeError(f"constant of dtype {a.dtype} cannot be exported")
    if a.size <= _INLINE and (a.dtype.kind == "b" or (np.all(np.isfinite(a)) and np.all(np.abs(a) < _INLINE_LIMIT))):
        d["data"] = a.ravel().tolist()
    else:
        d["base64"] = base64.b64encode(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()).decode("ascii")
    return d


def decode(d) -> np.ndarray:
    """The array of an encoded constant; raises ValueError when it is malformed."""
    if not isinstance(d, dict) or not isinstance(d.get("shape"), list) or not isinstance(d.get("dtype"), str):
        raise ValueError(f"a constant must have 'dtype' and 'shape', got {d!r:.80}")
    dtype = np.dtype(d["dtype"])
    if dtype.kind not in "biuf":
        raise ValueError(f"constant dtype {dtype} is not a number type")
    shape = [int(n) for n in d["shape"]]
    if "data" in d:
        a = np.asarray(d["data"], dtype=dtype)
    elif "base64" in d:
        a = np.frombuffer(base64.b64decode(d["base64"].encode("ascii"), validate=True), dtype=dtype.newbyteorder("<"))
        a = a.astype(dtype)
    else:
        raise ValueError("a constant needs 'data' or 'base64'")
    if a.size != int(np.prod(shape)):
        raise ValueError(f"constant of shape {shape} holds {a.size} values")
    return a.reshape(shape)
