"""The Python API (exporter.export / check / to_torch / to_keras): a notebook's calls.

The example model's reference.npz holds real Theano's output for its weights (models/example), so a
network built here, in this process, on the Theano-free Lasagne is checked against Theano."""
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

import exporter
from exporter.errors import ExportError, NetworkError, WeightsError
from exporter.validate import run as ort_run
from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example")
NPZ = os.path.join(EXAMPLE, "model.npz")
REFERENCE = os.path.join(EXAMPLE, "reference.npz")
SPEC = os.path.join(EXAMPLE, "build.py") + ":build_model"


def build_model():
    """The example network (models/example/build.py), as a notebook cell would define it."""
    import lasagne
    from lasagne.layers import Conv2DLayer, DenseLayer, DropoutLayer, InputLayer, MaxPool2DLayer, batch_norm

    net = {}
    net["input"] = InputLayer((None, 1, 28, 28), name="input")
    net["conv1"] = batch_norm(Conv2DLayer(net["input"], 8, 3, pad="same", name="conv1"))
    net["pool1"] = MaxPool2DLayer(net["conv1"], 2, name="pool1")
    net["conv2"] = batch_norm(Conv2DLayer(net["pool1"], 16, 3, pad="same", name="conv2"))
    net["pool2"] = MaxPool2DLayer(net["conv2"], 2, ignore_border=False, name="pool2")
    net["drop"] = DropoutLayer(net["pool2"], p=0.5, name="drop")
    net["fc"] = DenseLayer(net["drop"], 32, name="fc")
    net["prob"] = DenseLayer(net["fc"], 10, nonlinearity=lasagne.nonlinearities.softmax, name="prob")
    return net


@pytest.fixture(scope="module")
def lasagne():
    exporter.select_lasagne("compat")
    import lasagne

    return lasagne


@pytest.fixture(scope="module")
def weights():
    with np.load(NPZ) as f:
        return [f[f"arr_{i}"] for i in range(len(f.files))]


def theano_output(model):
    ref = np.load(REFERENCE)
    got = ort_run(model, {"input": ref["input"]})["prob"]
    return float(np.max(np.abs(got - ref["output"]))), got


def test_live_network_matches_theano(lasagne, weights):
    net = build_model()
    lasagne.layers.set_all_param_values(net["prob"], weights)
    model, report = exporter.export(net["prob"], expect=REFERENCE)  # the live network's own parameters
    assert isinstance(model, onnx.ModelProto)
    assert theano_output(model)[0] <= 1e-5
    assert report["parameters"] == sum(w.size for w in weights) and report["checked"]
    assert report["layers"] == 12 and report["opset"] == 17 and report["path"] is None
    assert "live network" in report["source"] and "in process" in report["source"]


@pytest.mark.parametrize("form", ["list", "dict", "np.load", "path", "zoo dict"])
def test_weights_forms_give_the_same_model(lasagne, weights, form):
    given = {"list": weights, "dict": {f"arr_{i}": w for i, w in enumerate(weights)}, "np.load": np.load(NPZ),
             "path": NPZ, "zoo dict": {"param values": weights}}[form]
    model, _ = exporter.export(build_model()["prob"], given, optimize=False)
    reference, _ = exporter.export(build_model()["prob"], weights, optimize=False)
    assert [t.raw_data for t in model.graph.initializer] == [t.raw_data for t in reference.graph.initializer]
    assert theano_output(model)[0] <= 1e-5


def test_build_function_with_input_shape_writes_the_file(lasagne, weights, tmp_path):
    path = tmp_path / "net.onnx"
    model, report = exporter.export(build_model, weights, path, input_shapes={"input": (4, 1, 28, 28)})
    assert report["path"] == str(path) and os.path.exists(path)
    assert onnx.load(path).graph.input[0] == model.graph.input[0]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [4, 1, 28, 28]
    assert "build function build_model" in report["source"]
    assert report["optimization"]["kept"] and report["optimization"]["fused_layers"] == ["conv1", "conv2"]
    assert theano_output(str(path))[0] <= 1e-5


def test_spec_string_and_embedded_manifest(weights):
    by_spec, _ = exporter.export(SPEC, NPZ, optimize="off")
    embedded, report = exporter.export(None, NPZ, optimize="off")  # model.npz carries its manifest
    assert theano_output(by_spec)[0] <= 1e-5 and theano_output(embedded)[0] <= 1e-5


def cli_error(*args):
    r = subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 2, r.stderr
    line, = r.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line[len("error: "):]


def test_errors_are_the_clis(lasagne, tmp_path):
    """The API raises what the command prints, word for word."""
    short = tmp_path / "short.npz"
    np.savez(short, np.zeros((8, 1, 3, 3), np.float32))
    with pytest.raises(WeightsError) as e:
        exporter.export(SPEC, short)
    assert str(e.value) == cli_error(short, tmp_path / "x.onnx", "--network", SPEC)
    with pytest.raises(NetworkError) as e:
        exporter.export(SPEC, NPZ, input_shapes={"image": (1, 1, 28, 28)})
    assert str(e.value) == cli_error(NPZ, tmp_path / "x.onnx", "--network", SPEC, "--input-shape", "image=1,1,28,28")
    with pytest.raises(NetworkError) as e:
        exporter.export(SPEC, NPZ, input_shapes=(1, 0, 28, 28))
    assert str(e.value) == cli_error(NPZ, tmp_path / "x.onnx", "--network", SPEC, "--input-shape", "1,0,28,28")
    assert not os.path.exists(tmp_path / "x.onnx")


