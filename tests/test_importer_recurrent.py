"""Recurrent ops in both importers, against onnxruntime: ONNX ``LSTM`` / ``GRU`` / ``RNN`` in the forms
``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` compute and in the others (peepholes, a Relu output, GRU's
``linear_before_reset=0``: the Scan of their step), and ``Scan`` with what its attributes allow (both
directions, scan axes other than 0, an outer value read by the body, a Scan in the body).  Lasagne's own
recurrent layers are checked against Theano in tests/test_importers_vs_theano.py; refusals here must be
one-line errors naming the node.

The models are written with onnx.helper the way the exporter writes a recurrent layer (batch-first input,
a Transpose to sequence-first, nodes named ``<layer>/<Op>``), so to-keras takes the layer as one unit.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporter.importers import onnx_reader, to_keras, to_torch  # noqa: E402
from exporter.importers.keras_cli import predict  # noqa: E402
from exporter.importers.onnx_reader import UnsupportedNodeError  # noqa: E402
from exporter.validate import make_session  # noqa: E402

TOL = 1e-5
T, B, I, H = 5, 3, 4, 3
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
CASES = {}  # name -> () -> (onnx model, {input: shape}); shared with tests/test_importer_torch.py's op coverage


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def _vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(nodes, inputs, outputs, inits, opset=17):
    graph = helper.make_graph(nodes, "g", [_vi(n, s) for n, s in inputs], [_vi(n, s) for n, s in outputs],
                              [numpy_helper.from_array(np.asarray(a), k) for k, a in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def native(op, reverse=False, activations=None, peepholes=False, states=True, opset=17, **attrs):
    """x (B, T, I) [, h0 (B, H)] -> the op's Y as (B, T, H) and Y_h as (B, H)."""
    rng = np.random.default_rng(len(op) + 7 * reverse + 3 * peepholes)
    g = GATES[op]
    inits = {"W": rng.normal(size=(1, g * H, I)).astype(np.float32) * 0.5,
             "R": rng.normal(size=(1, g * H, H)).astype(np.float32) * 0.5,
             "B": rng.normal(size=(1, 2 * g * H)).astype(np.float32) * 0.5,
             "zero": np.array([0], np.int64), "one": np.array([1], np.int64)}
    ins = ["l/x_tbi", "W", "R", "B", ""]
    nodes = [helper.make_node("Transpose", ["x"], ["l/x_tbi"], name="l/Transpose", perm=[1, 0, 2])]
    inputs = [("x", [None, T, I])]
    if states:
        inputs.append(("h0", [None, H]))
        nodes.append(helper.make_node("Unsqueeze", ["h0", "zero"], ["l/h0"], name="l/Unsqueeze"))
        ins.append("l/h0")
        if op == "LSTM":
            inits["c0"] = rng.normal(size=(1, 1, H)).astype(np.float32)
            nodes.append(helper.make_node("Mul", ["l/h0", "c0"], ["l/c0"], name="l/Mul"))
            ins.append("l/c0")
    if peepholes:
        inits["P"] = rng.normal(size=(1, 3 * H)).astype(np.float32)
        ins += [""] * (7 - len(ins)) + ["P"]
    if activations:
        attrs["activations"] = activations
    outs = ["l/Y", "l/Y_h"] + (["l/Y_c"] if op == "LSTM" else [])
    nodes.append(helper.make_node(op, ins, outs, name=f"l/{op}", hidden_size=H,
                                  direction="reverse" if reverse else "forward", **attrs))
    nodes += [helper.make_node("Squeeze", ["l/Y", "one"], ["l/y3"], name="l/Squeeze"),
              helper.make_node("Transpose", ["l/y3"], ["y"], name="l/Transpose_2", perm=[1, 0, 2]),
              helper.make_node("Squeeze", ["l/Y_h", "zero"], ["h"], name="l/Squeeze_2")]
    return _model(nodes, inputs, [("y", [None, T, H]), ("h", [None, H])], inits, opset), dict(inputs)


@case
def lstm_torch_form():
    return native("LSTM")


@case
def lstm_reverse_no_initial_states():
    return native("LSTM", reverse=True, states=False)


