"""Driver: :func:`build` runs every node's converter into a ``keras.Model``; layout conversions of arrays."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import onnx_reader, traced
from ..onnx_reader import identifier
from . import traced as traced_layers
from .builder import REGISTRY, Builder


def build(view, data_format="channels_last", name="lasagne", progress=None, backend="torch"):
    """A ``keras.Model`` computing the ONNX graph (each traced layer one Keras layer: :mod:`.traced`).  Returns ``(model, info)``; ``info['custom_layers']``
    lists the lasagne2onnx layers it needed (empty: only Keras built-ins).  ``progress``: an optional
    callback ``(nodes done, nodes, layer or node name)``; ``backend``: the Keras backend it must run on."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"data_format must be channels_last or channels_first, not {data_format!r}")
    b = Builder(view, data_format, backend)
    keras = b.keras
    recurrent = traced.recurrent_layers(view)
    outer, layers = traced.split(view, whole=recurrent)
    sequences = _sequences(outer, layers, recurrent)
    inputs = []
    for name_ in view.inputs:
        shape = view.shape(name_)
        if shape is None:
            raise onnx_reader.OnnxInputError(f"graph input {name_!r} has no shape")
        layout = b.pref if len(shape) >= 3 and name_ not in sequences else "cf"
        dims = list(shape[1:])
        if layout == "cl":
            dims = dims[1:] + dims[:1]
        dtype = view.input_dtypes.get(name_, "float32")
        t = keras.Input(shape=tuple(dims), name=identifier(name_, b.names), dtype=dtype if dtype != "float64" else "float32")
        inputs.append(t)
        b.put(name_, t, layout)
    b.view = replace(outer, shapes=dict(outer.shapes))  # (traced layers' output shapes are filled in from Keras')
    REGISTRY.require_all([n for n in outer.nodes if n.index not in layers], view.opset)
    for t in layers.values():  # refused before anything is built, naming the op
        traced_layers.check(t)
    done = 0
    for n in outer.nodes:
        if n.index in layers:
            traced_layers.convert(b, layers[n.index])
        elif n.index not in b.skip:
            REGISTRY.lookup(n, view.opset)(b, n)
        done += len(layers[n.index].view.nodes) if n.index in layers else 1
        if progress:
            progress(done, len(view.nodes), n.layer or n.name)
    outputs, layouts = [], []
    for o in view.outputs:
        if o not in b.vals:
            raise onnx_reader.OnnxInputError(f"graph output {o!r} is not produced as a tensor")
        v = b.vals[o]
        if v.perm is not None:
            raise onnx_reader.OnnxInputError(f"internal: output {o!r} is a permuted flatten")
        want = b.pref if len(v.t.shape) >= 3 and o not in sequences else "cf"
        outputs.append(b.get(o, None, want) if v.layout != want else v.t)
        layouts.append(want)
    model = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0],
                        name=identifier(name, set()))
    return model, {"custom_layers": sorted(b.custom), "input_layouts": [b.layout_of(i) for i in view.inputs],
                   "output_layouts": layouts}


def _sequences(outer, layers, recurrent) -> set:
    """Graph inputs read only by recurrent layers and graph outputs of them: (batch, time, features)
    sequences, which stay in that order (Keras' own) whatever the data format."""
    stand_ins = {i for i, t in layers.items() if t.layer in recurrent}
    found = {name for name in outer.inputs
             if outer.consumers.get(name) and all(c.index in stand_ins for c in outer.consumers[name])}
    found |= {o for i in stand_ins for o in layers[i].view.outputs if outer.is_output(o)}
    return found


def to_keras_layout(array, layout):
    """ONNX-order array -> what the Keras model takes/returns in ``layout`` ('cl' moves axis 1 last)."""
    array = np.asarray(array)
    if layout != "cl" or array.ndim < 3:
        return array
    return np.transpose(array, (0,) + tuple(range(2, array.ndim)) + (1,))


def from_keras_layout(array, layout):
    array = np.asarray(array)
    if layout != "cl" or array.ndim < 3:
        return array
    return np.transpose(array, (0, array.ndim - 1) + tuple(range(1, array.ndim - 1)))
