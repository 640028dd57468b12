"""Python 2 build files: translated in memory (fissix), Python 2's numbers kept, nothing written.

The snippets and build files here are Python 2 written for these tests; each construct is run
through the translation and executed, and the build files go through the real command line
(``--lasagne compat``) so their networks' shapes show what Python 2 computed.
"""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest

from exporter.frontends import py2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_py2(source, name="snippet.py"):
    """Translate ``source`` (Python 2), run it, return its namespace."""
    code, translated = py2.compile_user_source(textwrap.dedent(source).encode(), name, python2=True)
    assert translated
    namespace = dict(py2.NAMESPACE, __name__="snippet")
    exec(code, namespace)
    return namespace


# -- each construct ---------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, expected", [
    ("7 / 2", 3), ("-7 / 2", -4), ("7.0 / 2", 3.5), ("7 / 2.0", 3.5), ("64 / 4 * 3 / 2", 24),
    ("(3 * 5) / 2 * 7 / 3", 16), ("7 // 2", 3), ("2 ** 3 / 3", 2), ("True / 1", 1),
])
def test_integer_division_floors_and_float_division_divides(expr, expected):
    result = run_py2(f"x = {expr}\n")["x"]
    assert result == expected and type(result) is type(expected)


def test_integer_division_of_numpy_integers_and_arrays_floors():
    ns = run_py2("""
        import numpy as np
        a = np.int64(7) / 2
        b = np.array([7, 9]) / 2
        c = np.array([7.0, 9.0]) / 2
        d = np.float32(7) / np.int32(2)
    """)
    assert ns["a"] == 3 and ns["b"].tolist() == [3, 4] and ns["c"].tolist() == [3.5, 4.5] and ns["d"] == 3.5


def test_in_place_division_and_future_division():
    assert run_py2("x = 9\nx /= 2\n")["x"] == 4
    assert run_py2("from __future__ import division\nx = 9 / 2\n")["x"] == 4.5


def test_print_statement_backticks_and_except_comma(capsys):
    ns = run_py2("""
        print "filters", 64 / 4
        s = `3`
        try:
            raise ValueError("x")
        except ValueError, e:
            caught = str(e)
    """)
    assert capsys.readouterr().out == "filters 16\n"
    assert ns["s"] == "3" and ns["caught"] == "x"


def test_lists_where_python2_returned_lists():
    ns = run_py2("""
        d = {"conv": 16}
        first = d.keys()[0]
        doubled = map(lambda v: v * 2, [1, 2, 3])[2]
        pair = zip([1, 2], [3, 4])[1]
        third = range(10)[3]
        total = 0
        for i in xrange(4):
            total += i
        odd = filter(lambda v: v % 2, [1, 2, 3])[1]
    """)
    assert (ns["first"], ns["doubled"], ns["pair"], ns["third"], ns["total"], ns["odd"]) == ("conv", 6, (2, 4), 3, 6, 3)


def test_renamed_modules_and_string_constants():
    ns = run_py2("""
        import cPickle
        import urllib2
        import string
        from string import letters, uppercase as upper
        blob = cPickle.dumps([1, 2])
        opener = urllib2.urlopen
        chars = string.letters[:3] + string.lowercase[-1] + letters[-1] + upper[0]
    """)
    import pickle
    import urllib.request

    assert pickle.loads(ns["blob"]) == [1, 2] and ns["opener"] is urllib.request.urlopen
    assert ns["chars"] == "abczZA"


@pytest.mark.parametrize("expr, expected", [
    ("round(2.5)", 3.0), ("round(-2.5)", -3.0), ("round(0.5)", 1.0), ("round(2.675, 2)", 2.67), ("round(7)", 7.0),
    ("int(round(64 * 0.5 + 0.5))", 33), ("round(1250, -2)", 1300.0),
])
def test_round_is_python2s(expr, expected):
    value = run_py2(f"x = {expr}\n")["x"]
    assert value == expected and type(value) is type(expected)


def test_tuple_parameters_are_unpacked_and_keep_the_lines():
    """Theano ops' ``def c_code(self, node, name, (x,), (z,), sub):``: 2to3 unpacks each tuple on a line
    of its own, which moved every later line (and the lines errors name)."""
    ns = run_py2("""
        import sys
        def c_code(node, name, (x,), (z,), sub):
            return "%(z)s = round(%(x)s);" % locals()
        def g((a, b), c=2):
            \"\"\"doc\"\"\"
            y = a - b
            return y * c
        def h((a, b)): return a * b
        line = sys._getframe().f_lineno
        """)
    assert ns["c_code"](None, "n", ("X",), ("Z",), {}) == "Z = round(X);"
    assert ns["g"]((5, 1)) == 8 and ns["h"]((2, 3)) == 6
    assert ns["line"] == 10


