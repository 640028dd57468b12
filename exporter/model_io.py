"""Saving ONNX models: atomically, streamed, with external data when the weights pass protobuf's 2 GB limit.

Large weights need not live inside the :class:`onnx.ModelProto` while a model is built.  A *detached*
model keeps, for every large initializer, only a placeholder (name, dtype, dims) in the graph and the
array itself in a side ``payloads`` dict (initializer name -> numpy array).  :func:`save_model` then
streams each array's bytes straight from numpy's buffer into the file: no ``tobytes`` copy, no
``SerializeToString`` of the whole model, so writing costs about nothing beyond the arrays themselves.

The file written is an ordinary ONNX protobuf: the model's small fields first, then its ``graph``
field, whose initializers are emitted one by one (``dims, data_type, name, raw_data``).
"""
from __future__ import annotations

import os
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .io import atomic_output

EXTERNAL_DATA_THRESHOLD = 2_000_000_000  # bytes of initializers; protobuf cannot serialise 2 GiB
DETACH_MIN_BYTES = 1024  # initializers at least this large travel beside the model until saved
PENDING = "__lasagne2onnx_pending__"  # the placeholder's marker: data is in the payloads dict
ALIGN = 65536  # external data: large tensors start at multiples of this (lets runtimes mmap them)
ALIGN_MIN_BYTES = 1 << 20

_NP_TO_ONNX = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE,
               np.dtype(np.float16): TensorProto.FLOAT16, np.dtype(np.int64): TensorProto.INT64,
               np.dtype(np.int32): TensorProto.INT32, np.dtype(np.int8): TensorProto.INT8,
               np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.bool_): TensorProto.BOOL}


# -- detached initializers ---------------------------------------------------------------------------
def placeholder(name: str, array: np.ndarray) -> TensorProto:
    """A data-less initializer standing for ``array`` (kept in the payloads dict under ``name``)."""
    t = TensorProto()
    t.name = name
    t.data_type = _NP_TO_ONNX[np.dtype(array.dtype)]
    t.dims.extend(int(d) for d in array.shape)
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", PENDING
    return t


def is_placeholder(t: TensorProto) -> bool:
    return t.data_location == TensorProto.EXTERNAL and any(
        e.key == "location" and e.value == PENDING for e in t.external_data)


def payload_array(array) -> np.ndarray:
    """The array as it will be stored: C-contiguous, little-endian, float64 narrowed to float32."""
    array = np.asarray(array)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array)


def detach(model: onnx.ModelProto, payloads: dict | None = None, min_bytes: int = DETACH_MIN_BYTES):
    """``(skeleton, payloads)``: ``model`` with its large inline initializers moved out (a copy)."""
    skeleton = onnx.ModelProto()
    skeleton.CopyFrom(model)
    payloads = dict(payloads or {})
    for i, t in enumerate(skeleton.graph.initializer):
        if is_placeholder(t) or t.data_location == TensorProto.EXTERNAL:
            continue
        size = len(t.raw_data) if t.HasField("raw_data") else None
        if size is not None and size < min_bytes:
            continue
        arr = numpy_helper.to_array(t)
        if arr.nbytes < min_bytes or arr.dtype not in _NP_TO_ONNX:
            continue
        payloads[t.name] = payload_array(arr)
        skeleton.graph.initializer[i].CopyFrom(placeholder(t.name, payloads[t.name]))
    return skeleton, payloads


def attach(skeleton: onnx.ModelProto, payloads: dict) -> onnx.ModelProto:
    """A self-contained model: every placeholder replaced by its array's data (a copy)."""
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    for i, t in enumerate(model.graph.initializer):
        if is_placeholder(t):
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(payloads[t.name], t.name))
    return model


def checkable(skeleton: onnx.ModelProto) -> onnx.ModelProto:
    """A copy without payload data that the ONNX checker and shape inference accept.

    Placeholders become graph inputs of the same type and shape; no weight data is copied.
    """
    m = onnx.ModelProto()
    m.CopyFrom(skeleton)
    kept = [t for t in m.graph.initializer if not is_placeholder(t)]
    moved = [t for t in m.graph.initializer if is_placeholder(t)]
    if not moved:
        return m
    del m.graph.initializer[:]
    m.graph.initializer.extend(kept)
    for t in moved:
        m.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    return m


def initializer_bytes(model: onnx.ModelProto, payloads: dict | None = None) -> int:
    total = 0
    for t in model.graph.initializer:
        if payloads is not None and is_placeholder(t):
            total += payloads[t.name].nbytes
        else:
            total += len(t.raw_data)
    return total


# -- writing -------------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field: int, wire: int = 2) -> bytes:
    return _varint((field << 3) | wire)


_GRAPH_FIELD = 7  # ModelProto.graph
_INITIALIZER_FIELD = 5  # GraphProto.initializer
_RAW_DATA_FIELD = 9  # TensorProto.raw_data


class _Progress:
    """Reports bytes written, at most ten times a second."""

    def __init__(self, callback, total, what):
        self.callback, self.total, self.what = callback, total, what
        self.done, self.last = 0, 0.0

    def add(self, n):
        self.done += n
        if self.callback is None:
            return
        now = time.monotonic()
        final = self.done >= self.total
        if (now - self.last >= 0.1 and not final) or (final and self.last >= 0):
            self.last = -1.0 if final else now
            self.callback(self.done, self.total, self.what)


