"""Hostile and careless input, the classes of issue 9 (items 3-7): tracebacks that must be one line,
outputs that must appear all together or not at all, files the user did not name that must survive,
resource bombs that must be refused before they go off, and messages that must name the right thing.

Networks are built by the Theano-free Lasagne API (``--lasagne compat``).  Most commands run
in-process (:func:`exporter.cli.main`); those about signals and process exit run as subprocesses.
"""
import io
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from exporter import cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BUILD = textwrap.dedent('''
    from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer


    def build():
        l = InputLayer((None, 3, 8, 8), name="input")
        l = Conv2DLayer(l, 4, 3, pad="same", name="conv")
        return DenseLayer(l, 5, name="fc")


    def build_int():
        return 3


    def build_zoo():  # a model-zoo dict: the input layer is unnamed, shown (and exported) as 'input'
        net = {}
        net["input"] = InputLayer((None, 3, None, None))
        net["conv"] = Conv2DLayer(net["input"], 4, 3, pad="same")
        return net
''')
SHAPES = [(4, 3, 3, 3), (4,), (256, 5), (5,)]
ZOO_SHAPES = [(4, 3, 3, 3), (4,)]


def arrays(shapes=SHAPES):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "net.py").write_text(BUILD)
    np.savez(tmp_path / "m.npz", *arrays())
    (tmp_path / "out").mkdir()
    return tmp_path


def export_args(work, *extra, npz="m.npz", fn="build", output=None):
    return [str(work / npz), str(output or work / "out" / "m.onnx"), "--network", f"{work / 'net.py'}:{fn}",
            "--lasagne", "compat", *map(str, extra)]


def run_main(args, capsys):
    """``(status, stderr lines)`` of an in-process run."""
    status = cli.main([str(a) for a in args])
    err = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    return status, err


def one_error(status, err, *words):
    assert status == 2, (status, err)
    assert len(err) == 1 and err[0].startswith("error: "), err
    for w in words:
        assert w in err[0], (w, err[0])
    return err[0]


def subprocess_cli(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, **kwargs)


def listing(directory):
    return sorted(os.listdir(directory))


def exported(work, capsys, *extra, output=None):
    status, err = run_main(export_args(work, "-q", *extra, output=output), capsys)
    assert status == 0, err
    return err


# == 3. tracebacks -> one line ==========================================================================
def _codecs_pickle(codec):
    """What ``pickle`` writes for ``_codecs.encode('a', codec)`` (Python 3's way of pickling bytes at
    protocol 2 is encode(str, 'latin1')); a LookupError traceback came out of an unknown codec."""
    return b"c_codecs\nencode\nX\x01\x00\x00\x00aX" + len(codec).to_bytes(4, "little") + codec.encode() + b"\x86R"


@pytest.mark.parametrize("codec", ["bogus", "zlib", "rot13"])
@pytest.mark.parametrize("container", ["pkl", "npz member"])
def test_codecs_encode_other_than_latin1_is_one_line(work, capsys, codec, container):
    if container == "pkl":
        path = work / "w.pkl"
        param_values = b"]q\x00(" + _codecs_pickle(codec) + b"e"  # [encode('a', codec)]
        path.write_bytes(b"\x80\x02}X\x0c\x00\x00\x00param values" + param_values + b"s.")
    else:
        path = work / "w.npz"
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("arr_0.npy", header.getvalue() + b"\x80\x02" + _codecs_pickle(codec) + b".")
            for i, a in enumerate(arrays()[1:], 1):
                buf = io.BytesIO()
                np.save(buf, a)
                zf.writestr(f"arr_{i}.npy", buf.getvalue())
    status, err = run_main(export_args(work, "--trust-pickle", npz=path.name), capsys)
    one_error(status, err, path.name, "_codecs.encode(", "latin1")
    assert listing(work / "out") == []