def test_bad_arguments_are_named(lasagne, weights):
    with pytest.raises(WeightsError, match="holds 1 arrays but the network has 14 parameters"):
        exporter.export(build_model()["prob"], weights[:1])
    with pytest.raises(WeightsError, match="got key 'W'"):
        exporter.export(build_model()["prob"], {"W": weights[0]})
    with pytest.raises(WeightsError, match="no weights given"):
        exporter.export(SPEC)
    with pytest.raises(NetworkError, match="expected a Lasagne layer, a build function"):
        exporter.export(42, weights)
    with pytest.raises(NetworkError, match="must return a Lasagne layer"):
        exporter.export(lambda: "not a network", weights)
    with pytest.raises(NetworkError, match=r"the build function raised ZeroDivisionError"):
        exporter.export(lambda: 1 / 0, weights)
    with pytest.raises(ExportError, match="optimize must be one of"):
        exporter.export(build_model()["prob"], weights, optimize="always")


def test_no_half_written_file_when_expect_fails(lasagne, weights, tmp_path):
    wrong = [w * 1.5 for w in weights]
    with pytest.raises(ExportError, match="differs from the reference"):
        exporter.export(build_model, wrong, tmp_path / "net.onnx", expect=REFERENCE)
    assert os.listdir(tmp_path) == []


def test_to_torch_and_to_keras(lasagne, weights, tmp_path):
    import torch

    exported = exporter.export(build_model, weights, optimize=False)
    ref = np.load(REFERENCE)
    module = exporter.to_torch(exported, tmp_path / "torch")
    assert isinstance(module, torch.nn.Module)
    with torch.no_grad():
        got = module(torch.from_numpy(ref["input"])).numpy()
    assert np.max(np.abs(got - ref["output"])) <= 1e-5
    assert sorted(os.listdir(tmp_path / "torch")) == ["model.py", "state_dict.pt"]
    keras_model = exporter.to_keras(exported.model, tmp_path / "net.keras")
    got = np.asarray(keras_model(np.transpose(ref["input"], (0, 2, 3, 1)), training=False).detach())
    assert np.max(np.abs(got - ref["output"])) <= 1e-5
    assert os.path.exists(tmp_path / "net.keras")
    with pytest.raises(ExportError) as e:
        exporter.to_keras(exported, tmp_path / "net.h5")
    assert str(e.value) == f"{tmp_path / 'net.h5'}: the output file name must end in .keras"


@pytest.mark.skipif(not os.path.exists(LEGACY_PYTHON), reason="the legacy Theano environment is absent")
def test_check_against_real_theano(lasagne, tmp_path, monkeypatch):
    from tests.test_check import BUILD  # Lasagne 0.1 layers only: PyPI's Lasagne runs it

    monkeypatch.setenv("THEANO_FLAGS", THEANO_FLAGS)
    (tmp_path / "build.py").write_text(BUILD)
    spec = f"{tmp_path / 'build.py'}:build_model"
    namespace = {}
    exec(BUILD, namespace)
    net = namespace["build_model"]()  # built here, on the Theano-free Lasagne
    rng = np.random.default_rng(1)
    values = [rng.normal(0, 0.3, w.shape).astype(np.float32) for w in lasagne.layers.get_all_param_values(net)]
    np.savez(tmp_path / "model.npz", *values)
    model, _ = exporter.export(net, values, optimize=False)
    result = exporter.check(model, against=tmp_path / "model.npz", network=spec, reference_python=LEGACY_PYTHON)
    assert result["ok"], result["summary"]
    assert [r["layer"] for r in result["rows"]] == ["input", "conv1", "pool1", "conv2d_3", "fc", "prob"]
    assert all(r["status"] == "OK" for r in result["rows"])
    values[-2] = values[-2] * 1.1  # the last dense layer's weights
    model, _ = exporter.export(net, values, optimize=False)
    result = exporter.check(model, against=tmp_path / "model.npz", network=spec, reference_python=LEGACY_PYTHON)
    assert not result["ok"]
    assert [r["layer"] for r in result["rows"] if r["status"] == "DIFFERS"] == ["prob"]
    assert "'prob'" in result["summary"], result["summary"]


def test_readme_example_runs(tmp_path):
    """The README's notebook example, as written, on weights of its network's shapes."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("### From Python (a notebook)"):]
    start = section.index("```python\n") + len("```python\n")
    code = section[start:section.index("\n```", start)]
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "model.npz", *[rng.normal(0, 0.1, s).astype(np.float32)
                                       for s in [(8, 1, 3, 3), (8,), (8 * 14 * 14, 10), (10,)]])
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[0] == "15770"
    assert os.path.exists(tmp_path / "net.onnx") and os.path.exists(tmp_path / "net.keras")


def test_training_objects_returned_beside_the_network_are_left_out(lasagne):
    """``return network, {'lr': ...}`` from a notebook's build function: the layer, and a warning naming the rest."""
    import warnings

    from exporter.api import architecture

    def build():
        l_in = lasagne.layers.InputLayer((None, 4), name="x")
        return lasagne.layers.DenseLayer(l_in, 3, name="out"), {"lr": 0.1}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = architecture(build)[0]
    assert graph.outputs == ["out"]
    assert any("returned dict beside its layer" in str(w.message) for w in caught), [str(w.message) for w in caught]
