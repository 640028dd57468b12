"""``python -m exporter check``: per-layer comparison of an export with the original framework."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from exporter.compare import layer_value_map, run_layers
from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example")
LAYERS = ["input", "conv1", "pool1", "conv2d_3", "fc", "prob"]  # conv2d_3: the exporter's name for an unnamed layer

# Lasagne 0.1 layers only, so that PyPI's Lasagne runs it; Conv2DLayer keeps its default flip_filters
BUILD = '''
def build_model():
    import lasagne
    from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer, MaxPool2DLayer

    l = InputLayer((None, 2, 10, 10), name="input")
    l = Conv2DLayer(l, 4, 3, name="conv1")
    l = MaxPool2DLayer(l, 2, name="pool1")
    l = Conv2DLayer(l, 5, 2, pad=1)
    l = DenseLayer(l, 6, name="fc")
    return DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="prob")
'''


def cli(*args, cwd=ROOT):
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env)


def one_line_error(r):
    lines = r.stderr.strip().splitlines()
    return r.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in r.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """build.py, model.npz (random weights saved the way Lasagne users do) and its export."""
    d = tmp_path_factory.mktemp("check")
    (d / "build.py").write_text(BUILD)
    network = f"{d / 'build.py'}:build_model"
    r = cli("capture", "--network", network, "--out", d / "arch.json")
    assert r.returncode == 0, r.stderr
    arch = json.loads((d / "arch.json").read_text())
    shapes = {p["key"]: p["shape"] for layer in arch["layers"] for p in layer["params"]}
    rng = np.random.default_rng(1)
    np.savez(d / "model.npz", *[rng.normal(0, 0.3, shapes[k]).astype(np.float32) for k in arch["param_keys"]])
    r = cli(d / "model.npz", d / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    return d, network


def table_rows(stdout):
    """layer name -> the row's cells."""
    return {line.split()[0]: line.split() for line in stdout.splitlines()[2:] if line and not line.startswith(("OK", "DIFFERS"))}


@pytest.fixture(scope="module")
def theano_check(exported):
    """``check --reference-python`` run once (the real Lasagne on Theano), keeping the reference it computed."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"no legacy Theano + Lasagne environment at {LEGACY_PYTHON} (scripts/setup-legacy.sh makes it)")
    d, network = exported
    r = cli("check", d / "out.onnx", "--against", d / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON, "--save-reference", d / "layers.npz")
    return r, d / "layers.npz"


def test_check_against_real_theano(exported, theano_check):
    d, _ = exported
    r, saved = theano_check
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert list(rows) == LAYERS  # network order
    assert all(row[-1] == "OK" for row in rows.values())
    assert rows["conv1"][1] == "Conv2DLayer" and rows["conv2d_3"][1] == "Conv2DLayer"
    assert r.stdout.strip().splitlines()[-1].startswith("OK: all 6 compared layers match within 1e-05")

    # the saved reference is the worker's format: a later check needs neither Theano nor --against
    with np.load(saved) as z:
        assert {f"out:{n}" for n in LAYERS} | {"in:input"} <= set(z.files)
    r = cli("check", d / "out.onnx", "--reference", saved)
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(table_rows(r.stdout)) == LAYERS and "Conv2DLayer" in r.stdout


def test_wrong_port_names_the_first_diverging_layer(exported, theano_check):
    d, _ = exported
    _, saved = theano_check  # Theano's per-layer outputs for the correct weights
    model = onnx.load(str(d / "out.onnx"))
    conv = [n for n in model.graph.node if n.op_type == "Conv"][1]  # the unnamed second Conv2DLayer
    init = next(t for t in model.graph.initializer if t.name == conv.input[1])
    w = numpy_helper.to_array(init)  # un-flip the kernel: Lasagne's true convolution becomes a correlation
    init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[:, :, ::-1, ::-1]), init.name))
    onnx.save(model, str(d / "wrong.onnx"))

    r = cli("check", d / "wrong.onnx", "--reference", saved)
    assert r.returncode == 1, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert [rows[n][-1] for n in LAYERS] == ["OK", "OK", "OK", "DIFFERS", "DIFFERS", "DIFFERS"]
    summary = r.stdout.strip().splitlines()[-1]
    assert summary.startswith("DIFFERS: first divergence at layer 'conv2d_3' (Conv2DLayer)"), summary
    assert "(fed the reference's own inputs, it still differs by 1: the difference starts in this layer)" in summary


def _ort_reference(model_path, out_path, seed=0, drop=(), perturb=None):
    """A per-layer reference in the worker's format, computed by onnxruntime (no Theano)."""
    model = onnx.load(str(model_path))
    x = np.random.default_rng(seed).standard_normal((3, *[d.dim_value for d in
                                                         model.graph.input[0].type.tensor_type.shape.dim[1:]]))
    name = model.graph.input[0].name
    outs = run_layers(model, {name: x.astype(np.float32)})
    ref = {f"in:{name}": x.astype(np.float32), **{f"out:{k}": v for k, v in outs.items() if k not in drop}}
    if perturb:
        ref[f"out:{perturb}"] = ref[f"out:{perturb}"] + 1e-3
    np.savez(out_path, **ref)
    return layer_value_map(model)