def test_codecs_encode_latin1_still_reads_bytes():
    from exporter.safe_pickle import restricted_load

    data = {"param values": [np.arange(3, dtype=np.float32)], "raw": b"\x00\xffbytes"}
    back = restricted_load(io.BytesIO(pickle.dumps(data, protocol=2)))
    assert back["raw"] == b"\x00\xffbytes" and back["param values"][0].tolist() == [0, 1, 2]


def _model_with(metadata=None, input_dims=(2, 3)):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="act/Relu")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_dims))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(input_dims))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"lasagne2onnx.layers": '{"act": "y"}', **(metadata or {})})
    return model


MALFORMED = [
    {"lasagne2onnx.layers": "[1, 2]"},
    {"lasagne2onnx.layers": "3"},
    {"lasagne2onnx.layers": '{"act": 5}'},
    {"lasagne2onnx.layers": "[" * 100_000 + "]" * 100_000},  # a RecursionError in json
    {"lasagne2onnx.optimized": '{"fused_layers": 5}'},
    {"lasagne2onnx.optimized": '{"fused_layers": [1, {}]}'},
    {"lasagne2onnx.optimized": "[]"},
    {"lasagne2onnx.traced": '{"act": 5}'},
    {"lasagne2onnx.traced": "[" * 100_000 + "]" * 100_000},
    {"lasagne2onnx.traced": "not json"},
]


@pytest.mark.parametrize("metadata", MALFORMED, ids=range(len(MALFORMED)))
def test_malformed_metadata_is_ignored_by_to_torch_with_a_warning(tmp_path, capsys, metadata):
    """It only names things in the generated model: ignored, said so in one line (it was a traceback)."""
    onnx.save(_model_with(metadata), tmp_path / "m.onnx")
    status, err = run_main(["to-torch", tmp_path / "m.onnx", "--out", tmp_path / "out", "-q"], capsys)
    assert status == 0, err
    key = next(iter(metadata))
    assert len(err) == 1 and err[0].startswith("warning: ") and repr(key) in err[0] and "ignoring it" in err[0], err
    assert listing(tmp_path / "out") == ["model.py", "state_dict.pt"]


@pytest.mark.parametrize("metadata", MALFORMED[:4], ids=range(4))
def test_malformed_layer_map_is_refused_by_check(tmp_path, capsys, metadata):
    onnx.save(_model_with(metadata), tmp_path / "m.onnx")
    np.savez(tmp_path / "ref.npz", **{"in:x": np.zeros((2, 3), np.float32), "out:act": np.zeros((2, 3), np.float32)})
    status, err = run_main(["check", tmp_path / "m.onnx", "--reference", tmp_path / "ref.npz"], capsys)
    one_error(status, err, "m.onnx", "'lasagne2onnx.layers'")


def test_negative_input_dimension_is_one_line(tmp_path, capsys):
    onnx.save(_model_with(input_dims=(2, -3)), tmp_path / "m.onnx")
    for args in (["to-torch", tmp_path / "m.onnx", "--out", tmp_path / "out"],
                 ["check", tmp_path / "m.onnx", "--reference-python", sys.executable, "--against", "x.npz",
                  "--network", "x.py:f"]):
        status, err = run_main(args, capsys)
        one_error(status, err, "m.onnx", "input 'x' has a negative dimension (2, -3)")
    assert listing(tmp_path) == ["m.onnx"]


def test_negative_input_dimension_is_one_line_in_to_keras(tmp_path):
    onnx.save(_model_with(input_dims=(2, -3)), tmp_path / "m.onnx")
    r = subprocess_cli("to-keras", tmp_path / "m.onnx", "--out", tmp_path / "m.keras")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "negative dimension" in r.stderr, r.stderr
    assert listing(tmp_path) == ["m.onnx"]


