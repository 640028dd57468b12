"""ONNX -> Keras 3 importer (torch backend): parity with onnxruntime in both data formats for every
parity case of tests/test_importer_torch.py, idiomatic layers, training-mode batch norm, the CLI."""
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")
onnx = pytest.importorskip("onnx")
if keras.backend.backend() != "torch":
    pytest.skip(f"keras was imported with the {keras.backend.backend()} backend", allow_module_level=True)

from onnx import helper  # noqa: E402

from exporter.importers import to_keras as kb  # noqa: E402
from exporter.importers import onnx_reader  # noqa: E402
from exporter.importers.keras_cli import predict  # noqa: E402
from exporter.importers.onnx_reader import UnsupportedNodeError  # noqa: E402
from tests.test_importer_torch import (CASES, ROOT, TOL, Net, bn, conv_bn_relu_pool_dense, feeds_for,  # noqa: E402
                                       helper_model, lasagne_bn_train_step, ort_outputs, rel_err, run_cli)

# parity cases with an op that Keras cannot express exactly: the importer must refuse, naming the node
EXPECTED_UNSUPPORTED = {
    "conv_transpose": "node 'up2/ConvTranspose' (op ConvTranspose, Lasagne layer 'up2'): grouped transposed",
    "pools_asymmetric_pads": "node 'max_wide/MaxPool' (op MaxPool, Lasagne layer 'max_wide'): dilated pooling",
    "spatial_transformers": "node 'st_nearest/GatherND' (op GatherND, Lasagne layer 'st_nearest'): op GatherND is not",
}


def keras_model(model, data_format="channels_last"):
    view = onnx_reader.load(model)
    m, info = kb.build(view, data_format)
    return view, m, info


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_parity(name, data_format):
    model, shapes = CASES[name]()
    if name in EXPECTED_UNSUPPORTED:
        with pytest.raises(UnsupportedNodeError) as e:
            keras_model(model, data_format)
        assert EXPECTED_UNSUPPORTED[name] in str(e.value)
        return
    feeds = feeds_for(shapes)
    want = ort_outputs(model, feeds)
    view, m, info = keras_model(model, data_format)
    got = predict(m, info, view, feeds)
    assert len(got) == len(want)
    errs = [rel_err(g, w) for g, w in zip(got, want)]
    assert max(errs) <= TOL, errs


def test_keras_layers_are_idiomatic_and_channels_last():
    model, shapes = conv_bn_relu_pool_dense()
    view, m, info = keras_model(model)
    layers = {l.name: l for l in m.layers}
    assert isinstance(layers["conv1"], keras.layers.Conv2D) and layers["conv1"].data_format == "channels_last"
    assert isinstance(layers["bn1"], keras.layers.BatchNormalization)
    assert layers["bn1"].momentum == 0.9 and layers["bn1"].epsilon == 1e-4 and layers["bn1"].axis in (-1, 3)
    assert isinstance(layers["relu1"], keras.layers.ReLU)
    assert isinstance(layers["pool1"], keras.layers.MaxPooling2D) and layers["pool1"].padding == "same"
    assert isinstance(layers["fc"], keras.layers.Dense)
    assert not any(isinstance(l, keras.layers.Permute) for l in m.layers)  # no transposes: NHWC throughout
    assert tuple(m.inputs[0].shape) == (None, 9, 9, 3) and info["input_layouts"] == ["cl"]
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    w_onnx = inits["conv1.W"]
    np.testing.assert_array_equal(layers["conv1"].get_weights()[0], w_onnx.transpose(2, 3, 1, 0))
    # the Dense after the NHWC flatten has its rows permuted; channels_first keeps them as exported
    fc_w = inits["fc/linear.W"]
    assert not np.array_equal(layers["fc"].get_weights()[0], fc_w)
    perm = np.arange(100).reshape(4, 5, 5).transpose(1, 2, 0).reshape(-1)
    np.testing.assert_array_equal(layers["fc"].get_weights()[0], fc_w[perm])
    _, m_cf, info_cf = keras_model(model, "channels_first")
    np.testing.assert_array_equal({l.name: l for l in m_cf.layers}["fc"].get_weights()[0], fc_w)
    assert tuple(m_cf.inputs[0].shape) == (None, 3, 9, 9)


