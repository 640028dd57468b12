"""Bad input through the real command line: one clear line on stderr, exit status 2, no traceback,
and no output file (nor a temporary one) left behind.

Every network here is built by the Theano-free Lasagne API (``--lasagne compat``), so these tests
need no Theano.
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

BUILD = textwrap.dedent('''
    import lasagne
    import theano
    from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer, Layer, MaxPool2DLayer
    from theano.sandbox.rng_mrg import MRG_RandomStreams


    def build():
        l = InputLayer((None, 3, 8, 8), name="input")
        l = Conv2DLayer(l, 4, 3, pad="same", name="conv")
        l = MaxPool2DLayer(l, 2, name="pool")
        return DenseLayer(l, 5, name="fc")


    class Doubler(Layer):
        def get_output_for(self, input, **kwargs):
            return input * 2


    def build_custom():
        l = InputLayer((None, 4), name="input")
        l = DenseLayer(l, 3, name="fc")
        return Doubler(l, name="double")


    class MyDense(DenseLayer):  # a subclass of a known layer may compute something else
        pass


    def build_subclass():
        return MyDense(InputLayer((None, 4), name="input"), 3, name="mine")


    class NoisyLayer(Layer):  # random sampling on the deterministic path
        def get_output_for(self, input, **kwargs):
            return input + MRG_RandomStreams(1).normal(input.shape)  # sampling here


    class BranchyLayer(Layer):  # Python control flow on a symbolic value
        def get_output_for(self, input, **kwargs):
            if input > 0:  # branching here
                return input
            return -input


    class LoopLayer(Layer):  # a symbolic loop that stops on a condition
        def get_output_for(self, input, **kwargs):
            out, _ = theano.scan(lambda x: (x * 2, theano.scan_module.until(x.sum() > 0)), sequences=input)  # scan here
            return out


    class NoOutputLayer(Layer):
        pass


    def build_refused(cls):
        return cls(DenseLayer(InputLayer((None, 4), name="input"), 3, name="fc"), name="custom")


    def build_noisy():
        return build_refused(NoisyLayer)


    def build_branchy():
        return build_refused(BranchyLayer)


    def build_loop():
        return build_refused(LoopLayer)


    def build_no_output():
        return build_refused(NoOutputLayer)


    def build_raises():
        raise RuntimeError("kaboom while building")


    def build_unknown_dims():
        l = InputLayer((None, 3, None, None), name="input")
        return DenseLayer(l, 5, name="fc")


    def build_fully_convolutional():
        l = InputLayer((None, 3, None, None), name="input")
        return Conv2DLayer(l, 2, 3, name="conv")


    not_a_function = 3
''')

# parameter shapes of build() in get_all_params order: conv.W, conv.b, fc.W, fc.b
SHAPES = [(4, 3, 3, 3), (4,), (64, 5), (5,)]


def arrays(shapes=SHAPES, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "net.py").write_text(BUILD)
    np.savez(tmp_path / "model.npz", *arrays())
    out = tmp_path / "out"
    out.mkdir()
    return tmp_path


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def export(work, npz, *extra, network="build", output=None):
    output = output or work / "out" / "model.onnx"
    args = [npz, output, *extra]
    if network:
        args += ["--network", f"{work / 'net.py'}:{network}", "--lasagne", "compat"]
    return cli(*args), output


def assert_refused(result, output, *words):
    """Exit 2 with exactly one 'error:' line on stderr containing ``words``; nothing written."""
    r = result
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for w in words:
        assert w in lines[0], f"{w!r} not in {lines[0]!r}"
    output = str(output)
    assert not os.path.exists(output)
    assert not os.path.exists(output + ".data")
    directory = os.path.dirname(output)
    if os.path.isdir(directory):
        assert os.listdir(directory) == [], "temporary files left: " + ", ".join(os.listdir(directory))
    return lines[0]


# -- the weights file ---------------------------------------------------------------------------------
def test_missing_weights_file(work):
    r, out = export(work, work / "nope.npz")
    assert_refused(r, out, "nope.npz", "not found")


def test_weights_file_not_a_zip(work):
    (work / "text.npz").write_bytes(b"these are not the weights you are looking for\n" * 20)
    r, out = export(work, work / "text.npz")
    assert_refused(r, out, "text.npz", "not an .npz")


def test_truncated_npz(work):
    data = (work / "model.npz").read_bytes()
    (work / "half.npz").write_bytes(data[:len(data) // 2])
    r, out = export(work, work / "half.npz")
    assert_refused(r, out, "half.npz", "truncated")


def test_npz_member_truncated_inside_a_valid_zip(work):
    """A zip whose directory is intact but whose array data is short (stored, so the CRC is the last line)."""
    import zipfile

    a = arrays()
    with zipfile.ZipFile(work / "short.npz", "w") as zf:
        for i, arr in enumerate(a):
            with zf.open(f"arr_{i}.npy", "w") as f:
                np.lib.format.write_array(f, arr)
    raw = bytearray((work / "short.npz").read_bytes())
    with zipfile.ZipFile(work / "short.npz") as zf:
        info = zf.getinfo("arr_2.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
    raw[start:start + 8] = b"\xff" * 8  # corrupt the payload: the CRC check must catch it
    (work / "short.npz").write_bytes(bytes(raw))
    r, out = export(work, work / "short.npz")
    assert_refused(r, out, "short.npz")


def test_pickled_object_array_is_refused(work):
    a = arrays()
    a[1] = np.array([float(x) for x in a[1]], dtype=object)  # numeric, but stored as a pickle
    np.savez(work / "pickled.npz", *a)
    r, out = export(work, work / "pickled.npz")
    assert_refused(r, out, "pickled.npz", "arr_1", "pickle", "--trust-pickle")


def test_pickled_numeric_array_is_accepted_with_trust_pickle(work):
    a = arrays()
    a[1] = np.array([float(x) for x in a[1]], dtype=object)
    np.savez(work / "pickled.npz", *a)
    r, out = export(work, work / "pickled.npz", "--trust-pickle")
    assert r.returncode == 0, r.stderr
    assert out.exists()


def test_pickled_non_numeric_array_is_refused_even_with_trust_pickle(work):
    a = arrays()
    a[1] = np.array([{"a": 1}, "two", 3, 4], dtype=object)
    np.savez(work / "objects.npz", *a)
    r, out = export(work, work / "objects.npz", "--trust-pickle")
    assert_refused(r, out, "objects.npz", "arr_1", "not numeric")


@pytest.mark.parametrize("count", [3, 5])
def test_wrong_number_of_arrays(work, count):
    a = arrays()
    a = a[:count] if count < len(a) else a + [np.zeros(2, np.float32)] * (count - len(a))
    np.savez(work / "count.npz", *a)
    r, out = export(work, work / "count.npz")
    assert_refused(r, out, "count.npz", f"holds {count} arrays", "4 parameters")


def test_array_shape_does_not_match_its_layer(work):
    a = arrays(SHAPES[:2] + [(60, 5)] + SHAPES[3:])
    np.savez(work / "shape.npz", *a)
    r, out = export(work, work / "shape.npz")
    assert_refused(r, out, "shape.npz", "arr_2", "(60, 5)", "'fc'", "'W'", "(64, 5)")


def test_nan_and_inf_weights_warn_but_export(work):
    a = arrays()
    a[2][0, 0] = np.nan
    a[3][1] = np.inf
    np.savez(work / "nan.npz", *a)
    r, out = export(work, work / "nan.npz")
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and "error" not in r.stderr
    warnings = [l for l in r.stderr.splitlines() if l.startswith("warning:")]
    assert any("arr_2" in l and "fc.W" in l and "NaN" in l for l in warnings), r.stderr
    assert any("arr_3" in l and "fc.b" in l for l in warnings), r.stderr
    assert out.exists()


def test_float64_beyond_float32_and_extra_arrays_are_named_in_warnings(work):
    a = [x.astype(np.float64) for x in arrays()]
    a[3][0] = 1e300  # Inf once narrowed to float32
    np.savez(work / "f64.npz", *a, notes=np.zeros(2))
    r, out = export(work, work / "f64.npz")
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert all(l.startswith("warning: ") for l in lines), r.stderr  # no bare numpy warning
    assert any("arr_3" in l and "fc.b" in l and "float32's range" in l for l in lines), r.stderr
    assert any("ignoring 'notes'" in l for l in lines), r.stderr
    assert out.exists()


# -- the architecture ---------------------------------------------------------------------------------
def test_custom_layer_is_traced(work):
    """Issue 10: a layer of the user's is captured by tracing its get_output_for (it was refused)."""
    np.savez(work / "m.npz", *arrays([(4, 3), (3,)]))
    r, out = export(work, work / "m.npz", network="build_custom")
    assert r.returncode == 0, r.stderr
    assert "traced custom computation in 1 layer: 'double' (Doubler.get_output_for (net.py))" in r.stdout
    assert json.loads(onnx_meta(out)["lasagne2onnx.traced"]) == {"double": "Doubler.get_output_for (net.py)"}


