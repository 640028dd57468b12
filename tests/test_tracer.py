"""The Theano-free tracer through the command line and the manifest (no Theano needed): a build file
that also prepares training exports unmodified, evaluating what it built names the user's line,
traced layers survive the JSON manifest, a malformed expression in a manifest is refused naming the
layer, and outside tracing the stand-in still refuses to compute."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BUILD = textwrap.dedent('''
    import numpy as np
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import DenseLayer, ExpressionLayer, InputLayer, Layer


    class Gate(Layer):
        def __init__(self, incoming, **kwargs):
            super(Gate, self).__init__(incoming, **kwargs)
            self.g = self.add_param(lasagne.init.Constant(0.5), (self.input_shape[1],), name="g")

        def get_output_for(self, input, **kwargs):
            return input * T.nnet.sigmoid(self.g) + T.mean(input, axis=1, keepdims=True)


    def build():
        l_in = InputLayer((None, 5), name="input")
        l = DenseLayer(l_in, 4, nonlinearity=lambda x: T.maximum(x, 0.1 * x), name="fc")
        l = Gate(l, name="gate")
        out = ExpressionLayer(l, lambda X: X[:, ::-1] * 2, name="flip")
        y = T.ivector("y")
        loss = lasagne.objectives.squared_error(lasagne.layers.get_output(out), 0).mean()
        updates = lasagne.updates.adam(loss, lasagne.layers.get_all_params(out, trainable=True))
        global train_fn
        train_fn = theano.function([l_in.input_var, y], loss, updates=updates)
        return out


    def build_and_train():
        build()
        return train_fn(np.zeros((2, 5), "float32"), np.zeros(2, "int32"))  # training: needs Theano
''')


def cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env)


@pytest.fixture
def work(tmp_path):
    (tmp_path / "net.py").write_text(BUILD)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "model.npz", *[rng.standard_normal(s).astype(np.float32) for s in [(5, 4), (4,), (4,)]])
    return tmp_path


def test_build_that_prepares_training_exports_and_matches_numpy(work):
    out = work / "m.onnx"
    r = cli(work / "model.npz", out, "--network", f"{work / 'net.py'}:build", "--lasagne", "compat")
    assert r.returncode == 0, r.stderr
    assert "traced custom computation in 3 layers" in r.stdout and "'gate' (Gate.get_output_for (net.py))" in r.stdout
    import onnxruntime as ort

    x = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float32)
    with np.load(work / "model.npz") as z:
        W, b, g = z["arr_0"], z["arr_1"], z["arr_2"]
    h = x @ W + b
    h = np.maximum(h, np.float32(0.1) * h)
    h = h * (1 / (1 + np.exp(-g))) + h.mean(axis=1, keepdims=True)
    want = h[:, ::-1] * 2
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_evaluating_what_was_built_names_the_users_line(work):
    r = cli(work / "model.npz", work / "m.onnx", "--network", f"{work / 'net.py'}:build_and_train", "--lasagne",
            "compat")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    line = next(i for i, text in enumerate(BUILD.splitlines(), 1) if "train_fn = theano.function" in text)
    called = next(i for i, text in enumerate(BUILD.splitlines(), 1) if "return train_fn(" in text)
    assert f"made at net.py:{line}" in r.stderr and f"called at net.py:{called}" in r.stderr, r.stderr
    assert "needs Theano" in r.stderr
    assert not (work / "m.onnx").exists()


def test_traced_layers_travel_in_the_manifest(work):
    arch = work / "arch.json"
    r = cli("capture", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat", "--out", arch)
    assert r.returncode == 0, r.stderr
    manifest = json.loads(arch.read_text())
    kinds = {l["name"]: l["kind"] for l in manifest["layers"]}
    assert kinds["gate"] == kinds["flip"] == "Expression" and kinds["fc"] == "Dense"
    gate = next(l for l in manifest["layers"] if l["name"] == "gate")
    assert [p["role"] for p in gate["params"]] == ["g"] and gate["params"][0]["key"] == "arr_2"
    ops = [n["op"] for n in gate["attrs"]["expr"]["nodes"]]
    assert "theano.tensor.nnet.sigmoid" in ops and "theano.tensor.mean" in ops
    a, b = work / "a.onnx", work / "b.onnx"
    assert cli(work / "model.npz", a, "--manifest", arch, "--no-optimize").returncode == 0
    assert cli(work / "model.npz", b, "--network", f"{work / 'net.py'}:build", "--lasagne", "compat",
               "--no-optimize").returncode == 0
    import onnx

    assert onnx.load(str(a)).graph == onnx.load(str(b)).graph
    # a hand-edited manifest whose expression refers to a parameter the layer does not have
    gate["attrs"]["expr"]["inputs"][-1]["role"] = "nope"
    arch.write_text(json.dumps(manifest))
    r = cli(work / "model.npz", a, "--manifest", arch)
    assert r.returncode == 2 and "'gate'" in r.stderr and "'nope'" in r.stderr, r.stderr


@pytest.mark.parametrize("opset", [13, 18])
def test_traced_export_at_other_opsets(work, opset):
    r = cli(work / "model.npz", work / "m.onnx", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat",
            "--opset", opset)
    assert r.returncode == 0, r.stderr