def test_keras_batchnorm_training_step_matches_lasagne_rule():
    alpha, eps = 0.25, 1e-3
    n = Net(20)
    x = n.input((None, 3, 4, 5))
    bn(n, "bn", x, 3, 4, eps=eps, alpha=alpha)
    view, m, info = keras_model(n.onnx())
    layer = m.get_layer("bn")
    assert layer.momentum == 1 - alpha and layer.epsilon == eps
    p = {s.role: n.weights[s.key].astype(np.float64) for s in n.layers[1].params}
    xb = np.random.default_rng(1).standard_normal((6, 3, 4, 5)) * 2 + 0.5
    y_ref, mean_ref, inv_ref = lasagne_bn_train_step(xb, p["mean"], p["inv_std"], p["gamma"], p["beta"], alpha, eps)
    y = m(kb.to_keras_layout(xb.astype(np.float32), "cl"), training=True)
    y = kb.from_keras_layout(y.detach().numpy(), "cl")
    assert rel_err(y, y_ref) < 1e-5
    gamma, beta, mov_mean, mov_var = (np.asarray(w, np.float64) for w in layer.get_weights())
    np.testing.assert_allclose(mov_mean, mean_ref, rtol=1e-5, atol=1e-6)  # Lasagne's rule for the mean
    # Keras averages the biased batch variance (torch: unbiased); Lasagne averages inv_std
    var0 = 1.0 / p["inv_std"] ** 2 - eps
    np.testing.assert_allclose(mov_var, (1 - alpha) * var0 + alpha * xb.var((0, 2, 3)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(1.0 / np.sqrt(mov_var + eps), inv_ref, rtol=1e-4)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_keras_overhanging_pools_stay_exact_through_save(tmp_path, data_format):
    """ignore_border=False pools whose last window overhangs (16, pool 3, stride 2): max keeps Keras'
    'same' (edge padding cannot change a max), averages use PaddedPooling (uneven 'same' padding is
    filled with edge values by the torch backend); exact after a .keras round trip too."""
    from exporter.importers.keras_layers import PaddedPooling

    model, shapes = CASES["pools_overhang"]()
    view, m, info = keras_model(model, data_format)
    layers = {l.name: l for l in m.layers}
    assert isinstance(layers["max_16"], keras.layers.MaxPooling2D) and layers["max_16"].padding == "same"
    for mode in ("average_inc_pad", "average_exc_pad"):
        for tag in ("16", "7", "1d", "end_pads"):
            layer = layers[f"{mode}_{tag}"]
            assert isinstance(layer, PaddedPooling) and layer.kind == "average", (mode, tag)
    m.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    feeds = feeds_for(shapes)
    want = ort_outputs(model, feeds)
    got = predict(loaded, info, view, feeds)
    errs = [rel_err(g, w) for g, w in zip(got, want)]
    assert len(got) == len(want) and max(errs) <= TOL, errs


def test_keras_model_trains():
    model, shapes = conv_bn_relu_pool_dense()
    view, m, info = keras_model(model)
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    x = kb.to_keras_layout(feeds_for(shapes)["input"], "cl")
    y = np.array([1, 3])
    before = [w.copy() for w in m.get_weights()]
    losses = [float(m.train_on_batch(x, y)) for _ in range(3)]
    assert losses[-1] < losses[0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cli_writes_loadable_keras_file(tmp_path, data_format):
    model, shapes = CASES["merges_bias_scale"]()  # uses a lasagne2onnx layer (ConstantOp) too
    onnx.save(model, tmp_path / "m.onnx")
    out = tmp_path / "m.keras"
    r = run_cli("to-keras", str(tmp_path / "m.onnx"), "--out", str(out), "--data-format", data_format)
    assert r.returncode == 0, r.stderr
    # the layers Keras lacks travel beside the model (issue 13: plain Keras loads it, on any backend)
    assert "ConstantOp" in r.stdout and sorted(os.listdir(tmp_path)) == ["lasagne2onnx_keras_layers.py", "m.keras",
                                                                         "m.onnx"]
    feeds = feeds_for(shapes)
    layout = "cl" if data_format == "channels_last" else "cf"
    for k, v in feeds.items():
        np.save(tmp_path / f"{k}.npy", kb.to_keras_layout(v, layout))
    script = ("import os; os.environ['KERAS_BACKEND'] = 'torch'; import numpy as np, keras; "
              "import exporter.importers.keras_layers; m = keras.saving.load_model('m.keras'); "
              "assert not m.compiled; "
              "outs = m([np.load('input.npy'), np.load('other.npy')]); "
              "[np.save(f'out{i}.npy', o.detach().numpy()) for i, o in enumerate(outs)]")
    r2 = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                        env={**os.environ, "PYTHONPATH": ROOT})
    assert r2.returncode == 0, r2.stderr
    want = ort_outputs(model, feeds)
    for i, w in enumerate(want):
        assert rel_err(kb.from_keras_layout(np.load(tmp_path / f"out{i}.npy"), layout), w) <= TOL


def test_cli_errors_leave_nothing(tmp_path):
    r = run_cli("to-keras", str(tmp_path / "missing.onnx"), "--out", str(tmp_path / "m.keras"))
    assert r.returncode == 2 and "missing.onnx: ONNX file not found" in r.stderr
    nodes = [helper.make_node("Hardmax", ["x"], ["y"], name="odd/Hardmax")]
    onnx.save(helper_model(nodes, [("x", ["N", 4])], [("y", 2)], {}), tmp_path / "u.onnx")
    r = run_cli("to-keras", str(tmp_path / "u.onnx"), "--out", str(tmp_path / "m.keras"))
    assert r.returncode == 2 and "node 'odd/Hardmax' (op Hardmax" in r.stderr
    assert r.stderr.strip().count("\n") == 0
    r = run_cli("to-keras", str(tmp_path / "u.onnx"), "--out", str(tmp_path / "m.h5"))
    assert r.returncode == 2 and "must end in .keras" in r.stderr
    assert sorted(os.listdir(tmp_path)) == ["u.onnx"]


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_keras_unknown_spatial_size_runs_on_any_size_through_save(tmp_path, data_format):
    """Upscales, LRN and a global sum over unknown spatial sizes: Keras layers that need no static size,
    exact on sizes other than the check's, also after saving and loading the .keras file."""
    from exporter.importers import keras_layers

    model, _ = CASES["unknown_spatial_size"]()
    view, m, info = keras_model(model, data_format)
    kinds = {type(l).__name__ for l in m.layers}
    assert {"UpSampling2D", "Dilate", "LocalResponseNormalization", "GlobalSumPooling"} <= kinds, kinds
    assert not kinds & {"Reshape", "Pad"}, kinds  # the upscale patterns became single layers
    spatial = m.inputs[0].shape[1:3] if data_format == "channels_last" else m.inputs[0].shape[2:]
    assert tuple(spatial) == (None, None)
    m.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.get_layer("dil_dilate"), keras_layers.Dilate)
    for shapes in ({"input": (1, 3, 7, 2), "seq": (3, 2, 4)}, {"input": (2, 3, 3, 6), "seq": (1, 2, 1)}):
        feeds = feeds_for(shapes, seed=5)
        want = ort_outputs(model, feeds)
        for km in (m, loaded):
            got = predict(km, info, view, feeds)
            assert max(rel_err(g, w) for g, w in zip(got, want)) <= TOL


def test_cli_uses_torch_backend_when_keras_backend_is_set_to_another(tmp_path):
    """KERAS_BACKEND=tensorflow (TensorFlow absent from .venv) used to end in a ModuleNotFoundError
    traceback: the CLI builds on torch and says so; the Python API raises a one-line ExportError."""
    model, _ = conv_bn_relu_pool_dense()
    onnx.save(model, tmp_path / "m.onnx")
    env = {**os.environ, "PYTHONPATH": ROOT, "KERAS_BACKEND": "tensorflow"}
    r = subprocess.run([sys.executable, "-m", "exporter", "to-keras", str(tmp_path / "m.onnx"), "--out",
                        str(tmp_path / "m.keras")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == ("note: to-keras builds the model on Keras' torch backend; ignoring "
                                "KERAS_BACKEND=tensorflow for this command")
    assert (tmp_path / "m.keras").exists()
    script = ("from exporter.importers import onnx_reader, to_keras; from exporter.errors import ExportError\n"
              "try:\n    to_keras.build(onnx_reader.load('m.onnx'))\nexcept ExportError as e:\n    print(e)")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                       env={**env, "KERAS_BACKEND": "jax"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert r.stdout.count("\n") == 1 and "set KERAS_BACKEND=torch" in r.stdout, r.stdout
