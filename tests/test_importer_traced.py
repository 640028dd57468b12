"""Traced layers (custom computation exported op by op) in the importers: ``to-torch`` writes each as one
``nn.Module`` class (named after the layer, a docstring naming it and what was traced, ``forward`` its
ops in the ONNX graph's order) that ``Model`` creates and calls once; ``to-keras`` as one
``TracedLayer`` that survives a .keras file.  An op neither can map is refused in one line naming it.
(The numbers are compared with Theano for every case in tests/test_importers_vs_theano.py.)"""
import ast
import json
import os
import re

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporter.importers import codegen, onnx_reader, to_keras, to_torch, traced  # noqa: E402
from exporter.importers.keras_cli import predict  # noqa: E402
from exporter.importers.onnx_reader import UnsupportedNodeError  # noqa: E402
from exporter.onnx_graph import DEFAULT_OPSET  # noqa: E402
from tests.test_importer_torch import TOL, ort_outputs, rel_err  # noqa: E402
from tests.test_importers_vs_theano import export  # noqa: E402

# cases whose traced layers are a custom Dense/Conv, an attention (computed shapes), traced nonlinearities
# beside converted convolutions, subclassed Lasagne layers (crops, set_subtensor, pooling), and transposed
# convolutions of a run-time (weight-normalised) or bilinear kernel
CASES = ("weight_norm_dense", "attention", "custom_nonlinearities", "subclassed_shape_merge_layers",
         "subclassed_conv_pool_norm_layers", "gan_generator_weight_norm_deconv", "unet_bilinear_decoder")


def _view(references, name, optimize="off"):
    ref = references(name)
    _, model = export(ref, optimize, DEFAULT_OPSET)
    view = onnx_reader.load(model)
    assert view.traced, name
    feeds = {i: np.ascontiguousarray(ref.inputs[i], np.float32) for i in view.inputs}
    return model, view, feeds


def _classes(tree):
    return {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}


def _assigned(fn):
    """The names ``forward`` assigns, in order (each statement but the return assigns one name)."""
    names = []
    for stmt in fn.body:
        if isinstance(stmt, ast.Return):
            continue
        assert isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name), \
            ast.unparse(stmt)
        names.append(stmt.targets[0].id)
    return names


def _is_subsequence(short, long):
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


@pytest.mark.parametrize("optimize", ["off", "auto"])
@pytest.mark.parametrize("name", CASES)
def test_torch_writes_one_class_per_traced_layer(name, optimize, references):
    model, view, feeds = _view(references, name, optimize)
    layers = {t.layer: t for t in traced.split(view)[1].values() if t.view.outputs}
    source, state = to_torch.generate(view)
    tree = codegen.check_generated(source)
    classes = _classes(tree)
    model_class = classes.pop("Model")
    assert len(classes) == len(layers) > 0
    init = next(f for f in model_class.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
    forward = next(f for f in model_class.body if isinstance(f, ast.FunctionDef) and f.name == "forward")
    created = [c.func.id for c in ast.walk(init) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
               and c.func.id != "super"]
    assert sorted(created) == sorted(classes)  # each created once, in Model.__init__
    for cls_name, cls in classes.items():
        doc = ast.get_docstring(cls)
        layer = next(l for l in layers if f"Lasagne layer {l!r}," in doc)
        assert layers[layer].what and layers[layer].what in doc, doc
        attribute = next(t.targets[0].attr for t in init.body if isinstance(t, ast.Assign)
                         and isinstance(t.value, ast.Call) and getattr(t.value.func, "id", None) == cls_name)
        calls = [c for c in ast.walk(forward) if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                 and c.func.attr == attribute]
        assert len(calls) == 1, (cls_name, ast.unparse(forward))  # called once
        method = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "forward")
        # one line per op (but those only describing shapes), in order, each naming the value it computes
        # without the layer's name: `matmul_2 = ...` for the value `wn1/MatMul_2`
        values = [onnx_reader.identifier(o[len(layer) + 1:].lower() if o.startswith(layer + "/") else o, set())
                  for n in layers[layer].view.nodes for o in n.outputs]
        assigned = _assigned(method)
        assert assigned and _is_subsequence(assigned, values), (cls_name, assigned, values)
        if optimize == "off":  # named after their ops
            ops = [n.op_type.lower() for n in layers[layer].view.nodes]
            assert _is_subsequence([re.sub(r"_\d+$", "", v) for v in assigned], ops), (assigned, ops)
    m = to_torch.load_generated(source, state)
    with torch.no_grad():
        got = m(*[torch.from_numpy(feeds[i]) for i in view.inputs])
    got = got if isinstance(got, tuple) else (got,)
    want = ort_outputs(model, feeds)
    assert max(rel_err(g.numpy(), w) for g, w in zip(got, want)) <= TOL


