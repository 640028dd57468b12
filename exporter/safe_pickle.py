"""Reading pickled weights without running code.

Lasagne model-zoo weights (``vgg16.pkl``, ``googlenet.pkl``, ...) are Python 2 pickles of a dict
(``'param values'`` or ``'values'``: the arrays in ``get_all_params`` order, plus ``'synset words'``,
``'mean value'``...); many research projects pickled ``get_all_param_values(net)`` as a plain list;
``np.save`` pickles object arrays.  A pickle can name any importable callable and have it called,
so these streams are read with an unpickler that resolves only numpy's own array, dtype and scalar
reconstructors: lists, dicts, strings and numbers need no callable at all.  Anything else the
stream asks for is refused by name, before it is imported.
"""
from __future__ import annotations

import codecs
import pickle
import struct

import numpy as np

from .errors import WeightsError
from .metadata import pickle_key

# keys under which the Lasagne model zoo stores the parameter list
PARAM_KEYS = ("param values", "values")


def _numpy_reconstructors() -> dict:
    """``(module, name) -> object`` for every global a pickle of numpy arrays may name, under both
    numpy 1's module paths (``numpy.core``, what every old pickle names) and numpy 2's (``numpy._core``)."""
    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy < 1.26
        from numpy.core import multiarray, numeric
    allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
               ("_codecs", "encode"): _latin1_bytes}  # Python 3 writes bytes this way at protocol 2
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        allowed[(f"{package}.multiarray", "scalar")] = multiarray.scalar
        if hasattr(numeric, "_frombuffer"):  # protocol 5
            allowed[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer
    return allowed


def _latin1_bytes(*args):
    """``_codecs.encode`` as pickles use it: ``encode(str, 'latin1')`` is how Python 3 pickles ``bytes`` at
    protocol 2.  Only that form is accepted: no other codec (an unknown one raises LookupError; some
    do real work, such as zlib's), no other argument types."""
    if len(args) != 2 or not all(isinstance(a, str) for a in args) or \
            args[1].lower().replace("_", "-") not in ("latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"):
        shown = ", ".join(repr(a) if isinstance(a, str) and len(a) < 20 else type(a).__name__ for a in args)
        raise pickle.UnpicklingError(f"_codecs.encode({shown}) is not how a pickle stores bytes "
                                     f"(only encode(str, 'latin1') is)")
    return codecs.encode(args[0], "latin1")


class RefusedGlobal(pickle.UnpicklingError):
    def __init__(self, module, name):
        super().__init__(f"{module}.{name}")
        self.qualified = f"{module}.{name}"


class _ArraysOnlyUnpickler(pickle.Unpickler):
    _allowed = None

    def find_class(self, module, name):
        if _ArraysOnlyUnpickler._allowed is None:
            _ArraysOnlyUnpickler._allowed = _numpy_reconstructors()
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise RefusedGlobal(module, name) from None


def restricted_load(fp):
    """Unpickle ``fp`` (a binary file object) allowing nothing but numpy arrays, dtypes, scalars
    and plain Python containers, strings and numbers.  Python 2 pickles are read as ``latin1``, as
    numpy documents for them.  Raises :class:`RefusedGlobal` for any other callable, and the usual
    unpickling errors for a corrupt stream."""
    return _ArraysOnlyUnpickler(fp, encoding="latin1").load()


# errors a corrupt or truncated pickle stream can raise while being read
_STREAM_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, LookupError, AttributeError,
                  OverflowError, MemoryError, UnicodeDecodeError, RecursionError, struct.error)


def load_pickled(fp, what: str):
    """``restricted_load`` with every failure turned into a one-line :class:`WeightsError` about ``what``."""
    try:
        return restricted_load(fp)
    except RefusedGlobal as e:
        raise WeightsError(f"{what}: the pickle asks to call {e.qualified}, which is not a numpy array "
                           f"constructor; refusing it (only arrays, lists, dicts, strings and numbers are read)") \
            from None
    except _STREAM_ERRORS as e:
        detail = " ".join(str(e).split())[:200]
        raise WeightsError(f"{what}: cannot unpickle it ({type(e).__name__}: {detail}); "
                           f"the file may be truncated or corrupt") from None


def looks_like_pickle(path) -> bool:
    """A pickle stream starts with PROTO (protocol 2+) or, at protocols 0/1, with one of the opcodes
    that open a container; ``.pkl``/``.pickle`` files are taken at their word."""
    if str(path).lower().endswith((".pkl", ".pickle")):
        return True
    with open(path, "rb") as f:
        head = f.read(2)
    return len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5 or head[:1] in (b"(", b"]", b"}")


