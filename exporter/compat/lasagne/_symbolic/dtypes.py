"""Theano 1.0's dtype rules (``theano.scalar.basic``), so traced values carry the dtype Theano gives them.

* Python numbers become constants by Theano's "custom" cast policy: an ``int`` takes the smallest of
  int8/int16/int32/int64 that holds it, a ``float`` takes ``floatX``; numpy scalars and arrays keep
  their dtype (``x * np.float64(0.5)`` is float64, ``x * 0.5`` stays float32).
* An elementwise op's output dtype is the upcast of its inputs' (numpy's promotion of the dtypes,
  never of the values): float32 with int32 gives float64.
* Float functions (``exp``, ``sqrt``, ``sigmoid`` ...) first upgrade integer inputs: 8/16-bit ints
  and bools to float32, wider ints to float64.
* ``true_div`` of two discrete inputs gives ``floatX``.
"""
import numpy as np

FLOAT_DTYPES = ("float16", "float32", "float64")
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
DISCRETE_DTYPES = ("bool",) + INT_DTYPES
ALL_DTYPES = DISCRETE_DTYPES + FLOAT_DTYPES


def float_x():
    from ..utils import float_x as _float_x

    return _float_x()


def upcast(*dtypes):
    """Theano's ``scalar.upcast``: the dtype numpy promotes the given dtypes to."""
    result = np.dtype(dtypes[0])
    for d in dtypes[1:]:
        result = np.promote_types(result, np.dtype(d))
    return str(result)


_TO_FLOAT = {"bool": "float32", "int8": "float32", "uint8": "float32", "int16": "float32", "uint16": "float32",
             "int32": "float64", "uint32": "float64", "int64": "float64", "uint64": "float64"}


def upgrade_to_float(*dtypes):
    """Theano's ``upgrade_to_float``: the dtype of a float function of these inputs."""
    return upcast(*[_TO_FLOAT.get(str(d), str(d)) for d in dtypes])


def is_discrete(dtype) -> bool:
    return str(dtype) in DISCRETE_DTYPES


def is_float(dtype) -> bool:
    return str(dtype) in FLOAT_DTYPES


def autocast_value(x):
    """The numpy value a Python or numpy number becomes as a Theano constant (cast policy 'custom')."""
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, np.generic):
        return np.asarray(x)
    if isinstance(x, bool):
        return np.asarray(x, dtype="int8")  # Theano 1.0 makes Python bools int8 constants
    if isinstance(x, int):
        for dtype in ("int8", "int16", "int32", "int64"):
            info = np.iinfo(dtype)
            if info.min <= x <= info.max:
                return np.asarray(x, dtype=dtype)
        return np.asarray(x, dtype="uint64")
    if isinstance(x, float):
        return np.asarray(x, dtype=float_x())
    return None