def test_a_traced_nonlinearity_is_a_class_beside_the_converted_convolution(references):
    _, view, _ = _view(references, "custom_nonlinearities")
    source, _ = to_torch.generate(view)
    assert "self.conv_leaky = nn.Conv2d(3, 4, kernel_size=(3, 3))" in source
    assert "self.conv_leaky_traced = ConvLeaky()" in source
    assert "conv_leaky = self.conv_leaky_traced(conv_leaky_linear)" in source
    cls = _classes(ast.parse(source))["ConvLeaky"]
    assert ast.unparse(next(f for f in cls.body if getattr(f, "name", "") == "forward")).splitlines()[1:] == [
        "    mul_2 = 0.1 * linear", "    max_2 = torch.maximum(linear, mul_2)", "    return max_2"]


@pytest.mark.parametrize("name", CASES)
def test_keras_has_one_layer_per_traced_layer(name, references, tmp_path):
    model, view, feeds = _view(references, name)
    layers = {t.layer: t for t in traced.split(view)[1].values() if t.view.outputs}
    km, info = to_keras.build(view, "channels_last")
    found = [l for l in km.layers if type(l).__name__ == "TracedLayer"]
    assert len(found) == len(layers) and "TracedLayer" in info["custom_layers"]
    for layer in found:
        t = next(t for l, t in layers.items() if layer.name in (onnx_reader.identifier(l, set()),
                                                                 onnx_reader.identifier(l, set()) + "_traced"))
        assert [n[0] for n in layer.get_config()["nodes"]] == [n.op_type for n in t.view.nodes]
        json.dumps(layer.get_config())  # its config is JSON
    want = ort_outputs(model, feeds)
    got = predict(km, info, view, feeds)
    assert max(rel_err(g, w) for g, w in zip(got, want)) <= TOL
    km.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    again = predict(loaded, info, view, feeds)
    assert all(np.array_equal(a, b) for a, b in zip(again, got))


# -- refusals -------------------------------------------------------------------------------------------------
def traced_model(nodes, layer="custom", inits=None, out_type=TensorProto.FLOAT, out_shape=("N", 3, 4)):
    """x (N, 3, 4) -> ``nodes`` (each ``(op, inputs, output, attrs)``, named ``<layer>/<op>``) -> the last
    output (``out_shape``), recorded as the traced layer ``layer``."""
    made = [helper.make_node(op, ins, [out], name=f"{layer}/{op}" + (f"_{k}" if k else ""), **attrs)
            for k, (op, ins, out, attrs) in enumerate(nodes)]
    graph = helper.make_graph(made, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                              [helper.make_tensor_value_info(nodes[-1][2], out_type, list(out_shape))],
                              [numpy_helper.from_array(np.asarray(v), k) for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"lasagne2onnx.layers": json.dumps({layer: nodes[-1][2]}),
                                   "lasagne2onnx.traced": json.dumps({layer: "a test's get_output_for"})})
    return model


def test_an_op_neither_importer_maps_is_refused_naming_it():
    model = traced_model([("Hardmax", ["x"], "h", {}), ("Identity", ["h"], "custom", {})])
    view = onnx_reader.load(model)
    for run, target in ((lambda: to_torch.generate(view), "to-torch"), (lambda: to_keras.build(view), "to-keras")):
        with pytest.raises(UnsupportedNodeError) as e:
            run()
        msg = str(e.value)
        assert "\n" not in msg and msg.startswith(f"{target}: node 'custom/Hardmax' (op Hardmax, Lasagne layer "
                                                  "'custom'): op Hardmax is not supported"), msg


def test_keras_refuses_a_traced_op_without_exact_keras_form_naming_it():
    """ONNX Mod (of floats: C's fmod) has no exact keras.ops form; to-torch maps it."""
    model = traced_model([("Mod", ["x", "two"], "m", {"fmod": 1}), ("Identity", ["m"], "custom", {})],
                         inits={"two": np.float32(2)})
    view = onnx_reader.load(model)
    with pytest.raises(UnsupportedNodeError, match=r"^to-keras: node 'custom/Mod' \(op Mod, Lasagne layer 'custom'\): "
                                                   r"op Mod is not supported \(no Keras layer computes"):
        to_keras.build(view)
    source, state = to_torch.generate(view)
    assert "class Custom(nn.Module)" in source and "torch.fmod(x, 2.0)" in source


