"""Constant values inside an :class:`~exporter.ir.ExprGraph` (``attrs["value"]`` of a
``theano.tensor.constant`` node), as plain JSON.

``{"dtype": "float32", "shape": [2], "data": [0.5, 2.0]}`` for small arrays of moderate finite
numbers (readable), otherwise ``{"dtype": ..., "shape": ..., "base64": <little-endian bytes>}``
(exact for any value, NaN and infinities included).
"""
import base64
import binascii

import numpy as np

from ..registry import lowering
from ..schema import DTYPE, NON_NEGATIVE, array, obj

CONSTANT_OP = "theano.tensor.constant"
_SHAPE = array(NON_NEGATIVE)
# what encode writes (the element types and their count are checked by decode)
VALUE = {"anyOf": [obj({"dtype": DTYPE, "shape": _SHAPE, "data": array({"type": ["number", "boolean"]})}),
                   obj({"dtype": DTYPE, "shape": _SHAPE, "base64": {"type": "string"}})]}
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
    """The array of an encoded constant (of the form :data:`VALUE` describes); raises ValueError when
    its values do not fit it: a count other than its shape's, values of another kind than its dtype's
    (a bool is no number here), integers beyond the dtype's range, floats beyond a float dtype's."""
    if not isinstance(d, dict) or not isinstance(d.get("shape"), list) or not isinstance(d.get("dtype"), str):
        raise ValueError(f"a constant must have 'dtype' and 'shape', got {d!r:.80}")
    dtype = np.dtype(d["dtype"])
    if dtype.kind not in "biuf":
        raise ValueError(f"constant dtype {dtype} is not a number type")
    shape = [int(n) for n in d["shape"]]
    if "data" in d:
        a = _from_list(d["data"], dtype)
    elif "base64" in d:
        try:
            raw = base64.b64decode(d["base64"].encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError) as e:
            raise ValueError(f"a constant's base64 is not valid base64 ({e})") from None
        if len(raw) % dtype.itemsize:
            raise ValueError(f"a constant's base64 holds {len(raw)} bytes, not whole {dtype} values")
        a = np.frombuffer(raw, dtype=dtype.newbyteorder("<")).astype(dtype)
    else:
        raise ValueError("a constant needs 'data' or 'base64'")
    if a.size != int(np.prod(shape)):
        raise ValueError(f"constant of shape {shape} holds {a.size} values")
    return a.reshape(shape)


def _from_list(data, dtype):
    kinds = {"b": (bool,), "i": (int,), "u": (int,), "f": (int, float)}[dtype.kind]
    for v in data:
        if isinstance(v, bool) != (dtype.kind == "b") or not isinstance(v, kinds):
            raise ValueError(f"a {dtype} constant holds {v!r}")
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        bad = next((v for v in data if not info.min <= v <= info.max), None)
        if bad is not None:
            raise ValueError(f"{bad} is beyond the range of a {dtype} constant")
    if dtype.kind == "f":
        bad = next((v for v in data if abs(v) > np.finfo(dtype).max), None)
        if bad is not None:
            raise ValueError(f"{bad!r} is beyond the range of a {dtype} constant")
    return np.asarray(data, dtype=dtype)


def check_constant(node, inputs):
    """No inputs; a value of the node's dtype and shape."""
    if inputs:
        return f"takes no inputs, not {len(inputs)}"
    try:
        array = decode(node["attrs"]["value"])
    except ValueError as e:
        return f"attribute 'value': {e}"
    if str(array.dtype) != node["dtype"]:
        return f"holds a {array.dtype} value, but the node says {node['dtype']}"
    if list(array.shape) != node["shape"]:
        return f"holds a value of shape {list(array.shape)}, but the node says {node['shape']}"
    return None


@lowering(CONSTANT_OP, attrs={"value": VALUE}, check=check_constant)
def constant(node, g, args):
    """A literal (or a shared variable that is not a network parameter): an initializer if a node uses it."""
    return g.lowering.constant(decode(node.attrs["value"]).astype(node.dtype))
