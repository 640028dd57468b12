"""Python 2 files that build code loads by path (imp.load_source, spec_from_file_location + exec_module,
SourceFileLoader.load_module, exec(open(f).read()), execfile) or finds through PYTHONPATH: read as the
user wrote them, errors at the user's file and line.

Each Python 2 file here prints with a print statement and sizes a layer with Python 2's integer
``/`` (``10 / 4 * 4`` is 8 there, 10.0 in Python 3), so a wrong reading gives a wrong shape.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.reference import LEGACY_PYTHON, THEANO_FLAGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY2_LIB = 'print "loading {name}"\n\ndef width(n):\n    return n / 4 * 4\n'


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env=env)


def capture(network, out, *extra, env=None):
    r = cli("capture", "--network", network, "--lasagne", "compat", "--out", out, *extra, env=env)
    manifest = json.loads(out.read_text()) if r.returncode == 0 else None
    return r, manifest


def units(manifest) -> dict:
    return {l["name"]: l["attrs"]["num_units"] for l in manifest["layers"] if l["kind"] == "Dense"}


def one_line_error(r) -> str:
    lines = [l for l in r.stderr.splitlines() if l.strip() and not l.startswith("warning: ")]  # the code's own
    assert r.returncode == 2 and len(lines) == 1, r.stdout + r.stderr
    return lines[0]


@pytest.fixture
def lib(tmp_path):
    (tmp_path / "lib").mkdir()
    for name in "abcde":
        (tmp_path / "lib" / f"{name}.py").write_text(PY2_LIB.format(name=name))
    return tmp_path / "lib"


def test_python2_files_loaded_by_path_from_python3_build_code(tmp_path, lib):
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import imp
        import importlib.machinery
        import importlib.util
        import os
        from lasagne.layers import DenseLayer, InputLayer

        LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
        a = imp.load_source("lib_a", os.path.join(LIB, "a.py"))
        spec = importlib.util.spec_from_file_location("lib_b", os.path.join(LIB, "b.py"))
        b = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(b)
        c = importlib.machinery.SourceFileLoader("lib_c", os.path.join(LIB, "c.py")).load_module()
        d = {}
        exec(open(os.path.join(LIB, "d.py")).read(), d)
        e = {}
        exec(compile(open(os.path.join(LIB, "e.py")).read(), os.path.join(LIB, "e.py"), "exec"), e)

        def build():
            l = InputLayer((None, 4), name="input")
            for name, width in (("a", a.width), ("b", b.width), ("c", c.width), ("d", d["width"]),
                                ("e", e["width"])):
                l = DenseLayer(l, width(10), name=name)
            return l
    '''))
    r, manifest = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert units(manifest) == {"a": 8, "b": 8, "c": 8, "d": 8, "e": 8}
    for name in "abcde":
        assert f"loading {name}" in r.stdout
    assert manifest["build"]["read_as_python2"] == ["a.py", "b.py", "c.py", "e.py"]  # d: text, not a file
    assert "imp module is deprecated" not in r.stderr, r.stderr  # the stand-in, on every Python
    assert sorted(os.listdir(lib)) == [f"{n}.py" for n in "abcde"]  # nothing written beside them


def test_python2_build_file_with_execfile_and_exec_statement(tmp_path):
    """A Python 2 project: what it loads is read as Python 2 even where it parses as Python 3."""
    (tmp_path / "config.py").write_text("hidden = 10 / 4 * 4\n")  # valid Python 3, 10.0 there
    (tmp_path / "sizes.py").write_text("extra = 7 / 2\n")
    (tmp_path / "more.py").write_text("def more(n):\n    return n / 3\n")
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import imp
        import os
        from lasagne.layers import DenseLayer, InputLayer

        HERE = os.path.dirname(os.path.abspath(__file__))
        execfile(os.path.join(HERE, "config.py"))
        exec open(os.path.join(HERE, "sizes.py")).read()
        more = imp.load_source("more", os.path.join(HERE, "more.py"))
        print "hidden", hidden

        def build():
            l = DenseLayer(InputLayer((None, 4), name="input"), hidden, name="hidden")
            l = DenseLayer(l, extra, name="extra")
            return DenseLayer(l, more.more(10), name="more")
    '''))
    r, manifest = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hidden 8" in r.stdout
    assert units(manifest) == {"hidden": 8, "extra": 3, "more": 3}
    assert manifest["build"]["read_as_python2"] == ["build.py", "config.py", "more.py"]


def test_exec_inherits_the_callers_future_division(tmp_path):
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        from __future__ import division
        from lasagne.layers import DenseLayer, InputLayer
        print "python 2"
        exec "ratio = 10 / 4"
        exec "print 'ratio', ratio"

        def build():
            return DenseLayer(InputLayer((None, 4), name="input"), int(ratio * 2), name="fc")
    '''))
    r, manifest = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ratio 2.5" in r.stdout and units(manifest) == {"fc": 5}


def test_python2_modules_on_the_pythonpath_are_read_as_python2(tmp_path):
    """The user's modules found through PYTHONPATH: one that is Python 2 only, one that parses as Python 3
    but fails as Python 2 code does (the build is then read as Python 2)."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.py").write_text("def width(n):\n    for i in xrange(1):\n        return n / 4\n")
    (tmp_path / "lib" / "printer.py").write_text(PY2_LIB.format(name="printer"))
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import blocks
        import printer
        from lasagne.layers import DenseLayer, InputLayer

        def build():
            l = DenseLayer(InputLayer((None, 4), name="input"), blocks.width(10), name="blocks")
            return DenseLayer(l, printer.width(10), name="printer")
    '''))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, str(tmp_path / "lib")]))
    r, manifest = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert units(manifest) == {"blocks": 2, "printer": 8} and "loading printer" in r.stdout
    assert sorted(manifest["build"]["read_as_python2"]) == ["blocks.py", "build.py", "printer.py"]


@pytest.mark.parametrize("how", ["imp.load_source('broken', PATH)", "execfile(PATH)",
                                 "exec(compile(open(PATH).read(), PATH, 'exec'))"])
def test_a_syntax_error_in_a_loaded_file_names_that_file_and_line(tmp_path, how):
    (tmp_path / "broken.py").write_text('print "fine"\nx = 1\ndef f(:\n    pass\n')
    (tmp_path / "build.py").write_text(textwrap.dedent(f'''\
        import imp, os
        PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "broken.py")
        {how}

        def build():
            pass
    '''))
    r, _ = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    line = one_line_error(r)
    assert "SyntaxError: " in line and "at broken.py:3 (loaded at build.py:3)" in line, line
    assert "py2.py" not in line and "user_loaders.py" not in line


def test_a_syntax_error_in_the_build_file_names_its_line(tmp_path):
    (tmp_path / "build.py").write_text("import os\n\ndef build(:\n    pass\n")
    for extra in ((), ("--python2",)):
        r, _ = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json", *extra)
        line = one_line_error(r)
        assert "SyntaxError: invalid syntax at build.py:3" in line and "py2.py" not in line, line


def test_an_error_raised_in_a_loaded_python2_file_names_its_line(tmp_path):
    (tmp_path / "bad.py").write_text('print "here"\n\ndef width(n):\n    return n / 0\n')
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import imp, os
        # a relative path, as build code run from its folder often has
        bad = imp.load_source("bad", os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad.py")))

        def build():
            return bad.width(3)
    '''))
    r, _ = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    assert "raised ZeroDivisionError: integer division or modulo by zero at bad.py:4 (read as Python 2)" in \
        one_line_error(r), r.stderr