def load_pickle_weights(path, trust_pickle: bool = False):
    """Weights from a pickle file: ``(weights, extras)``.

    ``weights`` maps ``arr_<i>`` to the arrays of the pickled parameter list (a model-zoo dict's
    ``'param values'``/``'values'``, or the list itself); ``extras`` holds the dict's other entries
    (class names, mean values...) as they were unpickled.
    """
    if not trust_pickle:
        raise WeightsError(
            f"{path}: is a Python pickle (the Lasagne model-zoo .pkl format); unpickling can run code, so it is "
            f"read only with --trust-pickle (then through a restricted unpickler that accepts numpy arrays and "
            f"plain data only)")
    with open(path, "rb", buffering=1 << 20) as f:
        obj = load_pickled(f, str(path))
    extras = {}
    if isinstance(obj, dict):
        key = next((k for k in PARAM_KEYS if k in obj), None)
        if key is None:
            keys = ", ".join(repr(k) for k in list(obj)[:8])
            raise WeightsError(f"{path}: a pickled dict without {' or '.join(repr(k) for k in PARAM_KEYS)} "
                               f"(the model zoo's parameter list); its keys: {keys}")
        extras = {k: v for k, v in obj.items() if k != key}
        params, where = obj[key], f"{path}: [{key!r}]"
    else:
        params, where = obj, str(path)
    if not isinstance(params, (list, tuple)):
        raise WeightsError(f"{where} is a {type(params).__name__}, not the list of parameter arrays "
                           f"(get_all_param_values order)")
    weights = {}
    for i, value in enumerate(params):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
            what = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise WeightsError(f"{where}[{i}] is {what}, not a numeric array")
        weights[f"arr_{i}"] = value
    return weights, extras


_MAX_METADATA_VALUES = 4096


_MAX_METADATA_CHARS = 4 << 20  # JSON characters per entry
_MAX_METADATA_DEPTH = 100


class _TooLarge(Exception):
    pass


def _bounded_plain(value, budget: list, depth: int = 0):
    """``value`` as plain JSON data (numpy scalars and small numeric arrays as numbers and lists), its
    JSON size charged to ``budget[0]`` as it is built: a pickle's memo can make a few bytes stand for an
    exponentially large tree (a "billion laughs"), which runs out of budget long before it is expanded.
    Raises _TooLarge, or TypeError for something that is not plain data."""
    if depth > _MAX_METADATA_DEPTH:
        raise _TooLarge(f"nested deeper than {_MAX_METADATA_DEPTH} levels")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub" or value.size > _MAX_METADATA_VALUES:
            raise TypeError(f"an array of {value.size:,} values")
        budget[0] -= 2 + 8 * value.size
        _charge(budget)
        return value.tolist()
    if value is None or isinstance(value, (bool, int, float)):
        budget[0] -= 6 if not isinstance(value, int) or isinstance(value, bool) else 2 + value.bit_length() // 3
        _charge(budget)
        return value
    if isinstance(value, str):
        budget[0] -= len(value) + 3
        _charge(budget)
        return value
    if isinstance(value, (list, tuple)):
        budget[0] -= 2
        return [_bounded_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, dict):
        budget[0] -= 2
        out = {}
        for k, v in value.items():
            if not (k is None or isinstance(k, (str, bool, int, float))):
                raise TypeError(f"a {type(k).__name__} key")
            out[k] = _bounded_plain(v, budget, depth + 1)
            budget[0] -= len(str(k)) + 4
        return out
    raise TypeError(type(value).__name__)


def _charge(budget):
    if budget[0] < 0:
        raise _TooLarge(f"more than {_MAX_METADATA_CHARS:,} characters of JSON")


def extras_metadata(extras: dict):
    """``(props, skipped)``: the entries of a model-zoo pickle beside its parameters (class names,
    a mean pixel...) as ONNX metadata ``lasagne2onnx.pickle.<key>`` = JSON, and a description of
    those too large (a mean image) or not plain data, which are left out."""
    import json

    props, skipped = {}, []
    for key, value in extras.items():
        try:
            plain = _bounded_plain(value, [_MAX_METADATA_CHARS])
            text = json.dumps(plain)
        except (TypeError, ValueError, RecursionError, _TooLarge) as e:
            skipped.append(f"{key!r} ({e})")
            continue
        if len(text) > _MAX_METADATA_CHARS:
            skipped.append(f"{key!r} ({len(text):,} characters of JSON)")
            continue
        props[pickle_key(key)] = text
    return props, skipped
