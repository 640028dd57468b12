"""An InputLayer over a computed value (pixel-rnn-lasagne pads its images with
``InputLayer(input_var=T.zeros((x.shape[0], ...)))``): no input of the exported model, but the expression of
the input it is computed from, compared with real Theano on every layer by ``check --reference-python``."""
import json
import os

import numpy as np
import onnx
import pytest

from tests.reference import LEGACY_PYTHON
from tests.test_check import cli, one_line_error

BUILD = '''
import theano.tensor as T
from lasagne.layers import ConcatLayer, DenseLayer, FlattenLayer, InputLayer


def build(width=5):
    x = T.tensor3("x")
    # computed from x, and created before x's own input layer (as pixel-rnn's padding is)
    side = InputLayer((None, 2, width), input_var=T.concatenate([x[:, :1] * 2, x[:, 1:2] + 1], axis=1))
    l_in = InputLayer((None, 3, width), input_var=x)
    return DenseLayer(FlattenLayer(ConcatLayer([l_in, side], axis=1)), 2, name="fc")
'''


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("computed")
    (d / "build.py").write_text(BUILD)
    rng = np.random.default_rng(3)
    np.savez(d / "model.npz", rng.normal(size=(25, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32))
    r = cli(d / "model.npz", d / "out.onnx", "--network", f"{d / 'build.py'}:build")
    assert r.returncode == 0, r.stderr
    return d


def test_a_computed_input_layer_is_no_model_input(exported):
    model = onnx.load(str(exported / "out.onnx"))
    assert [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}] == ["input_0"]
    layers = json.loads(next(p.value for p in model.metadata_props if p.key == "lasagne2onnx.layers"))
    assert "input_1" in layers  # the computed one, traced: its value is still compared by check


def test_a_computed_input_layer_matches_theano(exported):
    if not os.path.exists(LEGACY_PYTHON):
        pytest.fail(f"the legacy environment is missing ({LEGACY_PYTHON}): run scripts/setup-legacy.sh")
    d = exported
    r = cli("check", d / "out.onnx", "--against", d / "model.npz", "--network", f"{d / 'build.py'}:build",
            "--reference-python", LEGACY_PYTHON)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {line.split()[0]: line.split() for line in r.stdout.splitlines() if line.startswith(("input_", "fc"))}
    assert set(rows) == {"input_0", "input_1", "fc"} and all(row[-1] == "OK" for row in rows.values()), r.stdout


def test_an_unnamed_input_shape_is_the_free_input_layers(exported):
    d = exported
    r = cli("capture", "--network", f"{d / 'build.py'}:build", "--input-shape", "4,3,5", "--out", d / "a.json")
    assert r.returncode == 0, r.stderr
    shapes = {l["name"]: l["output_shape"] for l in json.loads((d / "a.json").read_text())["layers"]}
    assert shapes["input_0"] == [4, 3, 5] and shapes["fc"] == [4, 2]


def test_a_computed_input_from_a_variable_of_no_input_layer_is_refused(tmp_path):
    (tmp_path / "build.py").write_text(BUILD.replace("l_in = InputLayer((None, 3, width), input_var=x)",
                                                     "l_in = InputLayer((None, 3, width))"))
    r = cli("capture", "--network", f"{tmp_path / 'build.py'}:build", "--out", tmp_path / "a.json")
    assert one_line_error(r), r.stderr
    assert "its input_var is computed from the variable x, which is the input_var of no input layer" in r.stderr