def test_reference_file_without_theano(exported, tmp_path):
    d, _ = exported
    _ort_reference(d / "out.onnx", tmp_path / "ref.npz")
    r = cli("check", d / "out.onnx", "--reference", tmp_path / "ref.npz")
    assert r.returncode == 0, r.stdout + r.stderr
    assert list(table_rows(r.stdout)) == LAYERS and "input (3, 2, 10, 10)" in r.stdout

    _ort_reference(d / "out.onnx", tmp_path / "bad.npz", perturb="pool1")
    r = cli("check", d / "out.onnx", "--reference", tmp_path / "bad.npz", "--against", d / "model.npz",
            "--manifest", d / "arch.json")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "first divergence at layer 'pool1' (MaxPool2DLayer)" in r.stdout  # class from the manifest
    assert table_rows(r.stdout)["conv1"][-1] == "OK"
    # a looser tolerance accepts it
    r = cli("check", d / "out.onnx", "--reference", tmp_path / "bad.npz", "--tolerance", "1e-2")
    assert r.returncode == 0, r.stdout + r.stderr


def test_fused_layers_of_an_optimized_export(tmp_path):
    """An optimised export has no output for layers folded into their neighbours: rows say 'fused'."""
    weights = os.path.join(EXAMPLE, "model.npz")  # carries its manifest
    assert cli(weights, tmp_path / "plain.onnx", "--no-optimize").returncode == 0
    r = cli(weights, tmp_path / "opt.onnx", "--optimize")
    assert r.returncode == 0, r.stderr
    fused = [k for k, v in layer_value_map(onnx.load(str(tmp_path / "opt.onnx"))).items() if v is None]
    if not fused:
        pytest.skip("the optimiser fused nothing in the example")
    _ort_reference(tmp_path / "plain.onnx", tmp_path / "ref.npz")
    r = cli("check", tmp_path / "opt.onnx", "--reference", tmp_path / "ref.npz", "--against", weights)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert all(rows[k][-1] == "fused" for k in fused)
    assert rows["conv1_bn"][1] == "BatchNormLayer"  # classes from the manifest embedded in the npz
    assert f"{len(fused)} fused layer" in r.stdout.strip().splitlines()[-1]


