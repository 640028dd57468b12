"""Progress on the long commands (export, check, to-torch, to-keras): drawn by rich on a terminal,
absent in a pipe and under CI, forced by --progress."""
import os
import pty
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example", "model.npz")


def cli(*args, env=None, tty=False):
    env = {**os.environ, "PYTHONPATH": ROOT, **(env or {})}
    if not tty:
        return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                              cwd=ROOT, env=env)
    leader, follower = pty.openpty()  # stderr on a terminal, as an interactive user has it
    try:
        proc = subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], stdout=subprocess.PIPE,
                              stderr=follower, cwd=ROOT, env=env, timeout=300)
        os.close(follower)
        chunks = []
        while True:
            try:
                data = os.read(leader, 1 << 16)
            except OSError:  # the terminal is closed and drained
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(leader)
    proc.stderr = b"".join(chunks).decode("utf-8", "replace")
    return proc


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = tmp_path_factory.mktemp("progress") / "m.onnx"
    assert cli(EXAMPLE, path, "--no-optimize", "-q").returncode == 0
    return path


def test_export_draws_on_a_terminal_only(tmp_path):
    env = {k: "" for k in ("CI",)}
    r = cli(EXAMPLE, tmp_path / "a.onnx", env=env, tty=True)
    assert r.returncode == 0, r.stderr
    assert "converted prob" in r.stderr and "13/13" in r.stderr and "MB" in r.stderr
    r = cli(EXAMPLE, tmp_path / "b.onnx", env={"CI": "true"}, tty=True)
    assert r.returncode == 0 and "converted" not in r.stderr and "MB" not in r.stderr, r.stderr
    r = cli(EXAMPLE, tmp_path / "d.onnx", "--progress", env={"CI": "true"})  # forced, in a pipe
    assert "converted prob" in r.stderr and "writing d.onnx" in r.stderr


def test_to_torch_steps(model, tmp_path):
    r = cli("to-torch", model, "--out", tmp_path / "t", "--progress")
    assert r.returncode == 0, r.stderr
    for step in ("building the PyTorch module", "checking it against onnxruntime", "saving model.py"):
        assert step in r.stderr
    assert "3/3" in r.stderr
    r = cli("to-torch", model, "--out", tmp_path / "u")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_to_keras_nodes_then_steps(model, tmp_path):
    r = cli("to-keras", model, "--out", tmp_path / "m.keras", "--progress")
    assert r.returncode == 0, r.stderr
    assert "built prob" in r.stderr and "checking the Keras model against onnxruntime" in r.stderr
    assert "saving the .keras file" in r.stderr
    r = cli("to-keras", model, "--out", tmp_path / "n.keras")
    assert r.returncode == 0 and "built" not in r.stderr, r.stderr


def test_error_gets_a_line_of_its_own(tmp_path):
    r = cli(EXAMPLE, tmp_path / "a.onnx", "--progress", "--expect", EXAMPLE)  # no 'input' array: refused
    assert r.returncode == 2
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", r.stderr)  # (rich shows the cursor again as it stops)
    assert text.splitlines()[-1].startswith("error: ") and "needs an 'input' array" in text, text
