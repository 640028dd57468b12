"""Arguments for the build function: ``--network "build.py:fn(4, 3, n=3)"``, ``--build-arg n=3``, the
API's ``build_kwargs``; literals only, never run; honoured by export, capture and check's reference run
(compared with real Theano), refused where they cannot be passed, never ignored."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

import exporter
from exporter.errors import NetworkError, WeightsError
from exporter.frontends.build_args import build_arg_text, spec_with_arguments, split_spec, value_text
from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = textwrap.dedent('''\
    from lasagne.layers import DenseLayer, InputLayer
    from lasagne.nonlinearities import tanh

    def build(in_dim, out_dim, n=2, width=5, mode="plain"):
        l = InputLayer((None, in_dim), name="input")
        for i in range(n):
            l = DenseLayer(l, width, nonlinearity=tanh, name="hidden%d" % i)
        return DenseLayer(l, out_dim, nonlinearity=None if mode == "plain" else tanh, name="out")
''')


def cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ, THEANO_FLAGS=THEANO_FLAGS))


def error_line(r) -> str:
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stdout + r.stderr
    return lines[0]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """build.py and weights trained with build(4, 3, n=3): 8 arrays (the defaults make 6)."""
    d = tmp_path_factory.mktemp("args")
    (d / "build.py").write_text(BUILD)
    rng = np.random.RandomState(0)
    shapes = [(4, 5), (5,), (5, 5), (5,), (5, 5), (5,), (5, 3), (3,)]
    np.savez(d / "model.npz", *[rng.randn(*s).astype(np.float32) for s in shapes])
    return d


# -- reading the arguments ----------------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ("build.py:fn", ("build.py", "fn", "")),
    ("build.py:fn()", ("build.py", "fn", "")),
    ("dir/build.py:build_model(60, 60, 10)", ("dir/build.py", "build_model", "60, 60, 10")),
    ("build.py:fn(n=9, sizes=(64, 128), name='a:b(c)', d={'k': [1, -2.5]}, f=None)",
     ("build.py", "fn", "n=9, sizes=(64, 128), name='a:b(c)', d={'k': [1, -2.5]}, f=None")),
    ("/tmp/a (1)/build.py:fn(1)", ("/tmp/a (1)/build.py", "fn", "1")),
])
def test_spec_arguments_are_read_as_written(spec, expected):
    assert split_spec(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("build.py:fn(n=os.getcwd())", "the argument os.getcwd() is not a Python literal"),
    ("build.py:fn(__import__('os'))", "the argument __import__('os') is not a Python literal"),
    ("build.py:fn(x)", "the argument x is not a Python literal"),
    ("build.py:fn(*[1])", "*[1] is not supported"),
    ("build.py:fn(**{'n': 1})", "**{'n': 1} is not supported"),
    ("build.py:fn(1,", "--network expects FILE.py:FUNCTION or FILE.py:FUNCTION(ARGUMENTS)"),
    ("build.py:fn(n=1, n=2)", "the argument 'n' is given twice"),
    ("build.py:fn(1 2)", "cannot read the arguments (1 2)"),
    ("build.py", "--network expects FILE.py:FUNCTION"),
])
def test_arguments_that_are_not_literals_are_refused(spec, message):
    with pytest.raises(NetworkError) as info:
        split_spec(spec)
    assert message in str(info.value)


@pytest.mark.parametrize("arg, text", [
    ("n=9", "n=9"), ("sizes=(64, 128)", "sizes=(64, 128)"), ("name='x'", "name='x'"), ("flag=True", "flag=True"),
    ("mode=train", "mode='train'"), ("path=/data/x.npz", "path='/data/x.npz'"), ("rate=-0.5", "rate=-0.5"),
])
def test_build_arg_values(arg, text):
    assert build_arg_text(arg) == text


@pytest.mark.parametrize("arg", ["n", "=3", "1n=3", "sizes=(64, 128", "n=9x", "s='open", "n="])
def test_build_arg_values_refused(arg):
    with pytest.raises(NetworkError, match="--build-arg"):
        build_arg_text(arg)


def test_build_args_join_the_specs_own_and_a_keyword_twice_is_refused():
    assert spec_with_arguments("b.py:fn(4, 3)", ["n=3"], {"mode": "tanh"}) == "b.py:fn(4, 3, n=3, mode='tanh')"
    assert spec_with_arguments("b.py:fn", []) == "b.py:fn"
    with pytest.raises(NetworkError, match="'n' is given twice"):
        spec_with_arguments("b.py:fn(n=2)", ["n=3"])


@pytest.mark.parametrize("value", [np.int64(3), float("nan"), object(), len, np.zeros(2)])
def test_api_values_without_a_literal_are_refused(value):
    with pytest.raises(NetworkError, match=r"build_kwargs\['v'\]: a .* cannot be passed"):
        value_text("v", value)


# -- the command line ------------------------------------------------------------------------------
def test_export_with_arguments_written_in_the_spec_or_given_apart(project, tmp_path):
    for args in ([f"{project / 'build.py'}:build(4, 3, n=3)"],
                 [f"{project / 'build.py'}:build(4, out_dim=3)", "--build-arg", "n=3"]):
        r = cli(project / "model.npz", tmp_path / "out.onnx", "--lasagne", "compat", "--network", *args)
        assert r.returncode == 0, r.stdout + r.stderr
        model = onnx.load(tmp_path / "out.onnx")
        meta = {p.key: p.value for p in model.metadata_props}
        assert [v.name for v in model.graph.output][-1] == "out" and "hidden2" in meta["lasagne2onnx.layers"]
        assert meta["lasagne2onnx.arguments"] in ("4, 3, n=3", "4, out_dim=3, n=3")
        assert "note: built with build(4, " in r.stdout


def test_arguments_the_function_cannot_take_are_refused(project, tmp_path):
    net = project / "build.py"
    for args, message in (
            ([f"{net}:build"], "build(): missing a required argument: 'in_dim' (arguments: FILE.py:build(ARGS) or "
                               "--build-arg NAME=VALUE"),
            ([f"{net}:build(4, 3)", "--build-arg", "depth=3"], "build(4, 3, depth=3): got an unexpected keyword "
                                                               "argument 'depth'"),
            ([f"{net}:build(4, 3, n=3)", "--build-arg", "n=2"], "the argument 'n' is given twice"),
            ([f"{net}:build(4, y)"], "the argument y is not a Python literal")):
        r = cli(project / "model.npz", tmp_path / "out.onnx", "--lasagne", "compat", "--network", *args)
        assert message in error_line(r), r.stderr
        assert not os.path.exists(tmp_path / "out.onnx")


def test_weights_that_do_not_fit_the_defaults_name_them(project, tmp_path):
    r = cli(project / "model.npz", tmp_path / "out.onnx", "--lasagne", "compat", "--network",
            f"{project / 'build.py'}:build(4, 3)")
    line = error_line(r)
    assert "holds 8 arrays but the network has 6 parameters" in line
    assert "(the build function took n=2, width=5 by default: if the weights were trained with other " \
           "values, pass them, e.g. --build-arg n=... or FILE.py:FN(n=...)" in line


def test_capture_records_the_arguments_and_a_manifest_takes_none(project, tmp_path):
    r = cli("capture", "--network", f"{project / 'build.py'}:build(4, 3)", "--build-arg", "n=3", "--lasagne", "compat",
            "--out", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    manifest = json.loads((tmp_path / "a.json").read_text())
    assert manifest["build"] == {"arguments": "4, 3, n=3", "defaults": "width=5"}
    assert "build(4, 3, n=3)" in manifest["source"]
    r = cli(project / "model.npz", tmp_path / "out.onnx", "--manifest", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli(project / "model.npz", tmp_path / "out2.onnx", "--manifest", tmp_path / "a.json", "--build-arg", "n=3")
    assert "--build-arg n=3: arguments are for the build function of --network FILE.py:FN; a --manifest is built " \
           "already" in error_line(r)
    r = cli("check", tmp_path / "out.onnx", "--reference", tmp_path / "layers.npz", "--build-arg", "n=3")
    assert "--build-arg n=3: arguments are for the build function of --network FILE.py:FN, which is not given" in \
        error_line(r)


def test_check_reference_run_calls_the_build_function_with_the_exports_arguments(project, tmp_path):
    """Real Theano builds the network with the arguments the export recorded (or those given again):
    every layer compared; with other arguments the weights do not fit there."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"no legacy Theano + Lasagne environment at {LEGACY_PYTHON}")
    r = cli(project / "model.npz", tmp_path / "out.onnx", "--lasagne", "compat", "--network",
            f"{project / 'build.py'}:build(4, 3, mode='tanh')", "--build-arg", "n=3")
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("check", tmp_path / "out.onnx", "--reference-python", LEGACY_PYTHON, "--against", project / "model.npz",
            "--network", f"{project / 'build.py'}:build")  # no arguments: those the export recorded
    assert r.returncode == 0, r.stdout + r.stderr
    assert "build(4, 3, mode='tanh', n=3)" in r.stdout
    assert [l.split()[0] for l in r.stdout.splitlines() if l.endswith(" OK")] == \
        ["input", "hidden0", "hidden1", "hidden2", "out"], r.stdout
    r = cli("check", tmp_path / "out.onnx", "--reference-python", LEGACY_PYTHON, "--against", project / "model.npz",
            "--network", f"{project / 'build.py'}:build(4, 3)")  # other arguments: Theano's network differs
    assert "does not fit the network built by" in error_line(r)


