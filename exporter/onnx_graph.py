"""A small helper that converters use to emit ONNX nodes, built on :mod:`onnx.helper`."""
from __future__ import annotations

import re

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OPSET = 17  # what the importers (and onnx2torch) accept
MIN_OPSET = 13  # the oldest opset exports are written for
# The newest opset exports are written for: the newest the pinned onnxruntime (1.32) loads, and the
# one at which the whole parity suite (plain and optimised, and the importers) is tested, as it is at
# MIN_OPSET and DEFAULT_OPSET (tests/test_parity_theano.py).  Raise it only with those tests green.
MAX_OPSET = 28


def check_opset(opset, what: str = "ONNX opset") -> int:
    """``opset`` when exports are written and tested for it; else an ExportError naming the range."""
    from .errors import ExportError

    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise ExportError(f"{what} {opset!r} is not supported: exports are written for ONNX opsets {MIN_OPSET} to "
                          f"{MAX_OPSET} (default {DEFAULT_OPSET})")
    return opset


def value_name(layer_name: str) -> str:
    """The ONNX value name for a layer's output: the layer name with unusual characters replaced."""
    return re.sub(r"[^A-Za-z0-9_./:-]", "_", layer_name)


class OnnxGraph:
    """Collects nodes and initializers; hands out unique names.

    ``weights`` maps parameter keys to arrays; ``tensor(layer)`` returns the ONNX value holding a
    layer's output.
    """

    def __init__(self, weights: dict, opset: int = DEFAULT_OPSET, layers: dict | None = None):
        self.weights = weights
        self.layers = layers or {}  # layer name -> LayerSpec, for input shapes
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self._names = set()
        self._values = {}  # layer name -> ONNX value name
        self._small_ints = {}  # initializer name -> its value, for the small int vectors constant() added

    # -- names --------------------------------------------------------------------------------
    def unique(self, base: str) -> str:
        base = value_name(base)
        name, k = base, 1
        while name in self._names:
            k += 1
            name = f"{base}_{k}"
        self._names.add(name)
        return name

    def tensor(self, layer_name: str) -> str:
        return self._values[layer_name]

    def value_of(self, layer_name: str):
        """The ONNX value of a layer's output, or None if the layer was lowered away."""
        return self._values.get(layer_name)

    def set_output(self, layer_name: str, value: str):
        self._values[layer_name] = value

    def out(self, spec) -> str:
        """Reserve the ONNX value name for ``spec``'s output: the layer's own name."""
        return self.unique(spec.name)

    def input(self, spec, i: int = 0) -> str:
        """The ONNX value of the ``i``-th input of ``spec``."""
        return self._values[spec.inputs[i]]

    def input_shape(self, spec, i: int = 0) -> tuple:
        """The Lasagne output shape of ``spec``'s ``i``-th input (``None`` for unknown sizes)."""
        return self.layers[spec.inputs[i]].output_shape

    # -- building blocks -------------------------------------------------------------------------
    def add_input(self, layer_name: str, shape, elem_type=TensorProto.FLOAT) -> str:
        name = self.unique(layer_name)
        dims = [d if d is not None else ("N" if i == 0 else f"{name}_d{i}") for i, d in enumerate(shape)]
        self.inputs.append(helper.make_tensor_value_info(name, elem_type, dims))
        return name

    def constant(self, base: str, array) -> str:
        """Add an initializer; float64 arrays are stored as float32."""
        array = np.asarray(array)
        if array.dtype == np.float64:
            array = array.astype(np.float32)
        name = self.unique(base)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        if array.dtype.kind in "iu" and array.ndim == 1 and array.size <= 8:  # sizes, axes: read by reshape()
            self._small_ints[name] = array
        return name

    def add_initializer(self, name: str, array):
        """Add ``array`` as the initializer ``name`` (a name already reserved with :meth:`unique`),
        keeping its dtype."""
        self.initializers.append(numpy_helper.from_array(np.asarray(array, order="C"), name))
        return name

    def param(self, spec, role: str, base: str | None = None, transform=None) -> str:
        """Add a layer parameter as an initializer named ``<layer>.<role>``."""
        p = spec.param(role)
        array = self.weights[p.key]
        if transform is not None:
            array = transform(array)
        return self.constant(base or f"{spec.name}.{role}", np.asarray(array, dtype=np.float32))

    def ints(self, base: str, values) -> str:
        return self.constant(base, np.asarray(list(values), dtype=np.int64))

    def node(self, op_type: str, inputs, name: str, n_outputs: int = 1, output: str | None = None, **attrs):
        """Add a node; returns its output name (or list of names when ``n_outputs > 1``)."""
        node_name = self.unique(name + "/" + op_type) if output is None else self.unique(output + "/" + op_type)
        if output is not None:
            outs = [output]
        else:
            outs = [self.unique(f"{name}/{op_type}" + (f"_{i}" if n_outputs > 1 else "")) for i in range(n_outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=node_name, **attrs))
        return outs[0] if n_outputs == 1 else outs

    # -- ops whose form changed between opsets (lowerings and converters never branch on the opset) --------
    def squeeze(self, x: str, axes, name: str, output: str | None = None) -> str:
        """``Squeeze`` of ``axes`` (an input from opset 13, an attribute before)."""
        if self.opset >= 13:
            return self.node("Squeeze", [x, self.ints(f"{name}.axes", axes)], name, output=output)
        return self.node("Squeeze", [x], name, output=output, axes=list(axes))

    def unsqueeze(self, x: str, axes, name: str, output: str | None = None) -> str:
        """``Unsqueeze`` inserting ``axes`` (output positions; an input from opset 13)."""
        if self.opset >= 13:
            return self.node("Unsqueeze", [x, self.ints(f"{name}.axes", axes)], name, output=output)
        return self.node("Unsqueeze", [x], name, output=output, axes=list(axes))

    def reduce(self, op_type: str, x: str, axes, name: str, keepdims: bool = True, output: str | None = None) -> str:
        """``Reduce*`` over ``axes`` (all axes when None).  ReduceSum takes its axes as an input from
        opset 13, the other reductions from opset 18."""
        keep = int(bool(keepdims))
        if axes is None:
            return self.node(op_type, [x], name, output=output, keepdims=keep)
        axes_as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if axes_as_input:
            return self.node(op_type, [x, self.ints(f"{name}.axes", axes)], name, output=output, keepdims=keep)
        return self.node(op_type, [x], name, output=output, axes=list(axes), keepdims=keep)

    def slice(self, x: str, starts, ends, axes, name: str, steps=None, output: str | None = None) -> str:
        """``Slice``: ``starts``/``ends``/``axes``/``steps`` are int lists or int64 1-d values (inputs
        from opset 10, so one form for every supported opset)."""
        def as_input(v, what):
            return v if isinstance(v, str) else self.ints(f"{name}.{what}", v)

        inputs = [x, as_input(starts, "starts"), as_input(ends, "ends"), as_input(axes, "axes")]
        if steps is not None:
            inputs.append(as_input(steps, "steps"))
        return self.node("Slice", inputs, name, output=output)

    def reshape(self, x: str, shape: str, name: str, output: str | None = None) -> str:
        """``Reshape`` whose 0 means size 0 (``allowzero``, from opset 14; before, 0 copies the input's size,
        which only differs for empty tensors).  A constant shape without a 0 reads the same either way:
        it goes without the attribute, which more consumers take (onnx2torch refuses allowzero=1)."""
        constant = self._small_ints.get(shape)
        attrs = {"allowzero": 1} if self.opset >= 14 and (constant is None or 0 in constant) else {}
        return self.node("Reshape", [x, shape], name, output=output, **attrs)

    def split(self, x: str, n_outputs: int, axis: int, name: str) -> list:
        """``Split`` into ``n_outputs`` equal parts along ``axis`` (opset 18 needs ``num_outputs``)."""
        attrs = {"num_outputs": n_outputs} if self.opset >= 18 else {}
        outs = self.node("Split", [x], name, n_outputs=n_outputs, axis=axis, **attrs)
        return outs if n_outputs > 1 else [outs]

    def shape(self, x: str, name: str, start: int = 0, end: int | None = None) -> str:
        """``Shape`` of ``x``, dims ``start:end`` (the attributes from opset 15, a Slice before)."""
        if start == 0 and end is None:
            return self.node("Shape", [x], name)
        if self.opset >= 15:
            return self.node("Shape", [x], name, start=start, **({} if end is None else {"end": end}))
        stop = 2 ** 62 if end is None else end
        return self.node("Slice", [self.node("Shape", [x], name), self.ints(f"{name}.start", [start]),
                                   self.ints(f"{name}.end", [stop])], name)

    def finish(self, graph_name: str, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.initializers, doc_string=doc)
        opsets = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opsets, producer_name="lasagne2onnx")
        # the oldest IR version that can hold the opset (never below 8: readable by older runtimes)
        model.ir_version = max(8, helper.find_min_ir_version_for(opsets))
        return model