def test_long_literals_octal_and_not_equal():
    ns = run_py2("x = 10L + 0777\ny = 1 <> 2\nu = unicode('a')\n")
    assert ns["x"] == 10 + 0o777 and ns["y"] is True and ns["u"] == "a"


def test_valid_python3_is_left_alone_unless_asked():
    code, translated = py2.compile_user_source(b"x = 7 / 2\n", "a.py")
    ns = {}
    exec(code, ns)
    assert not translated and ns["x"] == 3.5


def test_a_file_invalid_in_both_gets_python3s_syntax_error():
    with pytest.raises(SyntaxError) as info:
        py2.compile_user_source(b"def build(:\n    pass\n", "broken.py")
    assert info.value.filename == "broken.py" and info.value.lineno == 1


def test_tabs_in_indentation_count_eight_columns():
    ns = run_py2("def f():\n        x = 1\n\treturn x + 1\ny = f()\n")
    assert ns["y"] == 2


# -- through the command line ----------------------------------------------------------------------
BUILD = '''\
import cPickle, string
import lasagne
from lasagne.layers import InputLayer, Conv2DLayer, DenseLayer, MaxPool2DLayer, ConcatLayer
from helpers import branch_widths


def build(num_filters=64, classes=10):
    print "building with", num_filters / 4, "filters", `classes`
    widths = branch_widths(num_filters)
    l = InputLayer((None, 3, 12, 12), name="input")
    branches = []
    for i in xrange(len(widths)):
        branches.append(Conv2DLayer(l, widths[i], 3, pad=1, name="branch%d" % i))
    l = ConcatLayer(branches, name="concat")
    l = MaxPool2DLayer(l, 12 / 5, name="pool")
    sizes = {"fc": num_filters / 3}
    try:
        hidden = sizes.keys()[0]
    except IndexError, e:
        raise
    l = DenseLayer(l, sizes[hidden], name=hidden)
    return DenseLayer(l, int(round(classes * 0.25)), name=string.letters[15] + "rob")
'''

HELPERS = '''\
def branch_widths(n):
    return map(lambda d: n / d, [4, 8])
'''


@pytest.fixture
def project(tmp_path):
    (tmp_path / "net.py").write_text(BUILD)
    (tmp_path / "helpers.py").write_text(HELPERS)
    return tmp_path


def cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_python2_build_file_captures_python2_shapes(project):
    before = sorted(os.listdir(project))
    r = cli("capture", "--network", f"{project / 'net.py'}:build", "--lasagne", "compat", "--out", project / "a.json")
    assert r.returncode == 0, r.stderr
    notes = [l for l in r.stdout.splitlines() if "read as Python 2" in l]
    assert notes == ["note: net.py, helpers.py read as Python 2 (translated to Python 3 in memory; / between "
                     "integers floors as in Python 2)"], r.stdout
    assert "building with 16 filters 10" in r.stdout  # the print statement ran, with 64 / 4 == 16
    manifest = json.loads((project / "a.json").read_text())
    layers = {l["name"]: l for l in manifest["layers"]}
    assert layers["branch0"]["attrs"]["num_filters"] == 16 and layers["branch1"]["attrs"]["num_filters"] == 8
    assert layers["pool"]["attrs"]["pool_size"] == [2, 2]  # 12 / 5 == 2
    assert layers["fc"]["attrs"]["num_units"] == 21  # 64 / 3 == 21
    assert layers["prob"]["attrs"]["num_units"] == 3  # int(round(2.5)) == 3 in Python 2 (2 in Python 3)
    assert manifest["build"] == {"read_as_python2": ["net.py", "helpers.py"], "defaults": "num_filters=64, classes=10"}
    # nothing written beside the user's files: no __pycache__, no 2to3 backups
    assert sorted(os.listdir(project)) == sorted(before + ["a.json"])