def test_bad_input_gives_one_line_and_exit_2(exported, tmp_path):
    d, network = exported
    _ort_reference(d / "out.onnx", tmp_path / "partial.npz", drop=("pool1",))
    cases = [
        (("check", tmp_path / "missing.onnx", "--reference", tmp_path / "partial.npz"), "missing.onnx: ONNX model not found"),
        (("check", d / "out.onnx"), "check needs the original outputs"),
        (("check", d / "out.onnx", "--reference", tmp_path / "nothing.npz"), "reference file not found"),
        (("check", d / "out.onnx", "--reference", d / "model.npz"), "not a per-layer reference"),
        (("check", d / "out.onnx", "--reference", tmp_path / "partial.npz"), "no output for layer 'pool1'"),
        (("check", d / "out.onnx", "--reference-python", tmp_path / "no-python"), "not found"),
        (("check", d / "out.onnx", "--reference-python", sys.executable, "--against", tmp_path / "none.npz",
          "--network", network), "none.npz: weights file not found"),
        (("check", d / "out.onnx", "--reference-python", sys.executable, "--against", d / "model.npz"),
         "pass --network"),
        # a Python without Theano: the worker's own one-line error comes through
        (("check", d / "out.onnx", "--reference-python", sys.executable, "--against", d / "model.npz",
          "--network", network), "cannot import Theano and Lasagne"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert one_line_error(r), (args, r.returncode, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)


LINEAR = '''
def build_model():
    from lasagne.layers import DenseLayer, InputLayer

    l = InputLayer((None, 2), name="input")
    l = DenseLayer(l, 2, nonlinearity=None, name="a")
    return DenseLayer(l, 1, nonlinearity=None, name="b")
'''


@pytest.mark.parametrize("also_b", [False, True, "nan"])
def test_a_layer_is_run_alone_on_the_references_inputs(tmp_path, also_b):
    """Layer b = 1024 * (a0 - a1) amplifies a's last bits: with a's reference off by 2**-17 (within the
    tolerance), b differs end to end (3e-5) but is exact when fed the reference's own a: AMPLIFIED, exit 0.
    Off by more than the tolerance when fed a's reference too (a wrong port), it stays DIFFERS: exit 1.
    A reference that is NaN itself is said to be so.  (All values are exact in float32: the reference is
    computed by hand.)"""
    (tmp_path / "build.py").write_text(LINEAR)
    network = f"{tmp_path / 'build.py'}:build_model"
    w_b = np.array([[1024.0], [-1024.0]], np.float32)
    np.savez(tmp_path / "model.npz", np.eye(2, dtype=np.float32), np.zeros(2, np.float32), w_b,
             np.zeros(1, np.float32))
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    x = np.array([[0.5, 0.25]], np.float32)
    a = x + np.array([[2.0 ** -17, 0]], np.float32)  # Theano's a, a few ulps off
    b = a @ w_b + (np.nan if also_b == "nan" else 1.0 if also_b else 0.0)
    np.savez(tmp_path / "layers.npz", **{"in:input": x, "out:input": x, "out:a": a, "out:b": b})
    r = cli("check", tmp_path / "out.onnx", "--reference", tmp_path / "layers.npz", "--network", network)
    rows = table_rows(r.stdout)
    assert rows["a"][-1] == "OK", r.stdout
    if also_b == "nan":
        assert r.returncode == 1 and rows["b"][-1] == "DIFFERS", r.stdout + r.stderr
        assert "first divergence at layer 'b' (DenseLayer): relative error nan > 1e-05 (the reference itself is " \
               "not finite there" in r.stdout, r.stdout
    elif also_b:
        assert r.returncode == 1 and rows["b"][-1] == "DIFFERS", r.stdout + r.stderr
        assert "DIFFERS: first divergence at layer 'b' (DenseLayer): relative error" in r.stdout
        assert "fed the reference's own inputs, it still differs by 0.00389: the difference starts" in r.stdout, r.stdout
    else:
        assert r.returncode == 0 and rows["b"][-1] == "AMPLIFIED", r.stdout + r.stderr
        assert "1 of them (AMPLIFIED) amplify their inputs' float32 rounding beyond 1e-05 end to end" in r.stdout
        assert "(largest 3.05e-05 at 'b': 0 alone)" in r.stdout, r.stdout


PYTHON2_BUILD = '''
def build_model(n=10):
    from lasagne.layers import DenseLayer, InputLayer

    l = InputLayer((None, 4), name="input")
    for i in xrange(2):
        l = DenseLayer(l, n / 4, name="fc%d" % i)
    return l
'''  # valid Python 3 that fails as Python 2 code does (xrange): the export reads it as Python 2 by itself


def test_reference_run_reads_the_build_file_as_the_export_did(tmp_path):
    """The export read the build file as Python 2 without --python2 and recorded it; the reference
    run in the old Python (which has no fissix) reads it so too, as check is not told --python2 again."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"no legacy Theano + Lasagne environment at {LEGACY_PYTHON} (scripts/setup-legacy.sh makes it)")
    (tmp_path / "net.py").write_text(PYTHON2_BUILD)
    rng = np.random.default_rng(2)
    np.savez(tmp_path / "model.npz", *[rng.normal(0, 0.5, s).astype(np.float32) for s in [(4, 2), (2,), (2, 2), (2,)]])
    network = f"{tmp_path / 'net.py'}:build_model"
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", network)
    assert r.returncode == 0 and "net.py read as Python 2" in r.stdout, r.stdout + r.stderr
    r = cli("check", tmp_path / "out.onnx", "--against", tmp_path / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [row[-1] for row in table_rows(r.stdout).values()] == ["OK", "OK", "OK"], r.stdout


MASKED = '''
def build_model():
    from lasagne.layers import InputLayer, LSTMLayer

    l = InputLayer((None, 5, 3), name="x")
    mask = InputLayer((None, 5), name="mask")
    return LSTMLayer(l, 4, mask_input=mask, peepholes=False, name="lstm")
'''


def test_a_recurrent_layers_mask_gets_random_zeros_and_ones(tmp_path):
    """Lasagne 0.1 blends with a mask (new * m + prev * (1 - m)), 0.2 switches on it (m != 0): they agree
    on the 0/1 a mask holds, so that is what random check inputs draw for it (normal floats made a
    Lasagne 0.2 reference differ for an exact export)."""
    from exporter.commands.check import _graph_inputs, _input_layers, _random_feeds
    from exporter.validate import make_session, random_inputs

    (tmp_path / "build.py").write_text(MASKED)
    r = cli("capture", "--network", f"{tmp_path / 'build.py'}:build_model", "--out", tmp_path / "arch.json")
    assert r.returncode == 0, r.stderr
    arch = json.loads((tmp_path / "arch.json").read_text())
    shapes = {p["key"]: p["shape"] for layer in arch["layers"] for p in layer["params"]}
    np.savez(tmp_path / "model.npz", *[np.full(shapes[k], 0.1, np.float32) for k in arch["param_keys"]])
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", f"{tmp_path / 'build.py'}:build_model")
    assert r.returncode == 0, r.stderr
    feeds = random_inputs(make_session(str(tmp_path / "out.onnx")))
    assert set(np.unique(feeds["mask"])) == {0.0, 1.0} and feeds["mask"].dtype == np.float32
    assert len(np.unique(feeds["x"])) > 2  # the sequence stays normal
    model = onnx.load(str(tmp_path / "out.onnx"))
    onnx_inputs = _graph_inputs(model)
    args = type("Args", (), {"input_shape": None, "seed": 0})()
    feeds = _random_feeds(args, onnx_inputs, _input_layers(layer_value_map(model), onnx_inputs))
    assert set(np.unique(feeds["mask"])) == {0.0, 1.0} and len(np.unique(feeds["x"])) > 2


@pytest.mark.skipif(not os.path.exists(LEGACY_PYTHON), reason="needs the legacy Theano environment")
def test_a_network_of_several_outputs_is_checked_against_theano(tmp_path):
    """A build function returning a list of heads (multi-task code) captures and exports: check takes it too."""
    (tmp_path / "build.py").write_text('''
def build_model():
    from lasagne.layers import DenseLayer, InputLayer

    l = DenseLayer(InputLayer((None, 4), name="x"), 5, name="shared")
    return [DenseLayer(l, 3, name="head_a"), DenseLayer(l, 2, name="head_b")]
''')
    network = f"{tmp_path / 'build.py'}:build_model"
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "model.npz", *[rng.normal(0, 0.5, s).astype(np.float32)
                                       for s in [(4, 5), (5,), (5, 3), (3,), (5, 2), (2,)]])
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", network)
    assert r.returncode == 0, r.stderr
    r = cli("check", tmp_path / "out.onnx", "--against", tmp_path / "model.npz", "--network", network,
            "--reference-python", LEGACY_PYTHON)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = table_rows(r.stdout)
    assert rows["head_a"][-1] == rows["head_b"][-1] == "OK", r.stdout