def test_subclass_of_a_known_layer_is_traced(work):
    """A subclass of a Lasagne class is traced, not trusted by its name (it was refused)."""
    np.savez(work / "m.npz", *arrays([(4, 3), (3,)]))
    r, out = export(work, work / "m.npz", network="build_subclass")
    assert r.returncode == 0, r.stderr
    assert "'mine' (DenseLayer.get_output_for (Lasagne))" in r.stdout


def _line(marker):
    return next(i for i, line in enumerate(BUILD.splitlines(), 1) if marker in line)


@pytest.mark.parametrize("network,words", [
    ("build_noisy", ("random sampling", "theano.sandbox.rng_mrg.MRG_RandomStreams.normal", "net.py:{sampling here}")),
    ("build_branchy", ("Python control flow on a symbolic value", "theano.tensor.gt", "net.py:{branching here}")),
    ("build_loop", ("theano.scan", "not traced", "until (a loop that stops on a condition)", "net.py:{scan here}")),
    ("build_no_output", ("implements no get_output_for",)),
])
def test_untraceable_custom_layer_is_refused(work, network, words):
    """Refusals name the layer, the op and the user's line: never a silent approximation."""
    np.savez(work / "m.npz", *arrays([(4, 3), (3,)]))
    r, out = export(work, work / "m.npz", network=network)
    words = [w.split("{")[0] + str(_line(w.split("{")[1][:-1])) if "{" in w else w for w in words]
    assert_refused(r, out, "unsupported layer 'custom' (class", "position 2", *words)


