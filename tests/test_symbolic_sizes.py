"""Issue 17, sizes: a ReshapeLayer sized from the input variable exports with its batch symbolic (the
numbers are compared with Theano in tests/cases/size_cases.py); a size the code fixes against an unknown
batch is exported with the only batch it allows, with a warning, or refused naming the layer and its line;
an export that onnxruntime cannot run is a one-line error naming the layer, never a traceback."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_symbolic_reshape_sizes_keep_the_batch_and_length_symbolic():
    from exporter.pipeline import to_onnx
    from exporter.validate import make_session
    from exporter.weights import bind_weights
    from tests.cases import load_all
    from tests.reference import compat_capture

    graph = compat_capture(load_all()["reshape_symbolic_batch_times_time"])
    assert [l.kind for l in graph.layers] == ["Input", "Expression", "Dense", "Expression"]
    assert graph.layers[1].inputs == ["input", "input"]  # the size is read from the network's input
    rng = np.random.default_rng(0)
    weights = {"arr_0": rng.standard_normal((4, 6)).astype(np.float32), "arr_1": np.zeros(6, np.float32)}
    model = to_onnx(graph, bind_weights(graph, weights, "w.npz"), optimize="off")
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input]
    assert dims == [["N", "input_d1", 4]], dims
    sess = make_session(model)
    for batch, length in ((2, 3), (7, 6)):
        x = rng.standard_normal((batch, length, 4)).astype(np.float32)
        out, = sess.run(None, {"input": x})
        assert out.shape == (batch, length, 6)
        np.testing.assert_allclose(out, np.tanh(x @ weights["arr_0"]), rtol=1e-5, atol=1e-6)


NET = '''
    import lasagne
    from lasagne.layers import DenseLayer, InputLayer, ReshapeLayer


    def build():
        l = InputLayer({shape}, name="input")
        l = ReshapeLayer(l, {target}, name="fold")
        return DenseLayer(l, 4, name="dense")
'''


def export(tmp_path, shape, target, *extra):
    (tmp_path / "net.py").write_text(textwrap.dedent(NET.format(shape=shape, target=target)))
    np.savez(tmp_path / "model.npz", np.ones((3, 4), np.float32), np.zeros(4, np.float32))
    r = subprocess.run([sys.executable, "-m", "exporter", str(tmp_path / "model.npz"), str(tmp_path / "out.onnx"),
                        "--network", f"{tmp_path / 'net.py'}:build", *extra], capture_output=True, text=True,
                       cwd=ROOT)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_a_fixed_size_against_an_unknown_batch_exports_that_batch_and_warns(tmp_path):
    r = export(tmp_path, (None, 7, 3), (5 * 7, 3))
    assert r.returncode == 0, r.stderr
    assert ("warning: layer 'fold' (ReshapeLayer at net.py:8) reshapes its input of shape (None, 7, 3) to the fixed "
            "shape (35, 3), so the network runs only on a batch of 5: exported with that batch fixed (as "
            "--input-shape 5,7,3)") in r.stderr, r.stderr
    model = onnx.load(str(tmp_path / "out.onnx"))
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [5, 7, 3]


@pytest.mark.parametrize("shape, target, said", [
    ((None, 7, 3), (34, 2), "but 68 values cannot be cut into pieces of 21: no size of axis 0 fits; no batch size "
                            "runs it"),
    ((None, None, 3), (35, 3), "but 2 of its input's sizes are unknown: the network runs only on inputs whose sizes "
                               "give 105 values there: give the input's sizes with --input-shape N,N,3"),
])
def test_a_fixed_size_no_batch_fits_is_refused_naming_the_layer_and_line(tmp_path, shape, target, said):
    r = export(tmp_path, shape, target)
    assert r.returncode == 2 and not (tmp_path / "out.onnx").exists()
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert f"layer 'fold' (ReshapeLayer at net.py:8) reshapes its input of shape {shape}" in lines[0], lines[0]
    assert said in lines[0], lines[0]


def test_given_input_shape_is_used_as_is(tmp_path):
    r = export(tmp_path, (None, 7, 3), (5 * 7, 3), "--input-shape", "5,7,3")
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


def test_an_export_onnxruntime_cannot_run_is_an_error_naming_the_layer(tmp_path):
    """A manifest keeps the size its build fixed while its input's batch is free: the check's run fails in
    onnxruntime, reported as one line naming the layer, and nothing is written."""
    r = export(tmp_path, (None, 7, 3), (5 * 7, 3))
    assert r.returncode == 0, r.stderr
    subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:build",
                    "--out", str(tmp_path / "a.json")], check=True, capture_output=True, cwd=ROOT)
    manifest = json.loads((tmp_path / "a.json").read_text())
    for layer in manifest["layers"]:
        if layer["kind"] == "Input":
            layer["attrs"]["shape"][0] = layer["output_shape"][0] = None
    (tmp_path / "a.json").write_text(json.dumps(manifest))
    for extra in ([], ["--no-optimize"]):
        r = subprocess.run([sys.executable, "-m", "exporter", str(tmp_path / "model.npz"), str(tmp_path / "b.onnx"),
                            "--manifest", str(tmp_path / "a.json"), *extra], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 2 and "Traceback" not in r.stderr and not (tmp_path / "b.onnx").exists(), r.stderr
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert lines == [
            "error: onnxruntime cannot run the export on inputs of shape 'input' (2, 7, 3): layer 'fold' (node "
            "'fold/Reshape') failed: input_shape_size == requested_shape_size was false. The input tensor cannot be "
            "reshaped to the requested shape. Input shape:{2,7,3}, requested shape:{35,3} (give the input sizes the "
            "network was built for with --input-shape)"], r.stderr


def test_a_mask_reached_through_slices_and_reshapes_gets_0_or_1():
    """A seq2seq decoder step's mask is ``ReshapeLayer(SliceLayer(mask, i, axis=1), ([0], 1))``: check and the
    export's own run must draw 0/1 there (Lasagne 0.1 blends, 0.2 switches: they agree on 0/1 only)."""
    from exporter.frontends.lasagne_live import capture
    from exporter.frontends.network_file import select_lasagne
    from exporter.layers.recurrent import mask_inputs

    select_lasagne("compat")
    from lasagne.layers import InputLayer, LSTMLayer, ReshapeLayer, SliceLayer

    x = InputLayer((None, 1, 3), name="x")
    mask = InputLayer((None, 4), name="mask")
    step_mask = ReshapeLayer(SliceLayer(mask, 2, axis=1), ([0], 1))
    graph = capture(LSTMLayer(x, 5, mask_input=step_mask, peepholes=False, name="lstm"))
    assert mask_inputs(graph) == ["mask"]