@case
def lstm_peepholes_relu_output():
    """Peepholes and a Relu output: no nn.LSTM / keras LSTM computes these, the Scan of the step does."""
    return native("LSTM", activations=["Sigmoid", "Tanh", "Relu"], peepholes=True)


@case
def gru_linear_before_reset():
    return native("GRU", reverse=True, linear_before_reset=1)


@case
def gru_reset_before_linear():
    """ONNX's default GRU (the reset gate applied before R_h): not torch's, written as the Scan of its step."""
    return native("GRU")


@case
def rnn_relu_reverse():
    return native("RNN", reverse=True, activations=["Relu"])


def _scan_body(rng):
    """state s (B, H); scan inputs a_t, b_t (B, I); the outer value ``ctx`` (B, H) read by name; a Scan
    inside (over b_t's features, one step per feature column)."""
    wa = numpy_helper.from_array(rng.normal(size=(I, H)).astype(np.float32), "s/Wa")
    rs = numpy_helper.from_array(rng.normal(size=(H, H)).astype(np.float32) * 0.5, "s/Rs")
    inner = helper.make_graph(
        [helper.make_node("Add", ["s/in/acc", "s/in/col"], ["s/in/acc2"], name="s/in/Add"),
         helper.make_node("Relu", ["s/in/acc2"], ["s/in/r"], name="s/in/Relu"),
         helper.make_node("Identity", ["s/in/acc2"], ["s/in/acc_out"], name="s/in/Identity")],
        "s/in", [_vi("s/in/acc", [None]), _vi("s/in/col", [None])], [_vi("s/in/acc_out", None), _vi("s/in/r", None)])
    k0 = numpy_helper.from_array(np.array(0, np.int64), "s/k0")
    nodes = [
        helper.make_node("Constant", [], ["s/Wa"], name="s/Wa/Constant", value=wa),
        helper.make_node("Constant", [], ["s/Rs"], name="s/Rs/Constant", value=rs),
        helper.make_node("Constant", [], ["s/k0"], name="s/k0/Constant", value=k0),
        helper.make_node("MatMul", ["s/a_t", "s/Wa"], ["s/xa"], name="s/MatMul"),
        helper.make_node("MatMul", ["s/s", "s/Rs"], ["s/xs"], name="s/MatMul_2"),
        helper.make_node("Add", ["s/xa", "s/xs"], ["s/sum"], name="s/Add"),
        helper.make_node("Add", ["s/sum", "ctx"], ["s/sum2"], name="s/Add_2"),
        helper.make_node("Tanh", ["s/sum2"], ["s/s_new"], name="s/Tanh"),
        helper.make_node("Mul", ["s/b_t", "s/b_t"], ["s/b2"], name="s/Mul"),
        helper.make_node("Gather", ["s/b2", "s/k0"], ["s/first"], name="s/Gather", axis=1),  # (B,): the start
        helper.make_node("Scan", ["s/first", "s/b2"], ["s/acc", "s/cums"], name="s/Scan", body=inner,
                         num_scan_inputs=1, scan_input_axes=[1], scan_output_axes=[1]),
        helper.make_node("Unsqueeze", ["s/acc", "s/k1"], ["s/acc2"], name="s/Unsqueeze"),
        helper.make_node("Sigmoid", ["s/acc2"], ["s/gate"], name="s/Sigmoid"),
        helper.make_node("Mul", ["s/s_new", "s/gate"], ["s/y"], name="s/Mul_2"),
        helper.make_node("Identity", ["s/s_new"], ["s/s_out"], name="s/Identity"),
    ]
    nodes.insert(3, helper.make_node("Constant", [], ["s/k1"], name="s/k1/Constant",
                                     value=numpy_helper.from_array(np.array([1], np.int64), "s/k1")))
    return helper.make_graph(nodes, "s", [_vi("s/s", [None, H]), _vi("s/a_t", [None, I]), _vi("s/b_t", [None, I])],
                             [_vi("s/s_out", None), _vi("s/y", None), _vi("s/cums", None)])


