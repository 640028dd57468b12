"""Saving ONNX models: atomically, streamed, with external data when the weights pass protobuf's 2 GB limit.

Large weights need not live inside the :class:`onnx.ModelProto` while a model is built.  A *detached*
model keeps, for every large initializer, only a placeholder (name, dtype, dims) in the graph and the
array itself in a side ``payloads`` dict (initializer name -> numpy array).  :func:`save_model` then
streams each array's bytes straight from numpy's buffer into the file: no ``tobytes`` copy, no
``SerializeToString`` of the whole model, so writing costs about nothing beyond the arrays themselves.

The file written is an ordinary ONNX protobuf: the model's small fields first, then its ``graph``
field: the graph's other fields, then its initializers in their order, each emitted as its small
fields followed by its ``raw_data``.  The field numbers come from the protobuf descriptors, and
``tests/test_model_io.py`` checks that ``onnx.load`` reads back exactly the model given.
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
_DATA_FIELDS = ("raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data",
                "external_data", "data_location")


def _without_data(t: TensorProto) -> TensorProto:
    """A copy of ``t`` with every field but its data (name, dims, data_type, doc_string, ...)."""
    out = TensorProto()
    out.CopyFrom(t)
    for f in _DATA_FIELDS:
        out.ClearField(f)
    return out


def placeholder(name: str, array: np.ndarray, like: TensorProto | None = None) -> TensorProto:
    """A data-less initializer standing for ``array`` (kept in the payloads dict under ``name``), with
    the other fields (doc_string...) of ``like`` when given."""
    t = _without_data(like) if like is not None else TensorProto()
    t.name = name
    t.data_type = _NP_TO_ONNX[np.dtype(array.dtype)]
    del t.dims[:]
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
    """``(skeleton, payloads)``: ``model`` with its large inline initializers moved out (a copy).
    The placeholders keep the tensors' other fields (a doc_string...); float64 is narrowed to float32."""
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
        skeleton.graph.initializer[i].CopyFrom(placeholder(t.name, payloads[t.name], like=t))
    return skeleton, payloads


def attach(skeleton: onnx.ModelProto, payloads: dict) -> onnx.ModelProto:
    """A self-contained model: every placeholder replaced by its array's data (a copy)."""
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    for t in model.graph.initializer:
        if is_placeholder(t):
            t.ClearField("external_data")
            t.ClearField("data_location")
            t.raw_data = payloads[t.name].tobytes()
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


def _field(message_type, name: str) -> int:
    """The number of a length-delimited (message or bytes) field, from the protobuf schema."""
    field = message_type.DESCRIPTOR.fields_by_name[name]
    assert field.type in (field.TYPE_MESSAGE, field.TYPE_BYTES), name
    return field.number


GRAPH_FIELD = _field(onnx.ModelProto, "graph")
INITIALIZER_FIELD = _field(onnx.GraphProto, "initializer")
RAW_DATA_FIELD = _field(onnx.TensorProto, "raw_data")
_LENGTH_DELIMITED = 2  # the wire type of messages and bytes


def _key(field: int) -> bytes:
    return _varint((field << 3) | _LENGTH_DELIMITED)


def _length_delimited(field: int, n: int) -> bytes:
    """The key and length that precede ``n`` bytes of field ``field``."""
    return _key(field) + _varint(n)


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


def _header(t: TensorProto) -> TensorProto:
    """The initializer without its data (raw_data; for a placeholder, its marker too)."""
    h = TensorProto()
    h.CopyFrom(t)
    h.ClearField("raw_data")
    if is_placeholder(t):
        h.ClearField("external_data")
        h.ClearField("data_location")
    return h


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


class _Initializer:
    """One initializer as it will be written: ``proto`` whole (small ones), or ``header`` + ``size`` bytes
    of data streamed from ``array`` (a payload) or from the proto's own ``raw_data``."""

    def __init__(self, t: TensorProto, array):
        self.proto, self.array = t, array
        self.big = array is not None or (t.HasField("raw_data") and len(t.raw_data) >= DETACH_MIN_BYTES)
        self.header = _header(t) if self.big else None
        self.size = (array.nbytes if array is not None else len(t.raw_data)) if self.big else 0

    def write_data(self, f, report):
        if self.array is not None:
            _write_array(f, self.array, report)
        else:
            f.write(self.proto.raw_data)
            report.add(self.size)