# -- the Python API ----------------------------------------------------------------------------------
def test_api_build_kwargs_reach_a_file_spec(project):
    model, report = exporter.export(f"{project / 'build.py'}:build", str(project / "model.npz"), lasagne="compat",
                                    build_kwargs={"in_dim": 4, "out_dim": 3, "n": 3})
    assert report["build"]["arguments"] == "in_dim=4, out_dim=3, n=3" and report["layers"] == 5
    assert report["parameters"] == (4 * 5 + 5) + 2 * (5 * 5 + 5) + (5 * 3 + 3)
    assert "build(in_dim=4, out_dim=3, n=3)" in report["source"]
    with pytest.raises(WeightsError, match=r"took n=2, width=5 by default"):
        exporter.export(f"{project / 'build.py'}:build", str(project / "model.npz"), lasagne="compat",
                        build_kwargs={"in_dim": 4, "out_dim": 3})


def test_api_build_kwargs_are_refused_where_they_cannot_be_passed(project, tmp_path):
    r = cli("capture", "--network", f"{project / 'build.py'}:build(4, 3, n=3)", "--lasagne", "compat",
            "--out", tmp_path / "a.json")
    assert r.returncode == 0, r.stderr
    for network, message in ((str(tmp_path / "a.json"), "the manifest"), (None, "the manifest embedded in")):
        with pytest.raises(NetworkError, match=rf"build_kwargs \['n'\]: {message}.* has no build function"):
            exporter.export(network, str(project / "model.npz"), build_kwargs={"n": 3})
    with pytest.raises(NetworkError, match=r"build_kwargs\['act'\]: a function cannot be passed"):
        exporter.export(f"{project / 'build.py'}:build", str(project / "model.npz"), build_kwargs={"act": lambda x: x})
    exporter.select_lasagne("compat")

    def build(n=2):
        from lasagne.layers import DenseLayer, InputLayer

        return DenseLayer(InputLayer((None, 4), name="input"), n, name="fc")

    with pytest.raises(NetworkError, match=r"build\(depth=3\): got an unexpected keyword argument 'depth'"):
        exporter.export(build, None, build_kwargs={"depth": 3})
    net = build(3)
    with pytest.raises(NetworkError, match=r"build_kwargs \['n'\]: a live network has no build function"):
        exporter.export(net, None, build_kwargs={"n": 3})