def test_set_subtensor_range_and_cumsum_inside_a_traced_layer():
    """What traced code writes for ``T.set_subtensor(z[:, 1:], x)``-like regions, ``T.arange(x.shape[0])``
    and ``T.extra_ops.cumsum``: a Range to the batch size known at run time, a ScatterND into a computed
    zeros tensor, a CumSum; both importers against onnxruntime."""
    i64 = lambda *v: np.array(v, np.int64)  # noqa: E731
    nodes = [("Shape", ["x"], "shape", {}), ("Gather", ["shape", "zero"], "n", {"axis": 0}),
             ("Range", ["start", "n", "one"], "rows", {}), ("Cast", ["rows"], "rows_f", {"to": TensorProto.FLOAT}),
             ("Unsqueeze", ["rows_f", "axes12"], "rows3", {}), ("Add", ["x", "rows3"], "shifted", {}),
             ("Unsqueeze", ["n", "axis0"], "n1", {}), ("Concat", ["n1", "rest"], "big", {"axis": 0}),
             ("Expand", ["zero_f", "big"], "zeros", {}),
             # the coordinates of zeros[:, 1:4, :]: rows x (1, 2, 3) x (0..3), as set_subtensor builds them
             ("Reshape", ["rows", "col"], "r", {}), ("Concat", ["n1", "grid_rest"], "grid", {"axis": 0}),
             ("Expand", ["r", "grid"], "r_grid", {}), ("Expand", ["mid", "grid"], "m_grid", {}),
             ("Expand", ["last", "grid"], "l_grid", {}),
             *[("Unsqueeze", [v, "axis3"], v + "_u", {}) for v in ("r_grid", "m_grid", "l_grid")],
             ("Concat", ["r_grid_u", "m_grid_u", "l_grid_u"], "coords", {"axis": 3}),
             ("ScatterND", ["zeros", "coords", "shifted"], "set", {}),
             ("CumSum", ["set", "one"], "summed", {"exclusive": 1}), ("Identity", ["summed"], "custom", {})]
    inits = {"zero": np.array(0, np.int64), "start": np.array(0, np.int64), "one": np.array(1, np.int64), "axes12": i64(1, 2), "axis0": i64(0),
             "rest": i64(5, 4), "zero_f": np.float32(0), "col": i64(-1, 1, 1), "grid_rest": i64(3, 4),
             "mid": i64(1, 2, 3).reshape(1, 3, 1), "last": i64(0, 1, 2, 3).reshape(1, 1, 4), "axis3": i64(3)}
    model = traced_model(nodes, inits=inits, out_shape=("N", 5, 4))
    view = onnx_reader.load(model)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    want = ort_outputs(model, {"x": x})[0]
    assert want.shape == (2, 5, 4) and np.all(want[:, :2] == 0) and np.all(want[:, 2:] != 0)  # a real region
    source, state = to_torch.generate(view)
    assert "torch.arange(0, x.shape[0], 1)" in source and "torch.index_put(" in source and "torch.cumsum(" in source
    with torch.no_grad():
        got = to_torch.load_generated(source, state)(torch.from_numpy(x)).numpy()
    assert rel_err(got, want) <= TOL
    for data_format in ("channels_last", "channels_first"):
        km, info = to_keras.build(view, data_format)
        assert [type(l).__name__ for l in km.layers].count("TracedLayer") == 1
        assert rel_err(predict(km, info, view, {"x": x})[0], want) <= TOL


def test_conv_transpose_inside_a_traced_layer():
    """A transposed convolution whose kernel is computed at run time (improved-gan's weight-normalised
    Deconv2DLayer): stride 2, unequal pads, an output padding and a bias; both importers against
    onnxruntime.  Strides with dilations are refused by to-keras (TensorFlow's conv_transpose has no such form)."""
    rng = np.random.default_rng(1)
    inits = {"W": rng.standard_normal((3, 2, 3)).astype(np.float32), "b": rng.standard_normal(2).astype(np.float32)}
    nodes = [("Mul", ["W", "two"], "W2", {}),  # a kernel computed in the layer, not an initializer
             ("ConvTranspose", ["x", "W2", "b"], "y", {"strides": [2], "pads": [1, 0], "output_padding": [1]}),
             ("Identity", ["y"], "custom", {})]
    model = traced_model(nodes, inits={**inits, "two": np.float32(2)}, out_shape=("N", 2, 9))
    view = onnx_reader.load(model)
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    want = ort_outputs(model, {"x": x})[0]
    assert want.shape == (2, 2, 9)
    with torch.no_grad():
        got = to_torch.load_generated(*to_torch.generate(view))(torch.from_numpy(x)).numpy()
    assert rel_err(got, want) <= TOL
    for data_format in ("channels_last", "channels_first"):
        km, info = to_keras.build(view, data_format)
        assert rel_err(predict(km, info, view, {"x": x})[0], want) <= TOL
    nodes[1][3]["dilations"] = [2]
    with pytest.raises(UnsupportedNodeError, match=r"^to-keras: node 'custom/ConvTranspose_1' .*strides or "
                                                   r"dilations \(not both\)"):
        to_keras.build(onnx_reader.load(traced_model(nodes, inits={**inits, "two": np.float32(2)},
                                                     out_shape=("N", 2, 11))))
