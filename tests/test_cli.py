"""The command line as a user runs it (subprocesses of ``python -m exporter``)."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx

from exporter.compare import layer_value_map

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example")


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_readme_example_exports_and_matches_theano_reference(tmp_path):
    out = tmp_path / "example.onnx"
    r = cli(os.path.join(EXAMPLE, "model.npz"), out, "--expect", os.path.join(EXAMPLE, "reference.npz"))
    assert r.returncode == 0, r.stderr
    assert "matches" in r.stdout and "checked in onnxruntime" in r.stdout
    model = onnx.load(str(out))
    assert [o.name for o in model.graph.output] == ["prob"]
    assert {"conv1", "conv1_bn", "conv1_bn_nonlin", "pool2", "fc", "prob"} <= set(layer_value_map(model))
    ops = {n.op_type for n in model.graph.node}
    assert {"Conv", "Relu", "MaxPool", "Gemm", "Softmax"} <= ops  # BN is folded into Conv (see test_optimize)
    assert "Dropout" not in ops and "Identity" not in ops


def test_expect_fails_on_a_wrong_reference(tmp_path):
    ref = dict(np.load(os.path.join(EXAMPLE, "reference.npz")))
    ref["output"] = ref["output"] + 1e-3
    np.savez(tmp_path / "wrong.npz", **ref)
    r = cli(os.path.join(EXAMPLE, "model.npz"), tmp_path / "x.onnx", "--expect", tmp_path / "wrong.npz")
    assert r.returncode == 2 and "DIFFERS" in r.stdout and r.stderr.startswith("error: exported model differs")


def test_weights_without_architecture_ask_for_one(tmp_path):
    weights = dict(np.load(os.path.join(EXAMPLE, "model.npz")))
    weights = {k: v for k, v in weights.items() if k.startswith("arr_")}
    np.savez(tmp_path / "bare.npz", *[weights[f"arr_{i}"] for i in range(len(weights))])
    r = cli(tmp_path / "bare.npz", tmp_path / "out.onnx")
    assert r.returncode == 2 and "--network" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out.onnx").exists()


def test_help_lists_commands():
    r = cli("--help")
    assert r.returncode == 0 and "to-torch" in r.stdout and "capture" in r.stdout


def test_progress_is_shown_on_request_and_quiet_otherwise(tmp_path):
    """Layers converted and bytes written are drawn on a terminal (forced here with --progress);
    a pipe (CI, logs) gets no progress lines."""
    model = os.path.join(EXAMPLE, "model.npz")
    r = cli(model, tmp_path / "a.onnx", "--progress")
    assert r.returncode == 0, r.stderr
    assert "converted prob" in r.stderr
    assert "writing a.onnx" in r.stderr and "MB" in r.stderr
    r = cli(model, tmp_path / "b.onnx")
    assert r.returncode == 0 and "converted" not in r.stderr and "MB" not in r.stderr


def test_output_file_gets_the_usual_permissions(tmp_path):
    r = cli(os.path.join(EXAMPLE, "model.npz"), tmp_path / "a.onnx", "-q")
    assert r.returncode == 0, r.stderr
    mask = os.umask(0o022)
    os.umask(mask)
    assert os.stat(tmp_path / "a.onnx").st_mode & 0o777 == 0o666 & ~mask


def test_network_file_inside_a_package_may_use_relative_imports(tmp_path):
    """Build code split over a package (like models/zoo/vgg16.py importing ._vgg) loads by path."""
    r = cli("capture", "--network", "models/zoo/googlenet.py:build_model", "--lasagne", "compat",
            "--out", tmp_path / "googlenet.json")
    assert r.returncode == 0, r.stderr
    assert "85 layers" in r.stdout
    pkg = tmp_path / "mynets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_blocks.py").write_text("from lasagne.layers import DenseLayer\n\ndef head(net):\n"
                                    "    return DenseLayer(net, 3, name='head')\n")
    (pkg / "net.py").write_text("from lasagne.layers import InputLayer\nfrom ._blocks import head\n\n"
                                "def build():\n    return head(InputLayer((None, 5), name='x'))\n")
    r = cli("capture", "--network", f"{pkg / 'net.py'}:build", "--lasagne", "compat", "--out", tmp_path / "n.json")
    assert r.returncode == 0, r.stderr
    assert '"head"' in (tmp_path / "n.json").read_text()


def _example_arrays():
    with np.load(os.path.join(EXAMPLE, "model.npz")) as z:
        return [z[f"arr_{i}"] for i in range(len(z.files))]


def test_embedded_manifest_keeps_the_npz_loadable_the_lasagne_way(tmp_path):
    """--embed-manifest stores the architecture in the zip comment: np.load and Lasagne's usual
    ``[f['arr_%d' % i] for i in range(len(f.files))]`` still see exactly the parameters."""
    from exporter.weights import load_npz

    arrays = _example_arrays()
    np.savez(tmp_path / "model.npz", *arrays)
    network = os.path.join(EXAMPLE, "build.py") + ":build_model"
    r = cli(tmp_path / "model.npz", tmp_path / "a.onnx", "--network", network, "--embed-manifest", "-q")
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "model.npz") as f:
        assert f.files == [f"arr_{i}" for i in range(len(arrays))]
        loaded = [f["arr_%d" % i] for i in range(len(f.files))]
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(loaded, arrays))
    r = cli(tmp_path / "model.npz", tmp_path / "b.onnx", "--expect", os.path.join(EXAMPLE, "reference.npz"))
    assert r.returncode == 0 and "matches" in r.stdout, r.stderr  # no --network needed any more
    # a different build (here: a fixed batch of 3) replaces the embedded manifest
    r = cli(tmp_path / "model.npz", tmp_path / "c.onnx", "--network", network, "--input-shape", "3,1,28,28",
            "--embed-manifest", "-q")
    assert r.returncode == 0, r.stderr
    manifest = json.loads(load_npz(tmp_path / "model.npz")[1])
    assert manifest["layers"][0]["output_shape"] == [3, 1, 28, 28]


def test_manifest_embedded_as_an_array_by_earlier_versions_still_works(tmp_path):
    from exporter.frontends.network_file import capture_network
    from exporter.weights import MANIFEST_KEY

    graph = capture_network(os.path.join(EXAMPLE, "build.py") + ":build_model", "compat")
    member = np.frombuffer(graph.to_json().encode(), np.uint8)
    np.savez(tmp_path / "old.npz", *_example_arrays(), **{MANIFEST_KEY: member})
    r = cli(tmp_path / "old.npz", tmp_path / "a.onnx", "--expect", os.path.join(EXAMPLE, "reference.npz"))
    assert r.returncode == 0 and "matches" in r.stdout, r.stderr