def test_imp_standin_loads_python2_sources_and_packages(tmp_path):
    """What ``import imp`` gives the build code on every Python (imp is gone from 3.12)."""
    from exporter.frontends import imp_standin
    from exporter.frontends.user_loaders import user_code_loaders

    (tmp_path / "two.py").write_text(PY2_LIB.format(name="two"))
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("half = 9 / 2\nprint 'pkg'\n")
    try:
        with user_code_loaders():
            import imp

            assert imp is imp_standin
            two = imp.load_source("lasagne2onnx_test_two", str(tmp_path / "two.py"))
            pkg = imp.load_module("lasagne2onnx_test_pkg", *imp.find_module("pkg", [str(tmp_path)]))
        assert two.width(10) == 8 and pkg.half == 4 and pkg.__path__ == [str(tmp_path / "pkg")]
        assert "imp" not in sys.modules or sys.modules["imp"] is not imp_standin
        assert not hasattr(__builtins__ if isinstance(__builtins__, dict) else __builtins__, "execfile") \
            or "execfile" not in (__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__))
    finally:
        sys.modules.pop("lasagne2onnx_test_two", None)
        sys.modules.pop("lasagne2onnx_test_pkg", None)


def test_check_reference_run_reads_loaded_python2_files_as_the_export_did(tmp_path, lib):
    """Real Theano (an environment without fissix) builds the network from the same Python 2 readings:
    every layer compared; read as Python 3 there, the sizes (10.0) would not fit the weights."""
    if not os.path.exists(LEGACY_PYTHON):
        pytest.skip(f"no legacy Theano + Lasagne environment at {LEGACY_PYTHON}")
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import imp
        import importlib.util
        import os
        from lasagne.layers import DenseLayer, InputLayer
        from lasagne.nonlinearities import tanh

        LIB = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib")
        a = imp.load_source("lib_a", os.path.join(LIB, "a.py"))
        spec = importlib.util.spec_from_file_location("lib_b", os.path.join(LIB, "b.py"))
        b = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(b)

        def build():
            l = DenseLayer(InputLayer((None, 4), name="input"), a.width(10), nonlinearity=tanh, name="a")
            return DenseLayer(l, b.width(6), nonlinearity=None, name="b")
    '''))
    rng = np.random.RandomState(0)
    np.savez(tmp_path / "model.npz", *[rng.randn(*s).astype(np.float32) for s in [(4, 8), (8,), (8, 4), (4,)]])
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS)
    r = cli(tmp_path / "model.npz", tmp_path / "out.onnx", "--network", f"{tmp_path / 'build.py'}:build", "--lasagne",
            "compat", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    r = cli("check", tmp_path / "out.onnx", "--reference-python", LEGACY_PYTHON, "--against", tmp_path / "model.npz",
            "--network", f"{tmp_path / 'build.py'}:build", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [l.split()[0] for l in r.stdout.splitlines() if l.endswith(" OK")] == ["input", "a", "b"], r.stdout


def test_python2_by_request_reads_a_python3_only_file_as_python3():
    """--python2 (or a retry as Python 2) on a file that is not Python 2: read as Python 3, not refused."""
    from exporter.frontends import py2

    code, translated = py2.compile_user_source(b"print('a', end='')\nx = 7 / 2\n", "only3.py", python2=True)
    namespace = {}
    exec(code, namespace)
    assert not translated and namespace["x"] == 3.5
    with pytest.raises(SyntaxError) as info:  # neither: Python 3's error, at the user's line
        py2.compile_user_source(b"print('a', end='')\ndef f(:\n", "both.py", python2=True)
    assert (info.value.filename, info.value.lineno) == ("both.py", 2)


def test_execfile_in_code_that_parses_as_python3_reads_the_build_as_python2(tmp_path):
    """execfile is Python 2's: a build file that parses as Python 3 but calls it is Python 2 code, and so is
    the file it runs (10 / 4 * 4 is 8 there)."""
    (tmp_path / "config.py").write_text("hidden = 10 / 4 * 4\n")
    (tmp_path / "build.py").write_text(textwrap.dedent('''\
        import os
        from lasagne.layers import DenseLayer, InputLayer
        execfile(os.path.join(os.path.dirname(os.path.abspath(__file__)), "config.py"))

        def build():
            return DenseLayer(InputLayer((None, 4), name="input"), hidden, name="hidden")
    '''))
    r, manifest = capture(f"{tmp_path / 'build.py'}:build", tmp_path / "a.json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert units(manifest) == {"hidden": 8} and manifest["build"]["read_as_python2"] == ["build.py", "config.py"]
    assert "NameError: name 'execfile' is not defined at build.py:3" in r.stdout