@case
def scan_axes_directions_outer_value_nested():
    """A Scan over axis 1 of batch-first inputs (scan_input_axes), the second input reversed, outputs
    stored on axis 1, one of them reversed; the body reads ``ctx`` of the outer graph and holds a Scan."""
    rng = np.random.default_rng(5)
    inits = {"s0": rng.normal(size=(1, H)).astype(np.float32), "Wc": rng.normal(size=(I, H)).astype(np.float32)}
    nodes = [
        helper.make_node("ReduceMean", ["a"], ["s/am"], name="s/ReduceMean", axes=[1], keepdims=0),
        helper.make_node("MatMul", ["s/am", "Wc"], ["ctx"], name="s/MatMul_ctx"),
        helper.make_node("Mul", ["ctx", "s0"], ["s/init"], name="s/Mul_init"),
        helper.make_node("Scan", ["s/init", "a", "b"], ["s_final", "ys", "cums"], name="s/Scan_outer",
                         body=_scan_body(rng), num_scan_inputs=2, scan_input_directions=[0, 1],
                         scan_output_directions=[1, 0], scan_input_axes=[1, 1], scan_output_axes=[1, 1]),
    ]
    inputs = [("a", [None, T, I]), ("b", [None, T, I])]
    return _model(nodes, inputs, [("s_final", [None, H]), ("ys", [None, T, H]), ("cums", [None, T, I])],
                  inits, opset=17), dict(inputs)


@case
def scan_in_a_traced_layer():
    """The Scan above as the nodes of a traced custom layer (traced theano.scan code exports so): the
    traced layer's class / TracedLayer holds it."""
    from exporter import metadata

    model, shapes = scan_axes_directions_outer_value_nested()
    metadata.set_prop(model, metadata.TRACED_KEY, '{"s": "its get_output_for"}')
    return model, shapes


def _feeds(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=[B if d is None else d for d in s]).astype(np.float32) for k, s in shapes.items()}


def _check(got, want, what):
    for g, w in zip(got, want):
        err = float(np.max(np.abs(np.asarray(g) - w))) / max(1.0, float(np.max(np.abs(w))))
        assert err <= TOL, f"{what}: {err}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_recurrent_ops_match_onnxruntime(name):
    model, shapes = CASES[name]()
    onnx.checker.check_model(model, full_check=True)
    feeds = _feeds(shapes)
    want = make_session(model.SerializeToString()).run(None, feeds)
    view = onnx_reader.load(model)
    src, state = to_torch.generate(view)
    m = to_torch.load_generated(src, state)
    with torch.no_grad():
        out = m(*[torch.from_numpy(feeds[i]) for i in view.inputs])
    _check([o.numpy() for o in (out if isinstance(out, tuple) else (out,))], want, "torch")
    for data_format in ("channels_last", "channels_first"):
        km, info = to_keras.build(onnx_reader.load(model), data_format)
        _check(predict(km, info, view, feeds), want, f"keras {data_format}")


def test_torch_maps_the_exact_forms_to_torch_modules():
    """nn.LSTM / nn.GRU / nn.RNN where they are ONNX's op; a step class and a loop otherwise."""
    for name, module in (("lstm_torch_form", "nn.LSTM(4, 3)"), ("gru_linear_before_reset", "nn.GRU(4, 3)"),
                         ("rnn_relu_reverse", "nn.RNN(4, 3, nonlinearity='relu')")):
        src, _ = to_torch.generate(onnx_reader.load(CASES[name]()[0]))
        assert f"= {module}" in src and "for t in range(" not in src, src
    for name in ("lstm_peepholes_relu_output", "gru_reset_before_linear", "scan_axes_directions_outer_value_nested"):
        src, _ = to_torch.generate(onnx_reader.load(CASES[name]()[0]))
        assert "nn.LSTM" not in src and "nn.GRU" not in src and "for t in range(" in src, src
    src, _ = to_torch.generate(onnx_reader.load(CASES["scan_axes_directions_outer_value_nested"]()[0]))
    assert src.count("(nn.Module):") == 3  # the outer step, the inner step, Model


