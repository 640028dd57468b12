"""A second ONNX source: a Keras (TensorFlow) model converted by tf2onnx -> our PyTorch importer.

tf2onnx writes NHWC graphs wrapped in Transposes, folds batch norm into convolutions where it can,
and flattens with Shape -> Gather -> Cast -> Slice -> Concat -> Reshape.  TensorFlow lives in its own
environment, .venv-tf (scripts/setup-tf.sh); the Keras model is built and converted there in a
subprocess and this test skips, saying so, when that environment is absent.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from tests.test_importer_torch import ROOT, TOL, ort_outputs, rel_err, run_cli, torch_model  # noqa: E402

TF_PYTHON = os.path.join(ROOT, ".venv-tf", "bin", "python")

MAKE_MODEL = r'''
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["KERAS_BACKEND"] = "tensorflow"
import numpy as np, tensorflow as tf, keras, tf2onnx, onnx
out = sys.argv[1]
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
inp = keras.Input((10, 9, 3), name="image")
x = keras.layers.Conv2D(6, 3, padding="same", name="conv1")(inp)
x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-4, name="bn1")(x)
x = keras.layers.ReLU(name="relu1")(x)
x = keras.layers.Conv2D(4, (3, 2), strides=2, padding="valid", name="conv2")(x)
x = keras.layers.ReLU(name="relu2")(x)
x = keras.layers.BatchNormalization(epsilon=1e-3, name="bn2")(x)  # after a ReLU: cannot be folded
x = keras.layers.MaxPooling2D(2, name="pool")(x)
x = keras.layers.Flatten(name="flat")(x)
x = keras.layers.Dense(5, name="fc")(x)
m = keras.Model(inp, x)
for layer in m.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        c = layer.gamma.shape[0]
        layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(size=c), rng.normal(size=c), rng.uniform(0.5, 2, c)])
    elif layer.weights:
        layer.set_weights([rng.normal(size=w.shape) * 0.3 for w in layer.get_weights()])
spec = (tf.TensorSpec((None, 10, 9, 3), tf.float32, name="image"),)
proto, _ = tf2onnx.convert.from_keras(m, input_signature=spec, opset=17)
onnx.save(proto, os.path.join(out, "tf.onnx"))
x = rng.normal(size=(3, 10, 9, 3)).astype(np.float32)
np.savez(os.path.join(out, "ref.npz"), x=x, y=m(x, training=False).numpy())
print("versions", tf.__version__, tf2onnx.__version__, np.__version__)
'''


@pytest.fixture(scope="module")
def tf_model(tmp_path_factory):
    if not os.path.exists(TF_PYTHON):
        pytest.skip("optional TensorFlow environment .venv-tf is absent (create it with scripts/setup-tf.sh)")
    out = tmp_path_factory.mktemp("tf2onnx")
    r = subprocess.run([TF_PYTHON, "-c", MAKE_MODEL, str(out)], capture_output=True, text=True, timeout=300,
                       env={k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"})
    assert r.returncode == 0, r.stderr[-3000:]
    ref = np.load(out / "ref.npz")
    return out, onnx.load(out / "tf.onnx"), ref["x"], ref["y"]


def test_tf2onnx_graph_has_what_we_claim(tf_model):
    _, model, _, _ = tf_model
    ops = {n.op_type for n in model.graph.node}
    assert {"Transpose", "Conv", "Relu", "MaxPool", "Reshape", "MatMul"} <= ops, ops
    assert "BatchNormalization" in ops or "Mul" in ops, ops


def test_tf2onnx_model_through_torch_importer(tf_model):
    _, model, x, y_keras = tf_model
    view, src, m = torch_model(model)
    with torch.no_grad():
        got = m(torch.from_numpy(x)).numpy()
    want = ort_outputs(model, {view.inputs[0]: x})[0]
    assert rel_err(got, want) <= TOL
    assert rel_err(got, y_keras) <= TOL  # and the original Keras model
    assert "nn.Conv2d(3, 6, kernel_size=(3, 3), padding=(1, 1))" in src
    assert ".permute(0, 3, 1, 2)" in src  # the NHWC input transposed as tf2onnx wrote it
    # a different batch size: the flatten's shape is computed at run time, not frozen
    with torch.no_grad():
        got5 = m(torch.from_numpy(np.concatenate([x, x[:2]]))).numpy()
    assert rel_err(got5[:3], want) <= TOL


def test_tf2onnx_model_cli(tf_model, tmp_path):
    out, _, x, y_keras = tf_model
    r = run_cli("to-torch", str(out / "tf.onnx"), "--out", str(tmp_path / "torch"))
    assert r.returncode == 0, r.stderr
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np, torch; sys.path.insert(0, 'torch'); import model; m = model.Model(); "
              "m.load_state_dict(torch.load('torch/state_dict.pt')); m.eval(); "
              "np.save('y.npy', m(torch.from_numpy(np.load('x.npy'))).detach().numpy())")
    r2 = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert r2.returncode == 0, r2.stderr
    assert rel_err(np.load(tmp_path / "y.npy"), y_keras) <= TOL
