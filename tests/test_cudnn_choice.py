"""Build code that probes for cuDNN and falls back: built both ways; refused when the two networks
compute differently (naming the layers and ``--cudnn``), exported silently when they do not; the
choice is recorded in the manifest and the ONNX metadata; each choice matches Theano with its class.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROBE = os.path.join(ROOT, "tests", "buildfiles", "cudnn_probe.py")
WORKER = os.path.join("tests", "legacy", "cudnn_worker.py")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def capture(network, *extra, out):
    r = cli("capture", "--network", network, "--lasagne", "compat", "--out", out, *extra)
    manifest = json.loads(open(out).read()) if r.returncode == 0 else None
    return r, manifest


def write_build(tmp_path, imports, body):
    (tmp_path / "net.py").write_text(textwrap.dedent(imports) + "\n\ndef build():\n" + textwrap.indent(
        textwrap.dedent(body), "    "))
    return f"{tmp_path / 'net.py'}:build"


def error_line(r):
    assert r.returncode == 2 and "Traceback" not in r.stderr, (r.returncode, r.stdout, r.stderr)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_probe_whose_two_networks_differ_is_refused_naming_the_layers_and_the_flag(tmp_path):
    r, _ = capture(PROBE + ":build", out=tmp_path / "a.json")
    line = error_line(r)
    assert "cudnn_probe.py" in line and "lasagne.layers.dnn" in line
    assert "'conv1' (position 1: Conv2DDNNLayer with it, Conv2DLayer without; flip_filters False vs True)" in line
    assert "'conv2' (position 2: Conv2DDNNLayer with it, Conv2DLayer without; flip_filters False vs True)" in line
    assert "conv_fixed" not in line and "'prob'" not in line  # flip_filters given: the same both ways
    assert "--cudnn yes" in line and "--cudnn no" in line
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize("choice, flip", [("yes", False), ("no", True)])
def test_cudnn_flag_chooses_and_is_recorded(tmp_path, choice, flip):
    r, manifest = capture(PROBE + ":build", "--cudnn", choice, out=tmp_path / "a.json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    layers = {l["name"]: l for l in manifest["layers"]}
    assert layers["conv1"]["attrs"]["flip_filters"] is flip and layers["conv2"]["attrs"]["flip_filters"] is flip
    assert layers["conv1"]["lasagne_class"] == ("Conv2DDNNLayer" if choice == "yes" else "Conv2DLayer")
    assert layers["conv_fixed"]["attrs"]["flip_filters"] is True
    assert manifest["build"] == {"cudnn": choice}
    # the export records it in its metadata; the manifest route carries it along
    shapes = [(4, 3, 3, 3), (4,), (5, 4, 3, 2), (5,), (5, 5, 2, 2), (5,), (20, 3), (3,)]
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "m.npz", *[rng.standard_normal(s).astype(np.float32) for s in shapes])
    for arch in (["--network", PROBE + ":build", "--lasagne", "compat", "--cudnn", choice],
                 ["--manifest", tmp_path / "a.json"]):
        r = cli(tmp_path / "m.npz", tmp_path / "m.onnx", *arch, "-q")
        assert r.returncode == 0, r.stderr
        meta = {p.key: p.value for p in onnx.load(tmp_path / "m.onnx").metadata_props}
        assert meta["lasagne2onnx.cudnn"] == choice


@pytest.mark.parametrize("imports, body", [
    # BatchNormDNNLayer computes what BatchNormLayer computes
    ("""
     from lasagne.layers import InputLayer, Conv2DLayer
     try:
         from lasagne.layers.dnn import batch_norm_dnn as batch_norm
     except ImportError:
         from lasagne.layers import batch_norm
     """, """
     l = InputLayer((None, 3, 6, 6), name="input")
     return batch_norm(Conv2DLayer(l, 4, 3, name="conv"))
     """),
    # the conv is told how to flip: the class no longer matters
    ("""
     from lasagne.layers import InputLayer
     try:
         from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer, MaxPool2DDNNLayer as PoolLayer
     except ImportError:
         from lasagne.layers import Conv2DLayer as ConvLayer, MaxPool2DLayer as PoolLayer
     """, """
     l = InputLayer((None, 3, 6, 6), name="input")
     l = ConvLayer(l, 4, 3, flip_filters=False, name="conv")
     return PoolLayer(l, 2, name="pool")
     """),
    # corrmm, cuda_convnet: the same probe
    ("""
     from lasagne.layers import InputLayer
     try:
         from lasagne.layers.corrmm import Conv2DMMLayer as ConvLayer
     except ImportError:
         from lasagne.layers import Conv2DLayer as ConvLayer
     """, """
     return ConvLayer(InputLayer((None, 3, 6, 6), name="input"), 4, 3, flip_filters=True, name="conv")
     """),
])
def test_probe_whose_two_networks_compute_the_same_passes_silently(tmp_path, imports, body):
    r, manifest = capture(write_build(tmp_path, imports, body), out=tmp_path / "a.json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert manifest["build"] == {"cudnn": "either"}


def test_other_gpu_modules_are_probed_too(tmp_path):
    network = write_build(tmp_path, """
        from lasagne.layers import InputLayer
        try:
            from lasagne.layers.cuda_convnet import Conv2DCCLayer as ConvLayer
        except ImportError:
            from lasagne.layers import Conv2DLayer as ConvLayer
        """, """
        return ConvLayer(InputLayer((None, 4, 6, 6), name="input"), 16, 3, name="conv")
        """)
    line = error_line(capture(network, out=tmp_path / "a.json")[0])  # the two builds compute differently
    assert "the build code probes for lasagne.layers.cuda_convnet" in line and "Conv2DCCLayer" in line, line
    assert line.endswith("--cudnn yes (with cuDNN) or --cudnn no (without, e.g. on a CPU)"), line
    r, manifest = capture(network, "--cudnn", "no", out=tmp_path / "a.json")
    assert r.returncode == 0 and manifest["build"] == {"cudnn": "no"}, r.stderr


def test_build_code_that_needs_cudnn_is_recorded_and_cannot_be_built_without(tmp_path):
    network = write_build(tmp_path, "from lasagne.layers import InputLayer\nfrom lasagne.layers.dnn import "
                                    "Conv2DDNNLayer\n", """
        return Conv2DDNNLayer(InputLayer((None, 3, 6, 6), name="input"), 4, 3, name="conv")
        """)
    r, manifest = capture(network, out=tmp_path / "a.json")
    assert r.returncode == 0 and r.stderr == "" and manifest["build"] == {"cudnn": "yes"}, r.stderr
    line = error_line(capture(network, "--cudnn", "no", out=tmp_path / "b.json")[0])
    assert "ImportError" in line and "lasagne.layers.dnn" in line and "net.py:2" in line


def test_build_code_without_a_probe_records_nothing(tmp_path):
    network = write_build(tmp_path, "from lasagne.layers import InputLayer, Conv2DLayer\n", """
        return Conv2DLayer(InputLayer((None, 3, 6, 6), name="input"), 4, 3, name="conv")
        """)
    for extra in ([], ["--cudnn", "no"]):
        r, manifest = capture(network, *extra, out=tmp_path / "a.json")
        assert r.returncode == 0 and "build" not in manifest, (r.stderr, manifest)


# -- against Theano ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def theano_references():
    from tests.reference import ensure_references

    return ensure_references(["cudnn_probe_yes", "cudnn_probe_no"], worker=WORKER,
                             hashed_extra=["tests/buildfiles/cudnn_probe.py"])


def test_each_choice_matches_theano_with_its_class(tmp_path, theano_references):
    d = theano_references
    for name in ("cudnn_probe_yes", "cudnn_probe_no"):
        assert not os.path.exists(os.path.join(d, name + ".error")), open(os.path.join(d, name + ".error")).read()
    yes, no = (np.load(os.path.join(d, f"cudnn_probe_{c}.npz")) for c in ("yes", "no"))
    assert yes.files == no.files and all(np.array_equal(yes[k], no[k]) for k in yes.files)  # the same weights
    classes = {c: json.load(open(os.path.join(d, f"cudnn_probe_{c}.json")))["classes"]["conv1"] for c in ("yes", "no")}
    assert classes == {"yes": "Conv2DDNNLayer", "no": "Conv2DLayer"}  # Theano built each with its class
    weights = os.path.join(d, "cudnn_probe_yes.npz")
    for choice in ("yes", "no"):
        out = tmp_path / f"{choice}.onnx"
        r = cli(weights, out, "--network", PROBE + ":build", "--lasagne", "compat", "--cudnn", choice,
                "--no-optimize", "-q")
        assert r.returncode == 0, r.stderr
        for reference in ("yes", "no"):  # every layer matches the Theano network of its own choice only
            r = cli("check", out, "--reference", os.path.join(d, f"cudnn_probe_{reference}.io.npz"))
            if reference == choice:
                assert r.returncode == 0 and "OK: all 5 compared layers match" in r.stdout, r.stdout + r.stderr
            else:
                assert r.returncode == 1 and "first divergence at layer 'conv1'" in r.stdout, r.stdout + r.stderr


def test_check_builds_the_theano_reference_the_way_the_export_chose(tmp_path):
    """``check --reference-python``: the old environment builds the network as the export recorded
    (here PyPI's Lasagne 0.1 on a CPU, where lasagne.layers.dnn does not import: --cudnn yes computes
    the cuDNN network with the reference run's CPU stand-in)."""
    from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

    weights = tmp_path / "model.npz"
    rng = np.random.default_rng(3)
    np.savez(weights, *[rng.standard_normal(s).astype(np.float32) for s in
                        [(4, 3, 3, 3), (4,), (5, 4, 3, 2), (5,), (45, 3), (3,)]])
    network = PROBE + ":build_lasagne01"
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    for choice in ("no", "yes"):
        out = tmp_path / f"{choice}.onnx"
        assert cli(weights, out, "--network", network, "--lasagne", "compat", "--cudnn", choice,
                   "--no-optimize", "-q").returncode == 0
        r = subprocess.run([sys.executable, "-m", "exporter", "check", str(out), "--against", weights, "--network",
                            network, "--reference-python", LEGACY_PYTHON], capture_output=True, text=True,
                           cwd=ROOT, env=env)
        assert r.returncode == 0 and "OK: all 4 compared layers match" in r.stdout, r.stdout + r.stderr
        if choice == "no":
            assert "Conv2DLayer" in r.stdout and "stand-in" not in r.stdout, r.stdout
        else:  # that Theano cannot import the cuDNN module: the cuDNN network on its CPU stand-in, said so
            assert "Conv2DDNNLayer" in r.stdout and "Conv2DLayer " not in r.stdout, r.stdout
            assert "lasagne.layers.dnn did not import there for lack of a GPU" in r.stdout.splitlines()[0], r.stdout
