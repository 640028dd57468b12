"""The output file under adverse conditions: an output path that is one of the inputs, SIGTERM, a
failing disk, out of memory, absurd check inputs, the switch to external data and a stale
external-data companion.  Networks are built by the Theano-free Lasagne API (``--lasagne compat``).
"""
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import onnxruntime
import pytest

from exporter import cli, model_io

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BUILD = textwrap.dedent('''
    from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer


    def build():
        l = InputLayer((None, 3, 8, 8), name="input")
        l = Conv2DLayer(l, 4, 3, pad="same", name="conv")
        return DenseLayer(l, 5, name="fc")


    def build_wide():  # 400 kB of weights
        return DenseLayer(InputLayer((None, 1000), name="input"), 100, name="fc")
''')
SHAPES = {"build": [(4, 3, 3, 3), (4,), (256, 5), (5,)], "build_wide": [(1000, 100), (100,)]}


@pytest.fixture
def work(tmp_path):
    (tmp_path / "net.py").write_text(BUILD)
    rng = np.random.default_rng(0)
    for fn, shapes in SHAPES.items():
        np.savez(tmp_path / f"{fn}.npz", *[rng.standard_normal(s).astype(np.float32) for s in shapes])
    (tmp_path / "out").mkdir()
    return tmp_path


def export_args(work, *extra, fn="build", output=None):
    return [str(work / f"{fn}.npz"), str(output or work / "out" / "m.onnx"),
            "--network", f"{work / 'net.py'}:{fn}", "--lasagne", "compat", *map(str, extra)]


def cli_run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, **kwargs)


def error_line(r, status=2):
    assert r.returncode == status, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, r.stderr
    return lines[0]


def ort_outputs(path, x):
    sess = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})


# -- an output that is one of the inputs ---------------------------------------------------------------
@pytest.mark.parametrize("which", ["weights", "build file", "manifest", "expect", "companion"])
def test_export_output_that_is_an_input_is_refused(work, which):
    w, net = work / "build.npz", work / "net.py"
    network = ["--network", f"{net}:build", "--lasagne", "compat"]
    (work / "arch.json").write_text("{}")
    (work / "ref.npz").write_bytes(b"reference")
    (work / "m.onnx.data").write_bytes(w.read_bytes())
    victim, args = {  # the output is spelled differently from the input where that is possible
        "weights": (w, [w, work / "out" / ".." / "build.npz", *network]),
        "build file": (net, [w, work / "out" / ".." / "net.py", *network]),
        "manifest": (work / "arch.json", [w, work / "arch.json", "--manifest", work / "out" / ".." / "arch.json"]),
        "expect": (work / "ref.npz", [w, work / "ref.npz", *network, "--expect", "ref.npz"]),
        "companion": (work / "m.onnx.data", [work / "m.onnx.data", work / "m.onnx", *network]),  # OUT.onnx.data
    }[which]
    before = victim.read_bytes()
    r = subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True, cwd=work,
                       env={**os.environ, "PYTHONPATH": ROOT})
    line = error_line(r)
    assert line.startswith("error: ") and "would overwrite" in line, line
    assert victim.read_bytes() == before
    assert not (work / "m.onnx").exists() and os.listdir(work / "out") == []


def test_importer_and_check_outputs_that_are_inputs_are_refused(work):
    model = work / "model.py"  # an (oddly named) ONNX model: to-torch --out DIR writes DIR/model.py
    model.write_bytes(b"not really onnx")
    for args in (["to-torch", model, "--out", work],
                 ["to-keras", work / "m.keras", "--out", work / "out" / ".." / "m.keras"],
                 ["check", model, "--reference-python", sys.executable, "--against", work / "build.npz",
                  "--network", f"{work / 'net.py'}:build", "--save-reference", work / "build.npz"],
                 ["check", model, "--reference-python", sys.executable, "--against", work / "build.npz",
                  "--network", f"{work / 'net.py'}:build", "--save-reference", model]):
        before = {p: p.read_bytes() for p in work.iterdir() if p.is_file()}
        line = error_line(cli_run(*args))
        assert "would overwrite" in line, (args, line)
        assert {p: p.read_bytes() for p in work.iterdir() if p.is_file()} == before


# -- signals and progress ----------------------------------------------------------------------------------
SLOW_EXPORT = textwrap.dedent('''
    import sys, time
    from exporter import cli, model_io

    write = model_io._write_array

    def slow_write(*args, **kwargs):  # the weights are being written when the signal comes
        write(*args, **kwargs)
        print("writing", flush=True)
        time.sleep(60)

    model_io._write_array = slow_write
    sys.exit(cli.main(sys.argv[1:]))
''')