def onnx_meta(path):
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_build_function_raises(work):
    r, out = export(work, work / "model.npz", network="build_raises")
    assert_refused(r, out, "net.py", "build_raises", "RuntimeError", "kaboom while building")


def test_build_file_missing(work):
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--network", f"{work / 'nope.py'}:build",
                 "--lasagne", "compat"), work / "out" / "m.onnx"
    assert_refused(r, out, "nope.py", "not found")


@pytest.mark.parametrize("fn", ["no_such_function", "not_a_function"])
def test_build_function_missing(work, fn):
    r, out = export(work, work / "model.npz", network=fn)
    assert_refused(r, out, "net.py", repr(fn))


def test_network_spec_without_function(work):
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--network", str(work / "net.py")), work / "out" / "m.onnx"
    assert_refused(r, out, "FILE.py:FUNCTION")


def test_build_file_that_fails_to_import(work):
    (work / "broken.py").write_text("import lasagne\ndef build(:\n")
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--network", f"{work / 'broken.py'}:build",
                 "--lasagne", "compat"), work / "out" / "m.onnx"
    assert_refused(r, out, "broken.py", "SyntaxError")


def test_unknown_input_dimensions_where_needed(work):
    np.savez(work / "m.npz", *arrays([(48, 5), (5,)]))
    r, out = export(work, work / "m.npz", network="build_unknown_dims")
    assert_refused(r, out, "build_unknown_dims", "DenseLayer", "'input'", "unknown dimensions", "--input-shape")


def test_input_shape_option_fixes_unknown_dimensions(work):
    np.savez(work / "m.npz", *arrays([(48, 5), (5,)]))
    r, out = export(work, work / "m.npz", "--input-shape", "input=2,3,4,4", network="build_unknown_dims")
    assert r.returncode == 0, r.stderr
    assert out.exists()


@pytest.mark.parametrize("value, words", [
    ("input=2,3,5,5,5", ["does not fit", "(None, 3, 8, 8)"]),
    ("input=2,4,8,8", ["does not fit"]),
    ("other=2,3,8,8", ["no input layer named 'other'"]),
    ("input=2,x,8,8", ["--input-shape", "positive integers"]),
    ("input=0,3,8,8", ["--input-shape", "positive integers"]),
])
def test_bad_input_shape_option(work, value, words):
    r, out = export(work, work / "model.npz", "--input-shape", value)
    assert_refused(r, out, *words)


def test_input_shape_without_a_name_sizes_an_unnamed_only_input(work):
    (work / "unnamed.py").write_text(textwrap.dedent('''
        from lasagne.layers import DenseLayer, InputLayer

        def build():
            return DenseLayer(InputLayer((None, 3, None, None)), 5, name="fc")
    '''))
    np.savez(work / "m.npz", *arrays([(48, 5), (5,)]))
    net = ["--network", f"{work / 'unnamed.py'}:build", "--lasagne", "compat"]
    out = work / "out" / "m.onnx"
    r = cli(work / "m.npz", out, *net)
    assert_refused(r, out, "unknown dimensions", "--input-shape N,3,N,N")
    r = cli(work / "m.npz", out, *net, "--input-shape", "input=2,3,4,4")
    assert_refused(r, out, "no input layer named 'input'", "unnamed", "--input-shape D0,D1,...")
    r = cli(work / "m.npz", out, *net, "--input-shape", "2,3,4,4")
    assert r.returncode == 0, r.stderr


