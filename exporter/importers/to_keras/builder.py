"""Core of the Keras builder: :class:`Builder` (the Keras tensor and layout of each ONNX value), the ``@op``
registry, and helpers several op families share.

Layouts.  ONNX tensors are channels-first.  With ``data_format="channels_last"`` (the default) every
tensor of rank >= 3 is held channels-last where the op allows it (convolutions, pooling, batch norm,
activations...), kernels are transposed, model inputs and outputs are NHWC; each value remembers its
layout (``cf`` = ONNX order, ``cl`` = channels moved last) and a ``Permute`` is inserted only where an
op needs the other one.  A ``Flatten`` of a channels-last tensor that feeds only Dense layers is kept
as is and those Dense layers get their kernel rows permuted, so the outputs still match.
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

from .. import onnx_reader  # noqa: E402
from ..onnx_reader import UnsupportedNodeError, identifier, split_pads  # noqa: E402


TARGET = "to-keras"
REFUSED = {"Mod": "no Keras layer computes ONNX's Mod exactly (to-torch maps it)",
           "GatherND": "run-time gathers (spatial transformers' bilinear sampling) have no Keras layer (to-torch maps "
                       "the per-example form)"}  # op -> why this importer does not map it
REGISTRY = onnx_reader.OpRegistry(TARGET, refused=REFUSED)
op = REGISTRY.register
_IMPORTERS = __package__.rpartition(".")[0]  # exporter.importers, home of keras_layers


def keras_module(backend="torch"):
    """keras, which must run on ``backend`` (torch for to-keras, tensorflow for to-tf)."""
    from ...errors import ExportError

    try:
        import keras
    except ImportError as e:  # e.g. KERAS_BACKEND=tensorflow where TensorFlow is not installed
        raise ExportError(f"Keras cannot load its {os.environ.get('KERAS_BACKEND')!r} backend ({e}); the importer "
                          f"runs on the {backend} backend: set KERAS_BACKEND={backend} before importing keras") from None
    if keras.backend.backend() != backend and os.environ.get("LASAGNE2ONNX_ANY_KERAS_BACKEND") != "1":
        raise ExportError(f"Keras runs on the {keras.backend.backend()!r} backend; set KERAS_BACKEND={backend} "
                          "before importing keras")
    return keras


class Val:
    """A Keras tensor for one ONNX value: ``layout`` is 'cf' (ONNX order) or 'cl' (channels last);
    ``perm`` (2-D only) says which ONNX feature each column holds, when a Flatten kept NHWC order."""

    def __init__(self, t, layout="cf", perm=None):
        self.t, self.layout, self.perm = t, layout, perm


class Builder:
    def __init__(self, view, data_format, backend="torch"):
        self.keras = keras_module(backend)
        self.view = view
        self.data_format = data_format
        self.pref = "cl" if data_format == "channels_last" else "cf"
        self.vals = {}
        self.names = set()
        self.pending = []  # (layer, weights) set once the layer is built
        self.skip = set()
        self.shape_only = set()  # values that only describe shapes (Shape -> Gather -> Concat)
        self.custom = set()

    # -- values ----------------------------------------------------------------------------------
    def rank(self, name, node=None):
        return self.view.rank(name, node)

    def get(self, name, node, layout=None):
        """The Keras tensor of ``name`` in ``layout`` (None: as held), materialising permutations."""
        if name in self.shape_only or name not in self.vals:
            if self.view.const(name) is not None:
                raise UnsupportedNodeError(node, f"constant input {name!r} is not supported here", TARGET)
            raise UnsupportedNodeError(node, f"input {name!r} is not available as a tensor", TARGET)
        v = self.vals[name]
        if v.perm is not None:  # a flatten in NHWC order consumed by something other than a Dense
            raise UnsupportedNodeError(node, "internal: permuted flatten consumed by a non-Dense op", TARGET)
        r = len(v.t.shape)
        if layout is None or layout == v.layout or r < 3:
            return v.t
        key = (name, layout)
        if key not in self.vals:
            dims = tuple(range(2, r)) + (1,) if layout == "cl" else (r - 1,) + tuple(range(1, r - 1))
            t = self.layer(node, self.keras.layers.Permute(dims, name=self.lname(node, f"to_{layout}")), v.t)
            self.vals[key] = Val(t, layout)
        return self.vals[key].t

    def layout_of(self, name):
        v = self.vals.get(name)
        return v.layout if v is not None and len(v.t.shape) >= 3 else "cf"

    def put(self, name, t, layout="cf", perm=None):
        self.vals[name] = Val(t, layout if len(t.shape) >= 3 else "cf", perm)

    def axis(self, a, rank, layout):
        """An ONNX axis in the Keras tensor of ``layout``."""
        a = a + rank if a < 0 else a
        if layout == "cf" or rank < 3 or a == 0:
            return a
        return rank - 1 if a == 1 else a - 1

    def fmt(self, layout):
        return "channels_last" if layout == "cl" else "channels_first"

    # -- layers ------------------------------------------------------------------------------------
    def lname(self, node, suffix=None):
        if node is None:
            base = "output"
        elif node.layer:
            base = node.layer[:-len("/linear")] if node.layer.endswith("/linear") else node.layer
        else:
            base = node.name.split(":")[0]
        return identifier(base + (f"_{suffix}" if suffix else ""), self.names)

    def layer(self, node, layer, *inputs, weights=None):
        t = layer(*inputs) if len(inputs) == 1 else layer(list(inputs))
        if weights is not None:
            expected = [tuple(w.shape) for w in layer.weights]
            got = [tuple(np.shape(w)) for w in weights]
            if expected != got:
                raise UnsupportedNodeError(node, f"internal: weight shapes {got} do not fit {expected}", TARGET)
            layer.set_weights([np.asarray(w, np.float32) if np.asarray(w).dtype.kind == "f" else np.asarray(w)
                               for w in weights])
        if type(layer).__module__.startswith(_IMPORTERS):  # a layer from keras_layers
            self.custom.add(type(layer).__name__)
        return t

    def const(self, name):
        return self.view.const(name)


def _static(view, name, node, what="input"):
    s = view.shape(name)
    if s is None or any(d is None for d in s[1:]):
        raise UnsupportedNodeError(node, f"needs a static {what} shape (got {s})", TARGET)
    return s


def _auto_pad(n, nd):
    ap = n.attr("auto_pad", "NOTSET")
    if ap == "VALID":
        return [0] * nd, [0] * nd
    if ap not in ("NOTSET", ""):
        raise UnsupportedNodeError(n, f"auto_pad={ap} is not supported (export with explicit pads)", TARGET)
    return split_pads(n.attr("pads"), nd)


def _zero_pad(b, n, x, layout, begins, ends, suffix="pad"):
    nd = len(begins)
    if not any(begins) and not any(ends):
        return x
    L = b.keras.layers
    padding = tuple((int(p), int(q)) for p, q in zip(begins, ends))
    if nd == 1:
        return b.layer(n, L.ZeroPadding1D(padding[0], data_format=b.fmt(layout), name=b.lname(n, suffix)), x)
    cls = L.ZeroPadding2D if nd == 2 else L.ZeroPadding3D
    return b.layer(n, cls(padding, data_format=b.fmt(layout), name=b.lname(n, suffix)), x)


def _crop1d(b, n, y, layout, crop):
    if layout == "cl":
        return b.layer(n, b.keras.layers.Cropping1D(crop, name=b.lname(n, "crop")), y)
    from ..keras_layers import SliceAxis  # Cropping1D only knows (N, steps, C)

    d = y.shape[2]
    if d is None:
        raise UnsupportedNodeError(n, "1-D cropping of channels_first data needs a static length", TARGET)
    return b.layer(n, SliceAxis(2, crop[0], d - crop[1], name=b.lname(n, "crop")), y)


def onnx_op(b, n, inputs=None, params=None, elementwise=True, op=None, suffix=None):
    """Compute ``n`` with :class:`keras_layers.OnnxOp` (an ONNX op as its keras.ops call) and record its output.

    ``inputs`` (default: the node's) may be tensors or constants; constants become the layer's
    non-trainable weights.  ``elementwise``: tensors of one rank stay in the first one's layout and
    constants are broadcast to that rank and permuted alike; otherwise (shape-changing ops, mixed ranks)
    everything is in ONNX order.  ``params`` are the op's fixed arguments, or a function of the layout.
    """
    from ..keras_layers import OnnxOp

    names = list(n.inputs if inputs is None else inputs)
    consts = [b.const(i) for i in names]
    tensors = [i for i, c in zip(names, consts) if c is None]
    if not tensors:
        raise UnsupportedNodeError(n, "every input is a constant", TARGET)
    ranks = [b.rank(i, n) for i in tensors]
    rank = max(ranks)
    layout = b.layout_of(tensors[0]) if elementwise and len(set(ranks)) == 1 and rank >= 3 else "cf"
    operands, xs, shapes, dtypes, values = [], [], [], [], []
    for name, c in zip(names, consts):
        if c is None:
            operands.append("x")
            xs.append(b.get(name, n, layout))
            continue
        if elementwise:
            if c.ndim > rank:
                raise UnsupportedNodeError(n, f"constant of rank {c.ndim} broadcasts the rank-{rank} input up", TARGET)
            c = c.reshape((1,) * (rank - c.ndim) + c.shape)
            if c.ndim and c.shape[0] != 1:
                raise UnsupportedNodeError(n, "a constant that varies over the batch axis is not supported", TARGET)
            if layout == "cl":
                c = np.transpose(c, (0,) + tuple(range(2, rank)) + (1,))
        operands.append("c")
        shapes.append(list(c.shape))
        dtypes.append(c.dtype.name)
        values.append(np.ascontiguousarray(c))
    params = params(layout) if callable(params) else params
    layer = OnnxOp(op or n.op_type, operands, params, shapes, dtypes, name=b.lname(n, suffix or n.op_type.lower()))
    y = b.layer(n, layer, *xs, weights=values or None)
    b.put(n.outputs[0], y, layout)
    return y


def batch_axis_refused(n, axes, rank, what):
    """Refuse ``n`` when ``axes`` (ONNX axes of a rank-``rank`` value) include the batch axis."""
    if any(a % rank == 0 for a in axes):
        raise UnsupportedNodeError(n, f"{what} over the batch axis is not supported", TARGET)