def test_sigterm_during_an_export_leaves_nothing_behind(work):
    (work / "slow.py").write_text(SLOW_EXPORT)
    p = subprocess.Popen([sys.executable, str(work / "slow.py"), *export_args(work)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = next((l for l in p.stdout if l == "writing\n"), "")  # "" when the export ended first
        assert line == "writing\n", p.communicate()
        assert os.listdir(work / "out"), "the export should be staged in out/ by now"
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == 143 and err.strip() == "terminated", (p.returncode, err)
    assert os.listdir(work / "out") == []


def test_interrupted_starts_its_own_line_after_a_progress_line(work, monkeypatch, capsys):
    from exporter.commands import export

    def interrupted_run(args):
        cli.progress_printer(True)(1, 3, "conv")
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "run", interrupted_run)
    handler = signal.getsignal(signal.SIGTERM)
    assert cli.main(export_args(work)) == 130
    assert signal.getsignal(signal.SIGTERM) is handler  # main() puts back the SIGTERM handler it found
    err = capsys.readouterr().err
    # the progress display is rich's (issue 13): its terminal escapes stripped, the bar was drawn and the
    # message follows it on a line of its own (the escape left is rich showing the cursor again)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", err)
    assert text.startswith("converted conv") and "1/3" in text and text.endswith("\ninterrupted\n"), repr(err)
    assert text.splitlines()[-1] == "interrupted"


# -- failing disk, memory --------------------------------------------------------------------------------
@pytest.mark.parametrize("external", ["never", "always"])
def test_write_failure_names_the_output_path_not_the_staging_one(work, external):
    """``ulimit -f``: the file system refuses the write (EFBIG); the message names out/m.onnx[.data]."""
    import resource

    def limit_file_size():
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    out = os.path.join("out", "m.onnx")
    args = [sys.executable, "-m", "exporter", *export_args(work, "--external-data", external, fn="build_wide",
                                                           output=out)]
    args[args.index(str(work / "build_wide.npz"))] = "build_wide.npz"
    r = subprocess.run(args, capture_output=True, text=True, cwd=work, preexec_fn=limit_file_size,
                       env={**os.environ, "PYTHONPATH": ROOT})
    line = error_line(r)
    target = out + (".data" if external == "always" else "")
    assert line == f"error: {target}: cannot write the output (File too large)", line
    assert os.listdir(work / "out") == []


def test_out_of_memory_is_one_line_and_leaves_nothing(work, monkeypatch, capsys):
    from exporter import validate

    def greedy_inputs(*args, **kwargs):
        return {"input": np.empty(1 << 62, dtype=np.uint8)}  # 4 EiB: numpy raises MemoryError

    monkeypatch.setattr(validate, "random_inputs", greedy_inputs)
    assert cli.main(export_args(work, "--no-optimize")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory: ") and "EiB" in err and err.count("\n") == 1, err
    assert os.listdir(work / "out") == []


def test_absurd_random_check_inputs_are_refused_before_allocating(work):
    r = cli_run(*export_args(work, "--input-shape", "input=100000000,3,8,8"))
    line = error_line(r)
    assert "GiB" in line and "--input-shape" in line and "--no-check" in line, line
    assert os.listdir(work / "out") == []


def test_random_inputs_are_drawn_in_float32(monkeypatch):
    """No float64 draw then cast: the peak is about the float32 arrays themselves."""
    import tracemalloc
    from types import SimpleNamespace

    from exporter.validate import random_inputs

    session = SimpleNamespace(get_inputs=lambda: [SimpleNamespace(name="x", shape=["N", 1000, 1000])])
    tracemalloc.start()
    try:
        feeds = random_inputs(session)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert feeds["x"].dtype == np.float32 and feeds["x"].shape == (2, 1000, 1000)
    assert peak < 1.5 * feeds["x"].nbytes, (peak, feeds["x"].nbytes)


# -- external data --------------------------------------------------------------------------------------
def test_export_switches_to_external_data_above_the_threshold(work, monkeypatch):
    single, split = work / "out" / "single.onnx", work / "out" / "split.onnx"
    assert cli.main(export_args(work, "-q", output=single)) == 0
    monkeypatch.setattr(model_io, "EXTERNAL_DATA_THRESHOLD", 1000)  # the test weights are about 5 kB
    assert cli.main(export_args(work, "-q", output=split)) == 0
    assert sorted(os.listdir(work / "out")) == ["single.onnx", "split.onnx", "split.onnx.data"]
    model = onnx.load(str(split), load_external_data=False)
    assert any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    for a, b in zip(ort_outputs(single, x), ort_outputs(split, x)):
        np.testing.assert_array_equal(a, b)


def test_a_stale_external_data_companion_is_removed(work):
    out = work / "out" / "m.onnx"
    assert cli.main(export_args(work, "-q", "--external-data", "always", output=out)) == 0
    assert (work / "out" / "m.onnx.data").exists()
    (work / "out" / "m.onnx.data.bak").write_bytes(b"not a companion")
    assert cli.main(export_args(work, "-q", output=out)) == 0
    assert sorted(os.listdir(work / "out")) == ["m.onnx", "m.onnx.data.bak"]
    x = np.random.default_rng(1).standard_normal((2, 3, 8, 8)).astype(np.float32)
    assert ort_outputs(out, x)[0].shape == (2, 5)