def test_input_shape_with_a_manifest_sizes_the_check(work):
    """A manifest's layers are already fixed; --input-shape gives the sizes onnxruntime's check needs
    and leaves the exported input's unknown dimensions unknown."""
    np.savez(work / "m.npz", *arrays([(2, 3, 3, 3), (2,)]))
    net = f"{work / 'net.py'}:build_fully_convolutional"
    r = cli("capture", "--network", net, "--lasagne", "compat", "--out", work / "arch.json")
    assert r.returncode == 0, r.stderr
    out = work / "out" / "m.onnx"
    r = cli(work / "m.npz", out, "--manifest", work / "arch.json")
    assert_refused(r, out, "unknown dimensions", "--input-shape")
    for shape in ("input=1,3,9,9", "1,3,9,9"):
        r = cli(work / "m.npz", out, "--manifest", work / "arch.json", "--input-shape", shape)
        assert r.returncode == 0, r.stderr
    dims = onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [0, 3, 0, 0]
    out.unlink()
    r = cli(work / "m.npz", out, "--manifest", work / "arch.json", "--input-shape", "input=1,4,9,9")
    assert_refused(r, out, "does not fit")


def test_manifest_contradicting_itself_is_blamed(work):
    """A hand-edited manifest whose layers no longer fit together fails ONNX validation: the error
    names the manifest (the user's file), not the exporter."""
    import json

    r = cli("capture", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat", "--out", work / "arch.json")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((work / "arch.json").read_text())
    pool = next(l for l in manifest["layers"] if l["name"] == "pool")
    pool["attrs"]["pool_size"] = [1, 1]  # the dense layer after it still expects 4 * 4 * 4 inputs
    pool["attrs"]["stride"] = [1, 1]
    (work / "arch.json").write_text(json.dumps(manifest))
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--manifest", work / "arch.json"), work / "out" / "m.onnx"
    assert_refused(r, out, "arch.json", "does not describe a network that can be exported")


def test_malformed_manifest_json(work):
    (work / "arch.json").write_text('{"format": "lasagne2onnx.layergraph", "version": 1, "layers": [')
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--manifest", work / "arch.json"), work / "out" / "m.onnx"
    assert_refused(r, out, "arch.json", "not valid JSON")


def test_manifest_of_another_kind(work):
    (work / "arch.json").write_text('{"layers": []}')
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--manifest", work / "arch.json"), work / "out" / "m.onnx"
    assert_refused(r, out, "arch.json", "not a lasagne2onnx architecture manifest")


def test_missing_manifest(work):
    r, out = cli(work / "model.npz", work / "out" / "m.onnx", "--manifest", work / "nope.json"), work / "out" / "m.onnx"
    assert_refused(r, out, "nope.json", "cannot read manifest")


# -- the output -----------------------------------------------------------------------------------------
def test_output_in_a_new_directory_is_created(work):
    """The README's quick start writes to out/, which a fresh clone lacks: missing directories are made."""
    out = work / "new" / "deeper" / "model.onnx"
    r, _ = export(work, work / "model.npz", output=out)
    assert r.returncode == 0, r.stderr
    assert out.exists()


def test_output_directory_cannot_be_created(work):
    (work / "out" / "afile").write_text("I am a file")
    out = work / "out" / "afile" / "sub" / "model.onnx"
    r, _ = export(work, work / "model.npz", output=out)
    line = assert_refused(r, out, "afile", "not a directory")
    assert os.listdir(work / "out") == ["afile"]
    assert line


def test_output_is_a_directory(work):
    r, _ = export(work, work / "model.npz", output=work / "out")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "is a directory" in r.stderr
    assert os.listdir(work / "out") == []


def test_failure_after_the_model_is_written_leaves_no_output(work):
    """A fully convolutional network exports, but its check in onnxruntime needs the unknown
    dimensions: that failure comes after the model was written, yet nothing is left behind."""
    np.savez(work / "m.npz", *arrays([(2, 3, 3, 3), (2,)]))
    r, out = export(work, work / "m.npz", network="build_fully_convolutional")
    assert_refused(r, out, "unknown dimensions", "--input-shape")
    r, out = export(work, work / "m.npz", "--input-shape", "input=1,3,9,9", network="build_fully_convolutional")
    assert r.returncode == 0, r.stderr


def test_existing_output_is_untouched_on_failure(work):
    out = work / "out" / "model.onnx"
    out.write_bytes(b"previous export")
    (work / "out" / "model.onnx.data").write_bytes(b"previous data")
    np.savez(work / "m.npz", *arrays([(2, 3, 3, 3), (2,)]))
    r, _ = export(work, work / "m.npz", network="build_fully_convolutional", output=out)  # fails in the check
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r2, _ = export(work, work / "nope.npz", output=out)  # fails early
    assert r2.returncode == 2
    assert out.read_bytes() == b"previous export"
    assert (work / "out" / "model.onnx.data").read_bytes() == b"previous data"
    assert sorted(os.listdir(work / "out")) == ["model.onnx", "model.onnx.data"]


@pytest.mark.parametrize("external", ["never", "always"])
def test_late_failure_in_the_onnxruntime_check(work, monkeypatch, capsys, external):
    """In-process: make the onnxruntime check itself fail (an ExportError, then an unexpected crash)."""
    from exporter import cli as cli_module
    from exporter import validate
    from exporter.errors import ExportError

    out = work / "out" / "model.onnx"
    argv = [str(work / "model.npz"), str(out), "--network", f"{work / 'net.py'}:build", "--lasagne", "compat",
            "--external-data", external, "--no-optimize"]
    seen = []

    def failing_session(path, *a, **k):
        seen.append(os.path.exists(path))
        raise ExportError("the check failed")

    monkeypatch.setattr(validate, "make_session", failing_session)
    assert cli_module.main(argv) == 2
    assert seen == [True]  # the model had been written (to its staging place) when the check ran
    assert "error: the check failed" in capsys.readouterr().err
    assert os.listdir(work / "out") == []

    out.write_bytes(b"previous export")

    def crashing_session(path, *a, **k):
        raise RuntimeError("onnxruntime blew up")

    monkeypatch.setattr(validate, "make_session", crashing_session)
    with pytest.raises(RuntimeError):
        cli_module.main(argv)
    assert os.listdir(work / "out") == ["model.onnx"]
    assert out.read_bytes() == b"previous export"

    monkeypatch.undo()
    assert cli_module.main(argv) == 0
    assert sorted(os.listdir(work / "out")) == ["model.onnx"] + (["model.onnx.data"] if external == "always" else [])
    import onnxruntime

    onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])


