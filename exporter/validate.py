"""Run an exported model in onnxruntime."""
from __future__ import annotations

import math

import numpy as np


def make_session(model_or_path, providers=None):
    import onnxruntime as ort

    src = model_or_path if isinstance(model_or_path, (str, bytes)) else model_or_path.SerializeToString()
    if isinstance(src, str) and not _utf8(src):  # onnxruntime takes UTF-8 paths only: give it the bytes
        with open(src, "rb") as f:
            src = f.read()
    opts = ort.SessionOptions()
    opts.log_severity_level = 4  # its failures are reported as errors naming the layer (run_session)
    return ort.InferenceSession(src, opts, providers=providers or ["CPUExecutionProvider"])


def _utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
        return True
    except UnicodeEncodeError:  # a file name that is not UTF-8 (os.fsdecode's surrogate escapes)
        return False


MAX_RANDOM_INPUT_BYTES = 2 << 30  # random check inputs larger than this are refused before anything is drawn


def random_inputs(session, batch: int = 2, seed: int = 0, overrides: dict | None = None, skip=()) -> dict:
    """Random float32 inputs for every graph input not in ``skip`` (inputs fed otherwise, such as
    weights), integers of the input's type for integer inputs (indices below the model's
    :func:`index_bounds`); symbolic dims get ``batch`` (first) or ``overrides``.  Raises ValueError when a size is
    unknown or the inputs would take more than :data:`MAX_RANDOM_INPUT_BYTES`."""
    rng = np.random.default_rng(seed)
    inputs = [inp for inp in session.get_inputs() if inp.name not in skip]
    if overrides and None in overrides and len(inputs) == 1:  # --input-shape without a name
        overrides = {inputs[0].name: overrides[None]}
    shapes = {}
    for inp in inputs:
        if overrides and inp.name in overrides:
            shape = overrides[inp.name]
        else:
            shape = [d if isinstance(d, int) else None for d in inp.shape]
            if shape and shape[0] is None:
                shape[0] = batch
            if any(d is None for d in shape):
                raise ValueError(f"input {inp.name!r} has unknown dimensions {inp.shape}; give --input-shape")
        shapes[inp.name] = tuple(shape)
    check_random_input_shapes(shapes)
    types = {inp.name: getattr(inp, "type", "tensor(float)") for inp in inputs}
    meta = session.get_modelmeta().custom_metadata_map if hasattr(session, "get_modelmeta") else {}
    bounds = index_bounds(meta)
    return {name: random_array(rng, shape, types[name], bounds.get(name)) for name, shape in shapes.items()}


def check_random_input_shapes(shapes: dict, hint: str = "give smaller sizes with --input-shape"):
    """Raise ValueError for random float32 inputs (``{name: shape}``) with a negative dimension, or
    that would take more than :data:`MAX_RANDOM_INPUT_BYTES` together: before anything is drawn."""
    for name, shape in shapes.items():
        if any(d < 0 for d in shape):
            raise ValueError(f"input {name!r} has a negative dimension {tuple(shape)}")
    total = sum(4 * math.prod(s) for s in shapes.values())
    if total > MAX_RANDOM_INPUT_BYTES:
        sizes = ", ".join(f"{n!r} {tuple(s)}" for n, s in shapes.items())
        raise ValueError(f"random inputs would take {total / 2**30:,.1f} GiB ({sizes}); {hint}")


_ORT_INTEGER_TYPES = {f"tensor({t})": t for t in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                                  "uint64")}


def index_bounds(metadata: dict) -> dict:
    """Integer input -> the exclusive upper bound of the indices it holds (see exporter.metadata)."""
    from .metadata import index_bounds_of

    return index_bounds_of(metadata)


def as_input(array, onnx_type: str, what: str):
    """``array`` as the graph input's type (float32, or the integer type of an index input); a float array
    whose values are not whole numbers cannot be indices (ValueError naming ``what``)."""
    dtype = _ORT_INTEGER_TYPES.get(onnx_type)
    array = np.asarray(array)
    if dtype is None:
        return np.ascontiguousarray(array, dtype=np.float32)
    if not np.array_equal(array.astype(dtype), array):
        raise ValueError(f"{what} holds {dtype} indices; the array's {array.dtype} values are not all {dtype} integers")
    return np.ascontiguousarray(array, dtype=dtype)


def random_array(rng, shape, onnx_type: str = "tensor(float)", high=None):
    """A seeded random input: standard normal float32, or for an integer input (onnxruntime type
    ``tensor(int32)`` ...) integers in [0, high) (high: the input's index bound, else 2); a float input
    with a bound (a recurrent layer's mask: 2) holds whole numbers below it."""
    dtype = _ORT_INTEGER_TYPES.get(onnx_type)
    if dtype is None:
        if high:
            return rng.integers(0, high, size=shape).astype(np.float32)
        return rng.standard_normal(shape, dtype=np.float32)
    return rng.integers(0, high or 2, size=shape).astype(dtype)


def run(model_or_path, feeds: dict, outputs=None) -> dict:
    sess = make_session(model_or_path)
    names = outputs or [o.name for o in sess.get_outputs()]
    return dict(zip(names, run_session(sess, names, feeds)))


def run_session(sess, names, feeds: dict) -> list:
    """``sess.run(names, feeds)``; an onnxruntime failure (a size the graph fixes that the inputs do not
    have ...) becomes an ExportError naming the layer whose node failed and the input shapes, not a
    traceback."""
    from .errors import ExportError

    try:
        return sess.run(names, feeds)
    except Exception as e:
        if not type(e).__module__.startswith("onnxruntime"):
            raise
        raise ExportError(describe_failure(e, {k: np.shape(v) for k, v in feeds.items()
                                               if k in {i.name for i in sess.get_inputs()}})) from None


def describe_failure(e: Exception, shapes: dict) -> str:
    """One line for an onnxruntime failure: the Lasagne layer (its nodes are named ``layer/Op``), what
    onnxruntime said, the input shapes."""
    import re

    text = str(e)
    node = re.search(r"Name:'([^']*)'", text)
    said = re.search(r"Status Message: (?:\S+\.(?:h|cc):\d+ .*?\) )?(.*)", text, re.S)
    message = " ".join((said.group(1) if said else text).split())
    if "shape" in message.lower():  # a size the export fixes (from the build code) that the inputs do not have
        message += " (give the input sizes the network was built for with --input-shape)"
    layer = node.group(1).split("/")[0] if node else None
    inputs = ", ".join(f"{k!r} {tuple(v)}" for k, v in shapes.items())
    return (f"onnxruntime cannot run the export on inputs of shape {inputs}"
            + (f": layer {layer!r} (node {node.group(1)!r}) failed" if layer else "") + f": {message}")