def test_python2_export_records_it_and_runs(project):
    shapes = [(16, 3, 3, 3), (16,), (8, 3, 3, 3), (8,), (24 * 6 * 6, 21), (21,), (21, 3), (3,)]
    rng = np.random.default_rng(0)
    np.savez(project / "model.npz", *[rng.standard_normal(s).astype(np.float32) for s in shapes])
    r = cli(project / "model.npz", project / "out.onnx", "--network", f"{project / 'net.py'}:build", "--lasagne",
            "compat", "-q")
    assert r.returncode == 0 and r.stdout == "building with 16 filters 10\n", (r.stdout, r.stderr)
    meta = {p.key: p.value for p in onnx.load(project / "out.onnx").metadata_props}
    assert json.loads(meta["lasagne2onnx.read_as_python2"]) == ["net.py", "helpers.py"]
    assert "__pycache__" not in os.listdir(project)


def test_error_in_python2_code_names_the_users_line(project):
    (project / "bad.py").write_text("import lasagne\n\ndef build():\n    print 'x'\n    return 1 / 0\n")
    r = cli("capture", "--network", f"{project / 'bad.py'}:build", "--lasagne", "compat", "--out", project / "a.json")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "raised ZeroDivisionError" in lines[0] and lines[0].endswith(" at bad.py:5 (read as Python 2)"), lines
    assert not (project / "a.json").exists()


def test_valid_python3_failing_as_python2_code_does_is_read_as_python2(project):
    (project / "ints.py").write_text(textwrap.dedent('''\
        from lasagne.layers import InputLayer, DenseLayer
        def build(n=10):
            return DenseLayer(InputLayer((None, 4), name="input"), n / 4, name="fc")
    '''))  # valid Python 3, where 10 / 4 is 2.5: no number of units
    r = cli("capture", "--network", f"{project / 'ints.py'}:build", "--lasagne", "compat", "--out", project / "a.json")
    assert r.returncode == 0, r.stderr
    assert "note: ints.py read as Python 2 (translated to Python 3 in memory; / between integers floors as in " \
           "Python 2; as Python 3 it raised TypeError: 'float' object cannot be interpreted as an integer at " \
           "ints.py:3)" in r.stdout, r.stdout
    assert json.loads((project / "a.json").read_text())["layers"][1]["attrs"]["num_units"] == 2


def test_fractional_sizes_are_not_rounded_away(project):
    (project / "pad.py").write_text(textwrap.dedent('''\
        from lasagne.layers import InputLayer, Conv2DLayer, GlobalPoolLayer
        def build(n=9):
            l = InputLayer((None, 3, n / 2, n / 2), name="input")
            return GlobalPoolLayer(Conv2DLayer(l, 4, 3, name="conv"), name="pool")
    '''))  # Python 2: 4x4 images; read as Python 3 they are 4.5 wide, which Lasagne does not refuse
    r = cli("capture", "--network", f"{project / 'pad.py'}:build", "--lasagne", "compat", "--out", project / "a.json")
    assert r.returncode == 0, r.stderr
    assert "as Python 3 it returned a network whose layer 'input' (InputLayer) has output shape (None, 3, 4.5, 4.5): " \
           "a size that is not a whole number)" in r.stdout, r.stdout
    assert json.loads((project / "a.json").read_text())["layers"][1]["output_shape"] == [None, 4, 2, 2]


def test_python2_flag_reads_valid_python3_as_python2(project):
    (project / "ints.py").write_text(textwrap.dedent('''\
        from lasagne.layers import InputLayer, DenseLayer
        def build(n=10):
            return DenseLayer(InputLayer((None, 4), name="input"), int(n / 4 * 3), name="fc")
    '''))  # both readings build: 7 units in Python 3, 6 in Python 2 (the one the weights were trained with)
    args = ["capture", "--network", f"{project / 'ints.py'}:build", "--lasagne", "compat", "--out", project / "a.json"]
    for extra, units in (([], 7), (["--python2"], 6)):
        r = cli(*args, *extra)
        assert r.returncode == 0, r.stderr
        assert json.loads((project / "a.json").read_text())["layers"][1]["attrs"]["num_units"] == units
        assert ("read as Python 2" in r.stdout) == bool(extra)