LSTM_BUILD = '''
from lasagne.layers import DenseLayer, InputLayer, LSTMLayer, SliceLayer


def build():
    l = InputLayer((None, 5, 3), name="input")
    l = LSTMLayer(l, 4, name="lstm")  # peepholes=True by default
    return DenseLayer(SliceLayer(l, -1, axis=1, name="last"), 2, name="fc")
'''


def test_peephole_lstm_on_the_theano_free_api_needs_the_lasagne_version(tmp_path):
    """Lasagne 0.1 and 0.2 compute a peephole LSTM's output gate differently and the Theano-free API
    cannot tell which trained the weights: refused until --lstm-peepholes says."""
    (tmp_path / "rnn.py").write_text(LSTM_BUILD)
    rng = np.random.default_rng(0)
    shapes = [(3, 4), (4, 4), (4,)] * 4 + [(4,)] * 3 + [(1, 4), (1, 4), (4, 2), (2,)]
    np.savez(tmp_path / "rnn.npz", *[rng.standard_normal(s).astype(np.float32) for s in shapes])
    out = tmp_path / "out" / "rnn.onnx"
    args = [tmp_path / "rnn.npz", out, "--network", f"{tmp_path / 'rnn.py'}:build", "--lasagne", "compat"]
    assert_refused(cli(*args), out, "'lstm'", "--lstm-peepholes 0.1")
    ops = {}
    for version in ("0.1", "0.2"):
        r = cli(*args, "--lstm-peepholes", version, "-q")
        assert r.returncode == 0, r.stderr
        ops[version] = {n.op_type for n in onnx.load(str(out)).graph.node}
    # 0.2's output gate is ONNX's LSTM; 0.1's (nonlinearity before the peephole) is written out in a Scan
    assert "LSTM" in ops["0.2"] and "Scan" not in ops["0.2"]
    assert "Scan" in ops["0.1"] and "LSTM" not in ops["0.1"]
