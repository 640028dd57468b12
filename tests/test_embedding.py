"""EmbeddingLayer end to end: integer graph inputs (dtype kept), ``check``'s random integer inputs,
and out-of-range indices, which Theano and onnxruntime both refuse (negative ones count from the end)."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest

from exporter.validate import make_session, random_inputs
from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = '''
def build_model():
    import theano.tensor as T
    from lasagne.layers import DenseLayer, EmbeddingLayer, InputLayer

    l = InputLayer((None, 6), input_var=T.imatrix("words"), name="words")
    l = EmbeddingLayer(l, 9, 4, name="embed")
    return DenseLayer(l, 3, name="dense")
'''


def cli(*args):
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("embedding")
    (d / "build.py").write_text(BUILD)
    network = f"{d / 'build.py'}:build_model"
    r = cli("capture", "--network", network, "--out", d / "arch.json")
    assert r.returncode == 0, r.stderr
    arch = json.loads((d / "arch.json").read_text())
    assert arch["layers"][0]["attrs"] == {"shape": [None, 6], "dtype": "int32"}
    shapes = {p["key"]: p["shape"] for layer in arch["layers"] for p in layer["params"]}
    rng = np.random.default_rng(3)
    np.savez(d / "model.npz", *[rng.normal(0, 1, shapes[k]).astype(np.float32) for k in arch["param_keys"]])
    r = cli(d / "model.npz", d / "out.onnx", "--network", network)  # runs the export once on random indices
    assert r.returncode == 0, r.stderr
    return d, network


def test_integer_input_keeps_its_dtype_and_index_bound(exported):
    d, _ = exported
    model = onnx.load(d / "out.onnx")
    (inp,) = model.graph.input
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT32
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["lasagne2onnx.index_bounds"]) == {"words": 9}
    feeds = random_inputs(make_session(str(d / "out.onnx")))
    assert feeds["words"].dtype == np.int32 and feeds["words"].min() >= 0 and feeds["words"].max() < 9
    assert len(np.unique(feeds["words"])) > 2  # drawn over the whole vocabulary, not {0, 1}


def test_indices_out_of_range_fail_as_in_theano(exported):
    """Theano's ``W[i]`` raises IndexError outside [-9, 9); onnxruntime's Gather refuses them too."""
    d, _ = exported
    sess = make_session(str(d / "out.onnx"))
    w = np.load(d / "model.npz")["arr_0"]
    from exporter.compare import run_layers

    model = onnx.load(d / "out.onnx")
    idx = np.array([[0, 8, -1, -9, 3, 4]], np.int32)
    got = run_layers(model, {"words": idx})["embed"]
    np.testing.assert_array_equal(got, w[idx])  # -1 is row 8, -9 row 0
    for bad in (9, -10):
        with pytest.raises(Exception, match="(?i)out of bounds|out of range|indices"):
            sess.run(None, {"words": np.full((1, 6), bad, np.int32)})


@pytest.mark.skipif(not os.path.exists(LEGACY_PYTHON), reason="needs the legacy Theano environment")
def test_check_against_theano_with_integer_inputs(exported):
    d, network = exported
    r = cli("check", d / "out.onnx", "--against", d / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON, "--save-reference", d / "layers.npz")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "embed" in r.stdout
    with np.load(d / "layers.npz") as z:
        fed = z["in:words"]
    assert fed.dtype == np.int32 and 0 <= fed.min() and fed.max() < 9
    r = cli("check", d / "out.onnx", "--reference", d / "layers.npz", "--network", network)
    assert r.returncode == 0, r.stdout + r.stderr
    # export --expect with Theano's output: indices saved as int64 are fed as the model's int32
    with np.load(d / "layers.npz") as z:
        np.savez(d / "expect.npz", **{"in:words": z["in:words"].astype(np.int64), "out:dense": z["out:dense"]})
    r = cli(d / "model.npz", d / "again.onnx", "--network", network, "--expect", d / "expect.npz")
    assert r.returncode == 0 and "matches" in r.stdout, r.stdout + r.stderr
    np.savez(d / "floats.npz", **{"in:words": np.full((2, 6), 0.5, np.float32)})
    r = cli("check", d / "out.onnx", "--against", d / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON, "--input", d / "floats.npz")
    assert r.returncode == 2 and "int32" in r.stderr and "Traceback" not in r.stderr, r.stderr


RESHAPED = '''
def build_model():
    import theano.tensor as T
    from lasagne.layers import EmbeddingLayer, InputLayer, ReshapeLayer

    l = InputLayer((None, 3, 4), input_var=T.itensor3("idx"), name="idx")
    l = ReshapeLayer(l, (-1, [2]), name="rows")  # a layer whose output is integers
    return EmbeddingLayer(l, input_size=10, output_size=5, name="embed")
'''


@pytest.mark.skipif(not os.path.exists(LEGACY_PYTHON), reason="needs the legacy Theano environment")
def test_check_compares_layers_that_compute_integers(tmp_path):
    """``check`` reads every layer's output from onnxruntime: an integer one is asked for as integers."""
    (tmp_path / "build.py").write_text(RESHAPED)
    network = f"{tmp_path / 'build.py'}:build_model"
    np.savez(tmp_path / "model.npz", np.random.default_rng(0).normal(0, 1, (10, 5)).astype(np.float32))
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    r = cli("check", tmp_path / "out.onnx", "--against", tmp_path / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rows" in r.stdout and "embed" in r.stdout, r.stdout