def test_fractional_sizes_that_python2_would_not_fix_are_refused(project):
    (project / "true_div.py").write_text(textwrap.dedent('''\
        from __future__ import division
        from lasagne.layers import InputLayer, Conv2DLayer, GlobalPoolLayer
        def build(n=9):
            return GlobalPoolLayer(Conv2DLayer(InputLayer((None, 3, n / 2, n / 2), name="input"), 4, 3, name="c"))
    '''))
    r = cli("capture", "--network", f"{project / 'true_div.py'}:build", "--lasagne", "compat", "--out",
            project / "a.json")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1 and not (project / "a.json").exists(), r.stderr
    assert "layer 'input' (InputLayer) has output shape (None, 3, 4.5, 4.5): a size that is not a whole number" \
        in lines[0]


def _raise(source):
    try:
        exec(source, {})
    except Exception as e:
        return e
    raise AssertionError(f"{source!r} did not raise")


@pytest.mark.parametrize("source, python2", [
    ("xrange(3)", True), ("import cPickle", True), ("{'a': 1}.keys()[0]", True), ("map(str, [1])[0]", True),
    ("range(3)[0] = 1", True), ("{}.iteritems()", True), ("import string; string.letters", True),
    ("from itertools import izip", True), ("import numpy; numpy.zeros((2, 2.5))", True),
    ("undefined_name", False), ("import no_such_module_anywhere", False), ("[1][2]", False), ("int('x')", False),
    ("{}['k']", False), ("x = None; x[0]", False),
])
def test_failures_that_python2_code_has_when_read_as_python3(source, python2):
    assert py2.looks_like_python2(_raise(source)) is python2


def test_python2_package_with_implicit_relative_imports(tmp_path):
    pkg = tmp_path / "mynets"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "blocks.py").write_text("def width(n):\n    return n / 3\n")
    (pkg / "net.py").write_text(textwrap.dedent('''\
        import blocks                      # Python 2: the sibling module mynets.blocks
        from lasagne.layers import InputLayer, DenseLayer

        def build():
            print "width", blocks.width(10)
            return DenseLayer(InputLayer((None, 4), name="input"), blocks.width(10), name="fc")
    '''))
    r = cli("capture", "--network", f"{pkg / 'net.py'}:build", "--lasagne", "compat", "--out", tmp_path / "a.json")
    assert r.returncode == 0 and "width 3" in r.stdout, r.stdout + r.stderr
    assert json.loads((tmp_path / "a.json").read_text())["layers"][1]["attrs"]["num_units"] == 3
    assert sorted(os.listdir(pkg)) == ["__init__.py", "blocks.py", "net.py"]


def test_without_fissix_a_python2_file_says_what_is_missing(monkeypatch):
    """An environment without fissix (a user's old Theano one, running check's reference) gets the
    missing package named, not the file's Python 3 SyntaxError."""
    def no_fissix(in_package):
        raise ImportError("No module named 'fissix'")

    monkeypatch.setattr(py2, "_tool", no_fissix)
    with pytest.raises(ImportError, match=r"\(build.py, line 1\): reading it as Python 2 needs fissix \(pip install fissix\)"):
        py2.compile_user_source(b"print 'hello'\n", "build.py")


def test_translated_code_compiles_without_the_compilers_warnings(tmp_path):
    """``"\\s+"`` in Python 2 code (an invalid escape Python 3 warns about) prints nothing at export time."""
    (tmp_path / "esc.py").write_text(textwrap.dedent('''\
        import re
        from lasagne.layers import InputLayer, DenseLayer

        def build():
            print "splitting on", re.compile("\\s+").pattern
            return DenseLayer(InputLayer((None, 4), name="input"), 3, name="fc")
    '''))
    r = cli("capture", "--network", f"{tmp_path / 'esc.py'}:build", "--lasagne", "compat", "--out", tmp_path / "a.json")
    assert r.returncode == 0 and "splitting on \\s+" in r.stdout, r.stdout + r.stderr
    assert "escape" not in r.stderr and "warning" not in r.stderr, r.stderr


