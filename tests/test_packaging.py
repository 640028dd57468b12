"""Packaging: the installed ``lasagne2onnx`` script behaves as ``python -m exporter``; a missing optional
dependency is one line naming the extra; models carry the producer version and a doc string."""
import os
import subprocess
import sys

import onnx
import pytest

import exporter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example", "model.npz")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=kw.pop("cwd", ROOT), **kw)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``pip install .`` (no dependencies: they are this environment's) into a folder of its own."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    r = run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
             str(target), ROOT], env={**os.environ, "TMPDIR": str(build)})
    assert r.returncode == 0, r.stderr[-3000:]
    script = target / "bin" / "lasagne2onnx"
    assert script.exists()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    return target, script, env


def test_installed_script_is_the_cli(installed, tmp_path):
    target, script, env = installed
    assert os.path.exists(target / "exporter" / "compat" / "lasagne" / "layers")  # the Theano-free API
    assert os.path.exists(target / "passes" / "explicit_pads.py")
    r = run([str(script), "--help"], env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("usage: lasagne2onnx MODEL.npz OUT.onnx"), r.stdout
    assert "run 'lasagne2onnx COMMAND --help'" in r.stdout
    r = run([str(script), "to-torch", "--help"], env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.startswith("usage: lasagne2onnx to-torch"), r.stdout
    r = run([str(script), "--version"], env=env, cwd=tmp_path)
    assert r.stdout.strip() == f"lasagne2onnx {exporter.__version__}"
    module = run([sys.executable, "-m", "exporter", "--help"], env=env, cwd=tmp_path)
    assert module.stdout.replace("python -m exporter", "lasagne2onnx") == \
        run([str(script), "--help"], env=env, cwd=tmp_path).stdout
    # errors: the same line, the same status
    for args in (["missing.npz", "out.onnx"], [EXAMPLE, "out.onnx", "--opset", "x"]):
        by_script = run([str(script), *args], env=env, cwd=tmp_path)
        by_module = run([sys.executable, "-m", "exporter", *args], env=env, cwd=tmp_path)
        assert by_script.returncode == by_module.returncode == 2
        # (argparse wraps its usage lines by the program name's length: the error line is compared)
        assert by_script.stderr.splitlines()[-1] == \
            by_module.stderr.splitlines()[-1].replace("python -m exporter", "lasagne2onnx")
        assert by_script.stderr.startswith("usage: lasagne2onnx") or by_script.stderr.startswith("error: ")
    assert not os.path.exists(tmp_path / "out.onnx")
    r = run([str(script), EXAMPLE, str(tmp_path / "out.onnx"), "-q"], env=env, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "", r.stderr
    assert onnx.load(tmp_path / "out.onnx").producer_version == exporter.__version__


@pytest.mark.parametrize("command, blocked, extra", [
    ("to-torch", "torch", "torch"), ("to-keras", "keras", "keras"), ("to-keras", "torch", "keras")])
def test_missing_optional_dependency_names_the_extra(tmp_path, command, blocked, extra):
    model = tmp_path / "m.onnx"
    assert run([sys.executable, "-m", "exporter", EXAMPLE, str(model), "-q"]).returncode == 0
    out = tmp_path / ("out" if command == "to-torch" else "out.keras")
    code = (f"import sys; sys.modules[{blocked!r}] = None  # as if not installed\n"
            "from exporter.cli import main; sys.exit(main(sys.argv[1:]))")
    r = run([sys.executable, "-c", code, command, str(model), "--out", str(out)],
            env={**os.environ, "PYTHONPATH": ROOT})
    name = {"torch": "PyTorch (torch)", "keras": "Keras 3 (keras)"}[blocked]
    assert r.returncode == 2
    assert r.stderr == f"error: {command} needs {name}, which is not installed: pip install lasagne2onnx[{extra}]\n"
    assert not os.path.exists(out)


def test_model_names_its_producer(tmp_path):
    model, _ = exporter.export(None, EXAMPLE, check=False)
    assert model.producer_name == "lasagne2onnx" and model.producer_version == exporter.__version__
    assert model.doc_string.startswith("Exported from Lasagne (") and exporter.__version__ in model.doc_string