def _write_array(f, array: np.ndarray, progress: _Progress, chunk: int = 1 << 24):
    view = memoryview(array.reshape(-1)).cast("B") if array.size else memoryview(b"")
    for start in range(0, len(view), chunk):
        part = view[start:start + chunk]
        f.write(part)
        progress.add(len(part))


def _header(t: TensorProto) -> bytes:
    """The initializer's fields other than its data (dims, data_type, name, ...)."""
    h = TensorProto()
    h.CopyFrom(t)
    h.ClearField("raw_data")
    h.ClearField("external_data")
    h.ClearField("data_location")
    return h.SerializeToString()


def _repeated(field) -> bool:
    rep = getattr(field, "is_repeated", None)
    return rep if isinstance(rep, bool) else field.label == field.LABEL_REPEATED


def _copy_except(src, dst, skip: str):
    """Copy ``src``'s fields into ``dst``, all but ``skip`` (which may be huge)."""
    for field, value in src.ListFields():
        if field.name == skip:
            continue
        if _repeated(field):
            getattr(dst, field.name).extend(value)
        elif field.message_type is not None:
            getattr(dst, field.name).CopyFrom(value)
        else:
            setattr(dst, field.name, value)


def _split(model: onnx.ModelProto, payloads: dict | None):
    """(model without graph, graph without big initializers, [(TensorProto, array or None)]).

    Nothing large is copied: big initializers are written later from the payload array or, for an
    ordinary model, from the proto's own ``raw_data``.
    """
    payloads = payloads or {}
    graph = onnx.GraphProto()
    _copy_except(model.graph, graph, "initializer")
    big = []
    for t in model.graph.initializer:
        if is_placeholder(t):
            big.append((t, payloads[t.name]))
        elif t.HasField("raw_data") and len(t.raw_data) >= DETACH_MIN_BYTES:
            big.append((t, None))
        else:
            graph.initializer.append(t)
    rest = onnx.ModelProto()
    _copy_except(model, rest, "graph")
    return rest, graph, big


def save_model(model: onnx.ModelProto, path, progress=None, payloads: dict | None = None,
               external: bool | None = None, threshold: int | None = None):
    """Write ``model`` (and the ``payloads`` of a detached model) to ``path``, atomically.

    When the initializers total ``threshold`` bytes (default :data:`EXTERNAL_DATA_THRESHOLD`) or more
    (or ``external=True``), tensors go to ``<path>.data`` beside the model as ONNX external data;
    otherwise everything is in one file.
    ``progress`` is an optional ``(bytes_done, bytes_total, what)`` callback.
    """
    path = os.fspath(path)
    rest, graph, big = _split(model, payloads)
    sizes = [(a.nbytes if a is not None else len(t.raw_data)) for t, a in big]
    total = sum(sizes) + sum(len(t.raw_data) for t in graph.initializer)
    if external is None:
        external = total >= (EXTERNAL_DATA_THRESHOLD if threshold is None else threshold)
    report = _Progress(progress, sum(sizes), f"writing {os.path.basename(path)}")
    if not external:
        with atomic_output(path) as tmp:
            _write_single(tmp, rest, graph, big, report)
        return
    data_name = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), data_name)
    with atomic_output(data_path) as tmp_data:
        locations = _write_external(tmp_data, big, report)
        for (t, _), (offset, length) in zip(big, locations):
            ext = TensorProto()
            ext.CopyFrom(t)
            ext.ClearField("raw_data")
            ext.ClearField("external_data")
            ext.data_location = TensorProto.EXTERNAL
            for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                e = ext.external_data.add()
                e.key, e.value = k, v
            graph.initializer.append(ext)
        rest.graph.CopyFrom(graph)
        with atomic_output(path) as tmp, open(tmp, "wb") as f:  # inside: a failure here removes the data too
            f.write(rest.SerializeToString())


def _write_single(tmp, rest, graph, big, report):
    headers = []
    for t, arr in big:
        h = _header(t)
        n = arr.nbytes if arr is not None else len(t.raw_data)
        body = len(h) + len(_key(_RAW_DATA_FIELD)) + len(_varint(n)) + n
        headers.append((h, n, body))
    graph_bytes = graph.SerializeToString()
    graph_len = len(graph_bytes) + sum(len(_key(_INITIALIZER_FIELD)) + len(_varint(b)) + b for _, _, b in headers)
    with open(tmp, "wb") as f:
        f.write(rest.SerializeToString())
        f.write(_key(_GRAPH_FIELD) + _varint(graph_len))
        f.write(graph_bytes)
        for (t, arr), (h, n, body) in zip(big, headers):
            f.write(_key(_INITIALIZER_FIELD) + _varint(body) + h + _key(_RAW_DATA_FIELD) + _varint(n))
            if arr is not None:
                _write_array(f, arr, report)
            else:
                f.write(t.raw_data)
                report.add(n)


def _write_external(tmp_data, big, report):
    locations = []
    offset = 0
    with open(tmp_data, "wb") as f:
        for t, arr in big:
            n = arr.nbytes if arr is not None else len(t.raw_data)
            if n >= ALIGN_MIN_BYTES and offset % ALIGN:
                pad = ALIGN - offset % ALIGN
                f.write(b"\0" * pad)
                offset += pad
            if arr is not None:
                _write_array(f, arr, report)
            else:
                f.write(t.raw_data)
                report.add(n)
            locations.append((offset, n))
            offset += n
    return locations
