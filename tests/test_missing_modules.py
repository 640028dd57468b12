"""A build file importing what this Python lacks (skimage, plotting, a data loader) at its top: the
import gets a stand-in and a warning, the network builds unless it uses the module, in which case
the build is refused naming the module and the import's line.  A file's own ImportError fallback
and Python 2 modules are left alone."""
import os
import subprocess
import sys
import textwrap

import pytest

from exporter.frontends import missing_modules
from exporter.frontends.network_file import user_frame

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MISSING = "lasagne2onnx_test_not_installed"  # no such module anywhere

HEADER = f'''
    import numpy as np
    from lasagne.layers import DenseLayer, InputLayer
    import {MISSING}.transform
    from {MISSING} import color
    try:
        import {MISSING}_too as optional
    except ImportError:
        optional = None
'''


def capture(tmp_path, body, fn="build"):
    (tmp_path / "net.py").write_text(textwrap.dedent(HEADER) + textwrap.dedent(body))
    return subprocess.run([sys.executable, "-m", "exporter", "capture", "--network", f"{tmp_path / 'net.py'}:{fn}",
                           "--lasagne", "compat", "--out", str(tmp_path / "a.json")], capture_output=True, text=True,
                          cwd=ROOT)


def test_an_unused_missing_module_gets_a_stand_in_and_a_warning(tmp_path):
    r = capture(tmp_path, '''
        def build():
            assert optional is None  # the file's own fallback ran: no stand-in for a caught ImportError
            return DenseLayer(InputLayer((None, 4)), 3)
    ''')
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.json").exists()
    warnings = [l for l in r.stderr.splitlines() if "stand-in" in l]
    assert warnings == [f"warning: net.py:4 imports {MISSING!r}, which is not installed in this Python; a stand-in "
                        f"took its place (the build fails, naming it, if the network uses it)"], r.stderr


@pytest.mark.parametrize("use, verb", [("color.rgb2gray(np.zeros(3))", "calls"),
                                       (f"{MISSING}.transform.SCALE * 2", "uses"),
                                       ("list(color.names)", "uses")])
def test_using_a_stand_in_refuses_the_build_naming_it(tmp_path, use, verb):
    r = capture(tmp_path, f'''
        def build():
            l = InputLayer((None, 4))
            n = {use}
            return DenseLayer(l, 3)
    ''')
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "a.json").exists()
    error = r.stderr.strip().splitlines()[-1]
    assert error.startswith(f"error: {tmp_path / 'net.py'}:build: the build {verb} {MISSING}."), error
    assert f"{MISSING!r} is not installed in this Python (a stand-in took its place for the import at net.py:" \
           in error, error


def test_calls_given_plain_values_build_and_their_results_are_stand_ins(tmp_path):
    """``colorlog.basicConfig(level=colorlog.DEBUG)`` or ``install_aliases()`` at a file's top (pixel-rnn-lasagne,
    BinaryNet scripts): harmless, the network builds; a layer given to a stand-in, or a use of a call's result,
    is refused."""
    body = f'''
        {MISSING}.basicConfig(level={MISSING}.DEBUG, fmt="%(message)s")
        log = {MISSING}.getLogger(__name__)

        def build():
            log.info("building", 3)
            l = InputLayer((None, 4))
            USE
            return DenseLayer(l, 3)
    '''
    r = capture(tmp_path, body.replace("USE", "pass"))
    assert r.returncode == 0, r.stderr
    for use, said in (("color.register(l)", "calls"), ("n = int(color.get_count('x'))", "uses")):
        r = capture(tmp_path, body.replace("USE", use))
        assert r.returncode == 2 and f"the build {said} {MISSING}.color." in r.stderr, r.stderr


@pytest.mark.parametrize("use", ["pass", "imresize(l, 2)"])
def test_a_name_an_installed_module_lost_gets_a_stand_in(tmp_path, use):
    """``from scipy.misc import imresize`` (removed in SciPy 1.3) in a file whose network does not use it."""
    r = capture(tmp_path, f'''
        from json import imresize

        def build():
            l = InputLayer((None, 4))
            {use}
            return DenseLayer(l, 3)
    ''')
    if use == "pass":
        assert r.returncode == 0, r.stderr
        assert "warning: net.py:11 imports 'imresize' from 'json', which has no such name in this Python" in r.stderr
        import json

        assert not hasattr(json, "imresize")  # in this process; the build's stand-in left json with the build
    else:
        assert r.returncode == 2 and "the build calls json.imresize, but 'json' has no 'imresize' in this Python " \
                                     "(a stand-in took its place for the import at net.py:11" in r.stderr, r.stderr


def test_subclassing_a_stand_in_refuses_the_import(tmp_path):
    r = capture(tmp_path, '''
        class MyLayer(color.Base):
            pass

        def build():
            return DenseLayer(InputLayer((None, 4)), 3)
    ''')
    assert r.returncode == 2 and "importing the network file failed: the build subclasses " \
                                  f"{MISSING}.color.Base" in r.stderr, r.stderr


def test_python2_modules_are_read_as_python2_not_stood_in(tmp_path):
    r = capture(tmp_path, '''
        import cPickle

        def build():
            assert cPickle.HIGHEST_PROTOCOL >= 2  # pickle, once read as Python 2
            return DenseLayer(InputLayer((None, 4)), 3)
    ''')
    assert r.returncode == 0, r.stderr
    assert "cPickle" not in r.stderr, r.stderr  # no stand-in: the file was read as Python 2, as --python2 does


def test_stand_ins_leave_sys_modules_with_the_import(tmp_path):
    (tmp_path / "mod.py").write_text(f"import {MISSING}.deep.er\nvalue = {MISSING}.deep\n")

    def import_file(path):
        import importlib.util

        spec = importlib.util.spec_from_file_location("_lasagne2onnx_user_network_mod", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    with pytest.warns(missing_modules.MissingModuleWarning, match="mod.py:1 imports"):
        module = missing_modules.import_with_stand_ins(import_file, str(tmp_path / "mod.py"), user_frame)
    assert "stand-in" in repr(module.value)
    assert not any(m.split(".")[0] == MISSING for m in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        __import__(MISSING)
