"""``check --reference-python`` on build code that imports ``lasagne.layers.dnn`` where it cannot import
(no GPU): the reference run's CPU stand-in (exporter/reference_dnn.py) runs Lasagne's own dnn.py with
Theano's CPU ops in place of cuDNN's, and the check says so."""
import json
import os
import subprocess

import numpy as np
import pytest

from tests.reference import LEGACY_PYTHON, THEANO_FLAGS
from tests.test_check import ROOT, cli, one_line_error, table_rows

pytestmark = pytest.mark.skipif(not os.path.exists(LEGACY_PYTHON),
                                reason=f"no legacy Theano + Lasagne environment at {LEGACY_PYTHON}")

# a model-zoo file's way: no fallback; Lasagne 0.1's dnn classes only (PyPI's Lasagne runs it)
NO_FALLBACK = '''
from lasagne.layers import DenseLayer, InputLayer
from lasagne.layers.dnn import Conv2DDNNLayer, MaxPool2DDNNLayer, Pool2DDNNLayer


def build_model():
    l = InputLayer((None, 2, 9, 9), name="input")
    l = Conv2DDNNLayer(l, 4, 3, pad=1, name="conv")  # cross-correlation
    l = Conv2DDNNLayer(l, 3, (3, 5), pad="same", stride=(1, 2), name="conv_same")
    l = MaxPool2DDNNLayer(l, 3, stride=2, pad=1, name="max")
    l = Pool2DDNNLayer(l, 2, stride=1, pad=1, mode="average_inc_pad", name="avg_inc")
    l = Pool2DDNNLayer(l, 3, stride=2, pad=1, mode="average_exc_pad", name="avg_exc")
    return DenseLayer(l, 5, name="fc")
'''

WITH_FALLBACK = '''
from lasagne.layers import InputLayer
try:
    from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
except ImportError:
    from lasagne.layers import Conv2DLayer as ConvLayer


def build_model():
    return ConvLayer(InputLayer((None, 2, 6, 6), name="input"), 3, 3, name="conv")
'''


def _export(d, source):
    (d / "build.py").write_text(source)
    network = f"{d / 'build.py'}:build_model"
    r = cli("capture", "--network", network, "--out", d / "arch.json")
    assert r.returncode == 0, r.stderr
    arch = json.loads((d / "arch.json").read_text())
    shapes = {p["key"]: p["shape"] for layer in arch["layers"] for p in layer["params"]}
    rng = np.random.default_rng(3)
    np.savez(d / "model.npz", *[rng.normal(0, 0.4, shapes[k]).astype(np.float32) for k in arch["param_keys"]])
    r = cli(d / "model.npz", d / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    return network


@pytest.fixture(scope="module")
def no_fallback(tmp_path_factory):
    d = tmp_path_factory.mktemp("dnn")
    network = _export(d, NO_FALLBACK)
    r = cli("check", d / "out.onnx", "--against", d / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON, "--save-reference", d / "layers.npz")
    return r, d


def test_check_computes_cudnn_layers_with_the_cpu_standin(no_fallback):
    r, _ = no_fallback
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert list(rows) == ["input", "conv", "conv_same", "max", "avg_inc", "avg_exc", "fc"]
    assert all(row[-1] == "OK" for row in rows.values()), r.stdout
    assert rows["conv"][1] == "Conv2DDNNLayer" and rows["avg_exc"][1] == "Pool2DDNNLayer"
    header = r.stdout.splitlines()[0]
    assert "lasagne.layers.dnn did not import there for lack of a GPU" in header and "CPU stand-in" in header


def _cudnn_pool(x, size, stride, pad, mode):
    """cuDNN's pooling written out: only whole windows over the padded input; max and average_exc_pad
    see the input's elements only, average_inc_pad divides by the window size."""
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=np.nan)
    rows, cols = [(n + 2 * pad - size) // stride + 1 for n in x.shape[2:]]
    out = np.empty(x.shape[:2] + (rows, cols))
    for i in range(rows):
        for j in range(cols):
            w = xp[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            out[:, :, i, j] = {"max": lambda: np.nanmax(w, (2, 3)),
                               "average_inc_pad": lambda: np.nansum(w, (2, 3)) / size ** 2,
                               "average_exc_pad": lambda: np.nanmean(w, (2, 3))}[mode]()
    return out


def test_standin_pooling_is_cudnns(no_fallback):
    """The reference's pooling against cuDNN's semantics written in numpy (independent of Theano and ONNX)."""
    _, d = no_fallback
    with np.load(d / "layers.npz") as z:
        out = {k[4:]: z[k] for k in z.files if k.startswith("out:")}
    for name, before, size, stride, mode in (("max", "conv_same", 3, 2, "max"),
                                             ("avg_inc", "max", 2, 1, "average_inc_pad"),
                                             ("avg_exc", "avg_inc", 3, 2, "average_exc_pad")):
        expected = _cudnn_pool(out[before], size, stride, 1, mode)
        assert out[name].shape == expected.shape, name
        np.testing.assert_allclose(out[name], expected, rtol=1e-6, atol=1e-6, err_msg=name)


def _reference_run(d, *options):
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    out = d / f"layers{len(options)}{'_'.join(options)}.npz"
    r = subprocess.run([LEGACY_PYTHON, os.path.join(ROOT, "exporter", "reference_run.py"), "--network",
                        f"{d / 'build.py'}:build_model", "--weights", str(d / "model.npz"), "--out", str(out),
                        *options], capture_output=True, text=True, env=env, cwd=ROOT)
    if r.returncode:
        return r, None
    with np.load(out) as z:
        return r, json.loads(z["__lasagne2onnx_reference__"].tobytes().decode("utf-8"))


def test_standin_only_where_the_network_needs_cudnn(tmp_path):
    """Build code with a fallback builds the fallback, as before, unless --cudnn yes; --cudnn no never
    gets the stand-in."""
    (tmp_path / "build.py").write_text(WITH_FALLBACK)
    np.savez(tmp_path / "model.npz", np.ones((3, 2, 3, 3), np.float32), np.zeros(3, np.float32))
    r, meta = _reference_run(tmp_path)
    assert r.returncode == 0, r.stderr
    assert meta["cpu_standins"] == {} and meta["layers"][1]["class"] == "Conv2DLayer"
    r, meta = _reference_run(tmp_path, "--cudnn", "yes")
    assert r.returncode == 0, r.stderr
    assert list(meta["cpu_standins"]) == ["lasagne.layers.dnn"] and meta["layers"][1]["class"] == "Conv2DDNNLayer"

    (tmp_path / "build.py").write_text(NO_FALLBACK)
    r, _ = _reference_run(tmp_path, "--cudnn", "no")
    assert one_line_error(r) and "lasagne.layers.dnn" in r.stderr and "--cudnn no" in r.stderr, r.stderr