def test_python2_modules_in_folders_the_build_code_adds_to_sys_path(tmp_path):
    """A wrapper that puts its project's folder on ``sys.path`` and imports Python 2 modules from it:
    those modules are the user's too, read as Python 2 (and nothing is written beside them)."""
    (tmp_path / "project").mkdir()
    (tmp_path / "wrapper").mkdir()
    (tmp_path / "project" / "blocks.py").write_text("def width(n):\n    for i in xrange(1):\n        return n / 4\n")
    (tmp_path / "project" / "printer.py").write_text("def width(n):\n    print 'printer', n / 4\n    return n / 4\n")
    (tmp_path / "wrapper" / "build.py").write_text(textwrap.dedent('''\
        import os, sys
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "project"))
        import blocks
        import printer
        from lasagne.layers import InputLayer, DenseLayer

        def build():
            return DenseLayer(InputLayer((None, 4), name="input"), blocks.width(10) + printer.width(10), name="fc")
    '''))  # valid Python 3; blocks.py fails as Python 2 code does (xrange), printer.py is Python 2 only
    r = cli("capture", "--network", f"{tmp_path / 'wrapper' / 'build.py'}:build", "--lasagne", "compat", "--out",
            tmp_path / "a.json")
    assert r.returncode == 0 and "printer 2" in r.stdout, r.stdout + r.stderr
    manifest = json.loads((tmp_path / "a.json").read_text())
    assert manifest["layers"][1]["attrs"]["num_units"] == 4  # 10 / 4 == 2, twice
    assert manifest["build"] == {"read_as_python2": ["build.py", "blocks.py", "printer.py"]}
    assert sorted(os.listdir(tmp_path / "project")) == ["blocks.py", "printer.py"]


def test_installed_packages_on_an_added_path_are_not_translated(tmp_path):
    """A folder the build code adds that is an installed-packages folder is not the user's code."""
    lib = tmp_path / "old" / "site-packages"
    lib.mkdir(parents=True)
    (lib / "oldlib.py").write_text("print 'old'\n")
    (tmp_path / "build.py").write_text(textwrap.dedent(f'''\
        import sys
        sys.path.insert(0, {str(lib)!r})
        import oldlib
        def build():
            pass
    '''))
    r = cli("capture", "--network", f"{tmp_path / 'build.py'}:build", "--lasagne", "compat", "--out",
            tmp_path / "a.json", "--python2")
    assert r.returncode == 2 and "SyntaxError" in r.stderr and "oldlib.py" in r.stderr, r.stdout + r.stderr


def test_implicit_relative_import_in_valid_python3_is_read_as_python2(tmp_path):
    """``import BatchNormLayer`` beside BatchNormLayer.py in a package parses as Python 3 but finds
    nothing there: Python 2's implicit relative import, so the build is read as Python 2."""
    pkg = tmp_path / "configurations"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "BatchNormLayer.py").write_text("def width(n):\n    return n / 4\n")
    (pkg / "model.py").write_text(textwrap.dedent('''\
        import BatchNormLayer
        from lasagne.layers import InputLayer, DenseLayer

        def build():
            return DenseLayer(InputLayer((None, 4), name="input"), BatchNormLayer.width(10), name="fc")
    '''))
    (tmp_path / "build.py").write_text("from configurations import model\n\ndef build():\n    return model.build()\n")
    for network in (tmp_path / "build.py", pkg / "model.py"):
        r = cli("capture", "--network", f"{network}:build", "--lasagne", "compat", "--out", tmp_path / "a.json")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "ModuleNotFoundError: No module named 'BatchNormLayer' at model.py:1" in r.stdout, r.stdout
        assert json.loads((tmp_path / "a.json").read_text())["layers"][1]["attrs"]["num_units"] == 2
    (pkg / "model.py").write_text("import Missing\n\ndef build():\n    pass\n")  # beside it: nothing
    r = cli("capture", "--network", f"{pkg / 'model.py'}:build", "--lasagne", "compat", "--out", tmp_path / "a.json")
    # not read as Python 2: a module missing here, stood in for (tests/test_missing_modules.py)
    assert r.returncode == 2 and "model.py:1 imports 'Missing', which is not installed" in r.stderr
    assert "Python 2" not in r.stdout + r.stderr


def test_failure_says_what_reading_it_as_python2_gave(project):
    (project / "both.py").write_text(textwrap.dedent('''\
        from lasagne.layers import InputLayer
        def build():
            for i in xrange(1):
                pass
            return InputLayer((None, 3.0 / 2 * 2.5), name="input")
    '''))  # fails as Python 3 (xrange) and as Python 2 (a fractional size): both are said
    r = cli("capture", "--network", f"{project / 'both.py'}:build", "--lasagne", "compat", "--out", project / "a.json")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert lines[0].endswith("raised NameError: name 'xrange' is not defined at both.py:3; read as Python 2 (as "
                             "--python2 does) it returned a network whose layer 'input' (InputLayer) has output shape "
                             "(None, 3.75): a size that is not a whole number"), lines