def _split(model: onnx.ModelProto, payloads: dict | None):
    """(model without graph, graph without initializers, [_Initializer] in the graph's order).

    Nothing large is copied: big initializers are written later from the payload array or, for an
    ordinary model, from the proto's own ``raw_data``.
    """
    payloads = payloads or {}
    graph = onnx.GraphProto()
    _copy_except(model.graph, graph, "initializer")
    inits = [_Initializer(t, payloads[t.name] if is_placeholder(t) else None) for t in model.graph.initializer]
    rest = onnx.ModelProto()
    _copy_except(model, rest, "graph")
    return rest, graph, inits


def save_model(model: onnx.ModelProto, path, progress=None, payloads: dict | None = None,
               external: bool | None = None, threshold: int | None = None):
    """Write ``model`` (and the ``payloads`` of a detached model) to ``path``, atomically.

    When the initializers total ``threshold`` bytes (default :data:`EXTERNAL_DATA_THRESHOLD`) or more
    (or ``external=True``), tensors of at least :data:`DETACH_MIN_BYTES` go to ``<path>.data`` beside
    the model as ONNX external data; otherwise everything is in one file.  ``onnx.load`` reads back
    the model given (a detached one as :func:`attach` would make it), initializers in their order.
    ``progress`` is an optional ``(bytes_done, bytes_total, what)`` callback.
    """
    path = os.fspath(path)
    rest, graph, inits = _split(model, payloads)
    big = sum(i.size for i in inits)
    total = big + sum(len(i.proto.raw_data) for i in inits if not i.big)
    if external is None:
        external = total >= (EXTERNAL_DATA_THRESHOLD if threshold is None else threshold)
    report = _Progress(progress, big, f"writing {os.path.basename(path)}")
    if not external:
        with atomic_output(path) as tmp:
            _write_single(tmp, rest, graph, inits, report)
        return
    data_name = os.path.basename(path) + ".data"
    data_path = os.path.join(os.path.dirname(os.path.abspath(path)), data_name)
    with atomic_output(data_path) as tmp_data:
        locations = _write_external(tmp_data, [i for i in inits if i.big], report)
        for init in inits:
            if not init.big:
                graph.initializer.append(init.proto)
                continue
            offset, length = locations[id(init)]
            ext = graph.initializer.add()
            ext.CopyFrom(init.header)
            ext.ClearField("external_data")
            ext.data_location = TensorProto.EXTERNAL
            for k, v in (("location", data_name), ("offset", str(offset)), ("length", str(length))):
                e = ext.external_data.add()
                e.key, e.value = k, v
        rest.graph.CopyFrom(graph)
        with atomic_output(path) as tmp, open(tmp, "wb") as f:  # inside: a failure here removes the data too
            f.write(rest.SerializeToString())


def _write_single(tmp, rest, graph, inits, report):
    pieces = []  # per initializer: (bytes before its data, the initializer or None)
    for init in inits:
        if not init.big:
            body = init.proto.SerializeToString()
            pieces.append((_length_delimited(INITIALIZER_FIELD, len(body)) + body, None))
            continue
        h = init.header.SerializeToString()
        data_key = _length_delimited(RAW_DATA_FIELD, init.size)
        body_len = len(h) + len(data_key) + init.size
        pieces.append((_length_delimited(INITIALIZER_FIELD, body_len) + h + data_key, init))
    graph_bytes = graph.SerializeToString()
    graph_len = len(graph_bytes) + sum(len(head) + (init.size if init else 0) for head, init in pieces)
    with open(tmp, "wb") as f:
        f.write(rest.SerializeToString())
        f.write(_length_delimited(GRAPH_FIELD, graph_len))
        f.write(graph_bytes)
        for head, init in pieces:
            f.write(head)
            if init is not None:
                init.write_data(f, report)


def _write_external(tmp_data, big, report) -> dict:
    """Write the big initializers' data one after the other; ``{id(initializer): (offset, length)}``."""
    locations = {}
    offset = 0
    with open(tmp_data, "wb") as f:
        for init in big:
            n = init.size
            if n >= ALIGN_MIN_BYTES and offset % ALIGN:
                pad = ALIGN - offset % ALIGN
                f.write(b"\0" * pad)
                offset += pad
            init.write_data(f, report)
            locations[id(init)] = (offset, n)
            offset += n
    return locations