@pytest.mark.parametrize("change, message", [
    ({"direction": "bidirectional"}, "direction='bidirectional' is not supported"),
    ({"clip": 5.0}, "the clip attribute is not supported"),
    ({"layout": 1}, "layout=1 (batch first) is not supported"),
    ({"activations": ["HardSigmoid", "Tanh", "Tanh"]}, "activations ['HardSigmoid', 'Tanh', 'Tanh'] are not "
                                                        "supported"),
    ({"sequence_lens": True}, "the sequence_lens input is not supported"),
])
def test_unsupported_native_forms_are_refused_by_both(change, message):
    model, _ = native("LSTM")
    node = next(n for n in model.graph.node if n.op_type == "LSTM")
    for key, value in change.items():
        if key == "sequence_lens":
            model.graph.initializer.append(numpy_helper.from_array(np.full(B, T, np.int32), "lens"))
            node.input[4] = "lens"
            continue
        for a in [a for a in node.attribute if a.name == key]:
            node.attribute.remove(a)
        node.attribute.append(helper.make_attribute(key, value))
    for run in (lambda: to_torch.generate(onnx_reader.view(model)),
                lambda: to_keras.build(onnx_reader.view(model), "channels_last")):
        with pytest.raises(UnsupportedNodeError) as e:
            run()
        assert "\n" not in str(e.value) and "node 'l/LSTM'" in str(e.value) and message in str(e.value), str(e.value)


def test_keras_recurrent_layer_saves_and_loads(tmp_path):
    keras = pytest.importorskip("keras")
    model, shapes = CASES["lstm_peepholes_relu_output"]()
    view = onnx_reader.load(model)
    feeds = _feeds(shapes, seed=1)
    km, info = to_keras.build(view, "channels_first")  # (channels_first: the arrays in ONNX order)
    assert info["custom_layers"] == ["TracedLayer"]
    path = str(tmp_path / "m.keras")
    km.save(path)
    loaded = keras.saving.load_model(path)
    want = make_session(model.SerializeToString()).run(None, feeds)
    got = loaded([feeds[i] for i in view.inputs])
    _check([keras.ops.convert_to_numpy(g) for g in got], want, "reloaded")


def recurrent_layer(n, name, kind, x, backwards=False, final=False, nl="tanh"):
    """Add a LSTM / GRU / RNN layer spec of the form the exporter writes natively to the Net ``n``."""
    gates = {"LSTM": ("ingate", "forgetgate", "cell", "outgate"), "GRU": ("resetgate", "updategate", "hidden_update"),
             "RNN": ()}[kind]
    params = {"hid_init": n.randn(1, H)}
    attrs = {"num_units": H, "backwards": backwards, "only_return_final": final, "mask": False}
    if kind == "RNN":
        params.update(W_in_to_hid=n.randn(I, H, scale=0.5), W_hid_to_hid=n.randn(H, H, scale=0.5), b=n.randn(H))
        attrs["hid_nonlinearity"] = {"name": nl}
    for g in gates:
        params.update({f"W_in_to_{g}": n.randn(I, H, scale=0.5), f"W_hid_to_{g}": n.randn(H, H, scale=0.5),
                       f"b_{g}": n.randn(H)})
    if kind == "LSTM":
        params["cell_init"] = n.randn(1, H)
        attrs.update(gate_nonlinearities={g: {"name": "tanh" if g == "cell" else "sigmoid"} for g in gates},
                     hid_nonlinearity={"name": nl}, peepholes=False)
    if kind == "GRU":
        attrs["gate_nonlinearities"] = {g: {"name": "tanh" if g == "hidden_update" else "sigmoid"} for g in gates}
    return n.add(name, kind, [x], attrs, params, shape=(None, H) if final else (None, T, H))


def exported(kind, backwards=False, final=False, nl="tanh"):
    """A recurrent layer as the exporter writes it (a LayerGraph lowered by exporter.pipeline.to_onnx)."""
    from tests.test_importer_torch import Net

    n = Net(3)
    recurrent_layer(n, "rec", kind, n.input((None, T, I)), backwards, final, nl)
    return n.onnx(), {"input": [None, T, I]}