SIGNAL_AFTER_MAIN = textwrap.dedent('''
    import os, runpy, signal, sys
    from exporter import cli

    run, sig = cli.main, getattr(signal, sys.argv.pop(1))

    def main(*args, **kwargs):  # the signal arrives once the command has finished: during the exit
        status = run(*args, **kwargs)
        os.kill(os.getpid(), sig)
        return status

    cli.main = main
    runpy.run_module("exporter", run_name="__main__")  # python -m exporter
''')


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_after_to_torch_wrote_its_files_is_no_traceback(tmp_path, sig):
    onnx.save(_model_with(), tmp_path / "m.onnx")
    (tmp_path / "late.py").write_text(SIGNAL_AFTER_MAIN)
    r = subprocess.run([sys.executable, str(tmp_path / "late.py"), sig, "to-torch", str(tmp_path / "m.onnx"), "--out",
                        str(tmp_path / "out"), "-q"], capture_output=True, text=True, cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0 and r.stderr == "", (r.returncode, r.stderr)
    assert listing(tmp_path / "out") == ["model.py", "state_dict.pt"]


# == 4. all or nothing ===================================================================================
def test_embed_manifest_failing_leaves_neither_the_onnx_nor_a_changed_npz(work, capsys, monkeypatch):
    """The weights' file system is full when the npz is rewritten: the ONNX file was already in place."""
    import errno
    import shutil

    def full(src, dst, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    before = (work / "m.npz").read_bytes()
    monkeypatch.setattr(shutil, "copyfile", full)
    status, err = run_main(export_args(work, "--embed-manifest"), capsys)
    one_error(status, err, f"{work / 'm.npz'}: cannot write the output (No space left on device)")
    assert listing(work / "out") == [] and (work / "m.npz").read_bytes() == before
    assert listing(work) == ["m.npz", "net.py", "out"]


SLOW_EMBED = textwrap.dedent('''
    import shutil, sys, time
    from exporter import cli

    copy = shutil.copyfile

    def slow_copy(*args, **kwargs):  # the npz is being rewritten (the ONNX file is staged) when the signal comes
        copy(*args, **kwargs)
        print("embedding", flush=True)
        time.sleep(60)

    shutil.copyfile = slow_copy
    sys.exit(cli.main(sys.argv[1:]))
''')


@pytest.mark.parametrize("sig, status, message", [("SIGTERM", 143, "terminated"), ("SIGHUP", 129, "hangup"),
                                                  ("SIGINT", 130, "interrupted")])
def test_a_signal_while_embedding_leaves_nothing(work, sig, status, message):
    (work / "slow.py").write_text(SLOW_EMBED)
    before = (work / "m.npz").read_bytes()
    p = subprocess.Popen([sys.executable, str(work / "slow.py"), *export_args(work, "--embed-manifest")], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": ROOT})
    try:
        line = next((l for l in p.stdout if l == "embedding\n"), "")
        assert line == "embedding\n", p.communicate()
        p.send_signal(getattr(signal, sig))
        _, err = p.communicate(timeout=30)
    finally:
        p.kill()
    assert p.returncode == status and err.strip() == message, (p.returncode, err)
    assert listing(work / "out") == [] and (work / "m.npz").read_bytes() == before
    assert listing(work) == ["m.npz", "net.py", "out", "slow.py"]


def test_to_torch_writes_both_files_or_neither(tmp_path, capsys):
    onnx.save(_model_with(), tmp_path / "m.onnx")
    out = tmp_path / "out"
    out.mkdir()
    (out / "state_dict.pt").write_bytes(b"the user's earlier state dict")
    (out / "model.py").mkdir()  # model.py cannot be written
    status, err = run_main(["to-torch", tmp_path / "m.onnx", "--out", out], capsys)
    one_error(status, err, "model.py", "is a directory")
    assert (out / "state_dict.pt").read_bytes() == b"the user's earlier state dict"
    assert listing(out) == ["model.py", "state_dict.pt"]


def test_capture_writes_the_manifest_and_the_npz_together_or_neither(work, capsys):
    os.chmod(work / "m.npz", 0o444)
    status, err = run_main(["capture", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat",
                            "--out", work / "out" / "arch.json", "--embed-into", work / "m.npz"], capsys)
    one_error(status, err, "m.npz", "read-only")
    assert listing(work / "out") == []


def test_a_move_that_fails_puts_back_the_moves_before_it(tmp_path, monkeypatch):
    import errno

    from exporter.io import WriteError, staged_outputs

    first, second = tmp_path / "first.onnx", tmp_path / "second.npz"
    first.write_text("the old first")
    replace = os.replace

    def failing_replace(src, dst):
        if os.fspath(dst) == str(second):
            raise OSError(errno.EIO, "Input/output error")
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(WriteError, match="second.npz: cannot write the output"):
        with staged_outputs() as outputs:
            for path in (first, second):
                with open(outputs.add(path), "w") as f:
                    f.write("new")
    assert first.read_text() == "the old first" and listing(tmp_path) == ["first.onnx"]


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_staging_of_a_killed_run_is_removed_and_nothing_else(work, capsys):
    from exporter import io as exporter_io

    host = exporter_io._HOST
    stale = work / "out" / f".l2o-{host}-{_dead_pid()}-abc123.partial"
    stale.mkdir()
    (stale / "m.onnx").write_bytes(b"half written")
    alive = work / "out" / f".l2o-{host}-{os.getppid()}-def456.partial"  # a run still going (a live process)
    alive.mkdir()
    other_host = work / "out" / f".l2o-{'0000' if host != '0000' else '0001'}-{_dead_pid()}-ghi789.partial"
    other_host.mkdir()
    foreign = work / "out" / ".m.onnx.x1y2z3.partial"  # not our pattern
    foreign.write_bytes(b"someone else's")
    exported(work, capsys)
    assert listing(work / "out") == sorted(["m.onnx", alive.name, other_host.name, foreign.name])


# == 5. what the user did not name ======================================================================
def test_an_unrelated_data_file_beside_the_output_is_kept(work, capsys):
    companion = work / "out" / "m.onnx.data"
    companion.write_bytes(b"the user's own data")
    from exporter.io import OutputWarning

    with pytest.warns(OutputWarning, match="m.onnx.data: left as it is: neither the new .*m.onnx nor the file"):
        exported(work, capsys)  # one file: the .data is not ours, and stays
    assert companion.read_bytes() == b"the user's own data"
    status, err = run_main(export_args(work, "--external-data", "always"), capsys)  # would replace it: refused
    one_error(status, err, "m.onnx.data", "refusing to replace it")
    assert companion.read_bytes() == b"the user's own data"
    assert listing(work / "out") == ["m.onnx", "m.onnx.data"]


def test_the_data_file_of_the_previous_export_is_replaced_or_removed(work, capsys):
    exported(work, capsys, "--external-data", "always")
    exported(work, capsys, "--external-data", "always")  # replaced: the previous m.onnx used it
    assert listing(work / "out") == ["m.onnx", "m.onnx.data"]
    assert exported(work, capsys) == []  # removed, silently
    assert listing(work / "out") == ["m.onnx"]


@pytest.mark.parametrize("kind", ["fifo", "dangling link", "device"])
def test_an_output_that_is_not_a_regular_file_is_refused(work, capsys, kind):
    from exporter.errors import ExportError
    from exporter.io import destination

    if kind == "device":  # never written to: /dev/null as root would be replaced by a file
        with pytest.raises(ExportError, match="/dev/null: is a character device, not a regular file"):
            destination("/dev/null")
        return
    target = work / "out" / "m.onnx"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        os.symlink(work / "nowhere.onnx", target)
    status, err = run_main(export_args(work), capsys)
    one_error(status, err, "m.onnx", "FIFO" if kind == "fifo" else "does not exist")
    assert listing(work / "out") == ["m.onnx"] and listing(work) == ["m.npz", "net.py", "out"]


def test_an_output_that_is_a_symbolic_link_is_followed(work, capsys):
    target = work / "models" / "real.onnx"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = work / "out" / "m.onnx"
    os.symlink(target, link)
    exported(work, capsys)
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert onnx.load(str(target)).graph.output[0].name == "fc"
    status, err = run_main(export_args(work, "--external-data", "always"), capsys)  # .data would not be found
    one_error(status, err, "m.onnx", "symbolic link", "give the target itself")


def test_embed_manifest_refuses_a_read_only_npz_or_one_with_hard_links(work, capsys):
    npz = work / "m.npz"
    before = npz.read_bytes()
    os.chmod(npz, 0o444)
    status, err = run_main(export_args(work, "--embed-manifest"), capsys)
    one_error(status, err, "m.npz: is read-only")
    os.chmod(npz, 0o644)
    os.link(npz, work / "copy.npz")
    status, err = run_main(export_args(work, "--embed-manifest"), capsys)
    one_error(status, err, "m.npz: has 1 other hard link")
    assert npz.read_bytes() == before and listing(work / "out") == []


def test_embed_manifest_follows_a_symbolic_link_and_keeps_the_mode(work, capsys):
    from exporter.weights import load_npz

    real = work / "weights" / "real.npz"
    real.parent.mkdir()
    os.replace(work / "m.npz", real)
    os.chmod(real, 0o640)
    os.symlink(real, work / "m.npz")
    exported(work, capsys, "--embed-manifest")
    assert os.path.islink(work / "m.npz") and oct(os.stat(real).st_mode & 0o777) == oct(0o640)
    assert load_npz(real)[1] is not None
    assert listing(real.parent) == ["real.npz"]


# == 6. resource bombs ===================================================================================
def _zip_bomb(path, values, bomb="arr_0"):
    """An npz whose member ``bomb`` declares ``values`` float32 zeros (deflated ~1000:1), and the right
    arr_0..3 but for the one the bomb replaces."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (values,)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open(bomb + ".npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            zeros, left = bytes(1 << 22), values * 4
            while left:
                f.write(zeros[:min(left, len(zeros))])
                left -= min(left, len(zeros))
        for i, a in enumerate(arrays()):
            if f"arr_{i}" != bomb:
                buf = io.BytesIO()
                np.save(buf, a)
                zf.writestr(f"arr_{i}.npy", buf.getvalue())


def _peak_of(fn):
    tracemalloc.start()
    try:
        start = time.monotonic()
        result = fn()
        return result, tracemalloc.get_traced_memory()[1], time.monotonic() - start
    finally:
        tracemalloc.stop()


def test_npz_zip_bomb_is_refused_before_decompressing(work, capsys):
    _zip_bomb(work / "bomb.npz", 50_000_000)  # 200 MB of zeros in about 200 kB
    assert os.path.getsize(work / "bomb.npz") < 1_000_000
    status, peak, seconds = _peak_of(lambda: cli.main(export_args(work, npz="bomb.npz")))
    err = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    one_error(status, err, "bomb.npz: array arr_0 has shape (50000000,)", "expects parameter 'W' of shape (4, 3, 3, 3)")
    assert peak < 20_000_000, f"{peak:,} bytes allocated"


def test_arrays_the_architecture_does_not_use_are_not_decompressed(work, capsys):
    from exporter.weights import WeightsWarning

    _zip_bomb(work / "extra.npz", 50_000_000, bomb="junk")
    with pytest.warns(WeightsWarning, match="ignoring 'junk'"):
        status, peak, _ = _peak_of(lambda: cli.main(export_args(work, "-q", npz="extra.npz")))
    assert status == 0, capsys.readouterr().err
    assert peak < 20_000_000, f"{peak:,} bytes allocated"


def test_pickled_npz_member_larger_than_its_parameter_can_need_is_not_unpickled(work, capsys):
    values = arrays()
    values[2] = np.array(list(np.zeros(200_000)), dtype=object)  # the Dense W has 1,280 values
    np.savez(work / "obj.npz", *values, allow_pickle=True)
    status, err = run_main(export_args(work, "--trust-pickle", npz="obj.npz"), capsys)
    one_error(status, err, "obj.npz: array 'arr_2' is a pickle of", "more than the", "its parameter can need")


def test_billion_laughs_in_a_zoo_pickle_extra_is_left_out_without_expanding_it(work, capsys):
    laughs = ["lol" * 10]
    for _ in range(7):  # 10**7 references to one string, in 8 kB of pickle
        laughs = [laughs] * 10
    (work / "zoo.pkl").write_bytes(pickle.dumps({"param values": arrays(), "synset words": ["a", "b"],
                                                 "laughs": laughs}, protocol=2))
    assert os.path.getsize(work / "zoo.pkl") < 20_000
    status, peak, seconds = _peak_of(lambda: cli.main(export_args(work, "--trust-pickle", npz="zoo.pkl")))
    out = capsys.readouterr().out
    assert status == 0
    assert "kept 'synset words'" in out and "left out 'laughs' (more than 4,194,304 characters of JSON)" in out, out
    assert peak < 50_000_000 and seconds < 20, (peak, seconds)


def test_importers_random_check_inputs_are_capped_like_exports(tmp_path, capsys):
    from exporter.validate import MAX_RANDOM_INPUT_BYTES

    assert MAX_RANDOM_INPUT_BYTES == 2 << 30
    onnx.save(_model_with(input_dims=(1, 10 ** 12)), tmp_path / "m.onnx")  # (without the cap: out of memory)
    status, err = run_main(["to-torch", tmp_path / "m.onnx", "--out", tmp_path / "out"], capsys)
    one_error(status, err, "random inputs would take 3,725.3 GiB", "--no-check")
    assert listing(tmp_path) == ["m.onnx"]


# == 7. messages ========================================================================================
@pytest.mark.parametrize("length", [240, 255])
def test_output_names_up_to_the_file_system_limit_are_written(work, capsys, length):
    name = "m" * (length - len(".onnx")) + ".onnx"
    exported(work, capsys, output=work / "out" / name)
    assert listing(work / "out") == [name]


@pytest.mark.parametrize("output, words", [("", "the output path is empty"), ("newdir/", "newdir/: names a directory")])
def test_empty_and_directory_outputs_name_what_the_user_gave(work, capsys, output, words):
    status, err = run_main(export_args(work, output=output) if output else
                           [work / "m.npz", "", "--network", f"{work / 'net.py'}:build", "--lasagne", "compat"], capsys)
    line = one_error(status, err, words)
    assert ".partial" not in line and ".l2o" not in line
    assert not os.path.exists("newdir")


def test_truncated_npz_is_reported_as_truncated_not_as_a_corrupt_manifest(work, capsys):
    exported(work, capsys, "--embed-manifest")
    data = (work / "m.npz").read_bytes()
    for cut in (10, 200):
        (work / "cut.npz").write_bytes(data[:-cut])
        status, err = run_main([work / "cut.npz", work / "out" / "cut.onnx"], capsys)
        line = one_error(status, err, "cut.npz", "truncated")
        assert "corrupt" not in line, line


def test_build_function_returning_no_layer_names_the_file_and_function(work, capsys):
    status, err = run_main(export_args(work, fn="build_int"), capsys)
    one_error(status, err, f"{work / 'net.py'}:build_int: the build function must return a Lasagne layer, got int")


def test_input_shape_names_a_model_zoo_dicts_unnamed_input_by_its_key(work, capsys):
    np.savez(work / "zoo.npz", *arrays(ZOO_SHAPES))
    out = work / "out" / "zoo.onnx"
    status, err = run_main(export_args(work, "-q", "--input-shape", "input=1,3,8,8", npz="zoo.npz", fn="build_zoo",
                                       output=out), capsys)
    assert status == 0, err
    dims = [d.dim_value for d in onnx.load(str(out)).graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 8, 8]
    status, err = run_main(export_args(work, "--input-shape", "input=1,3,8", npz="zoo.npz", fn="build_zoo",
                                       output=out), capsys)
    one_error(status, err, "input=1,3,8 does not fit the shape (None, 3, None, None) of input layer 'input'")