@pytest.mark.parametrize("kind, backwards, final, keras_layer", [
    ("LSTM", True, False, "LSTM"), ("LSTM", False, True, "LSTM"), ("GRU", True, False, "GRU"),
    ("GRU", False, True, "GRU"), ("RNN", True, False, "SimpleRNN")])
def test_keras_maps_exported_native_layers_to_keras_layers(kind, backwards, final, keras_layer, tmp_path):
    """The exporter's native LSTM / GRU / RNN become Keras' own layers (initial states fixed BatchState
    vectors, a backwards sequence reversed back), matching onnxruntime through a save."""
    keras = pytest.importorskip("keras")
    model, shapes = exported(kind, backwards, final)
    assert kind in {n.op_type for n in model.graph.node}
    feeds = _feeds(shapes, seed=2)
    want = make_session(model.SerializeToString()).run(None, feeds)
    view = onnx_reader.load(model)
    km, info = to_keras.build(view, "channels_first")
    assert keras_layer in {type(l).__name__ for l in km.layers} and "TracedLayer" not in info["custom_layers"]
    trainable = {w.path.split("/")[0] for w in km.trainable_weights}
    assert "rec" in trainable and "rec_hid_init" not in trainable, trainable
    _check(predict(km, info, view, feeds), want, "keras")
    path = str(tmp_path / "m.keras")
    km.save(path)
    _check([keras.ops.convert_to_numpy(keras.saving.load_model(path)(feeds["input"]))], want, "reloaded")


def test_bidirectional_pair_maps_to_two_layers_in_both():
    """Lasagne's bidirectional LSTM (a forward and a backwards layer, concatenated) through both importers."""
    from tests.test_importer_torch import Net

    n = Net(4)
    x = n.input((None, T, I))
    pair = [recurrent_layer(n, "fwd", "LSTM", x), recurrent_layer(n, "bwd", "LSTM", x, backwards=True)]
    n.add("both", "Concat", pair, {"axis": 2, "cropping": None}, shape=(None, T, 2 * H))
    model, shapes = n.onnx(), {"input": [None, T, I]}
    feeds = _feeds(shapes, seed=3)
    want = make_session(model.SerializeToString()).run(None, feeds)
    view = onnx_reader.load(model)
    src, state = to_torch.generate(view)
    assert src.count("= nn.LSTM(4, 3)") == 2 and "torch.flip(" in src, src
    with torch.no_grad():
        _check([to_torch.load_generated(src, state)(torch.from_numpy(feeds["input"])).numpy()], want, "torch")
    for data_format in ("channels_last", "channels_first"):
        km, info = to_keras.build(onnx_reader.load(model), data_format)
        assert [type(l).__name__ for l in km.layers].count("LSTM") == 2
        _check(predict(km, info, view, feeds), want, f"keras {data_format}")


@pytest.mark.parametrize("name", ["lstm_peepholes_relu_output", "gru_linear_before_reset",
                                  "scan_axes_directions_outer_value_nested"])
def test_imported_recurrences_train(name):
    """Gradients reach every trainable weight (to-torch's loop module or nn.GRU; to-keras' layers, on the
    torch backend): the imported recurrences can be fine-tuned."""
    model, shapes = CASES[name]()
    feeds = {k: torch.from_numpy(v) for k, v in _feeds(shapes, seed=4).items()}
    view = onnx_reader.load(model)
    m = to_torch.load_generated(*to_torch.generate(view)).train()
    out = m(*[feeds[i] for i in view.inputs])
    sum(o.square().sum() for o in (out if isinstance(out, tuple) else (out,))).backward()
    grads = {k: p.grad for k, p in m.named_parameters()}
    assert grads and all(g is not None and float(g.abs().sum()) > 0 for g in grads.values()), grads
    km, info = to_keras.build(onnx_reader.load(model), "channels_first")
    out = km([feeds[i] for i in view.inputs])
    sum(o.square().sum() for o in (out if isinstance(out, (list, tuple)) else (out,))).backward()
    keras_grads = [w.value.grad for w in km.trainable_weights]
    assert keras_grads and all(g is not None and float(g.abs().sum()) > 0 for g in keras_grads)
