"""Pickled weights: Lasagne model-zoo ``.pkl`` files and plain pickled parameter lists.

The model zoo ships Python 2 pickles of ``{'param values': [...], 'synset words': [...], 'mean
value': ...}``.  Python 2 cannot run here, so ``py2_pickle`` writes the stream Python 2's cPickle
wrote (protocol 2, byte strings as BINSTRING opcodes, numpy 1's ``numpy.core`` module paths).  The
weights are the bundled example's, so every export is checked against the output real Theano
computed for them (``models/example/reference.npz``).
"""
import io
import json
import os
import pickle
import struct

import numpy as np
import onnx
import pytest

from tests.test_errors import ROOT, assert_refused, cli

EXAMPLE = os.path.join(ROOT, "models", "example")
NETWORK = os.path.join(EXAMPLE, "build.py") + ":build_model"
REFERENCE = os.path.join(EXAMPLE, "reference.npz")


class _Py2Pickler(pickle._Pickler):
    """Writes ``bytes`` the way Python 2 wrote ``str``: (SHORT_)BINSTRING, read back as latin-1 text."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(obj) -> bytes:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue().replace(b"cnumpy._core.", b"cnumpy.core.")  # the module numpy 1 (and 2.7) named


def example_params():
    with np.load(os.path.join(EXAMPLE, "model.npz")) as z:
        return [z[f"arr_{i}"] for i in range(sum(k.startswith("arr_") for k in z.files))]


LABELS = [f"class {i}" for i in range(10)]


@pytest.fixture
def zoo_pkl(tmp_path):
    path = tmp_path / "example.pkl"
    path.write_bytes(py2_pickle({b"param values": example_params(), b"synset words": [l.encode() for l in LABELS],
                                 b"mean value": np.array([0.25]), b"mean image": np.zeros((3, 64, 64))}))
    assert b"numpy.core.multiarray" in path.read_bytes() and b"_codecs" not in path.read_bytes()
    return path


def export_pkl(pkl, out, *extra):
    return cli(pkl, out, "--network", NETWORK, "--lasagne", "compat", "--expect", REFERENCE, *extra)


def test_model_zoo_pickle_exports_and_matches_theano(zoo_pkl, tmp_path):
    out = tmp_path / "out" / "example.onnx"
    r = export_pkl(zoo_pkl, out, "--trust-pickle")
    assert r.returncode == 0, r.stderr
    assert "matches" in r.stdout and "on output 'prob'" in r.stdout
    assert "kept 'synset words', 'mean value'" in r.stdout and "left out 'mean image' (an array of 12,288" in r.stdout
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["lasagne2onnx.pickle.synset words"]) == LABELS
    assert json.loads(props["lasagne2onnx.pickle.mean value"]) == [0.25]
    assert "lasagne2onnx.pickle.mean image" not in props


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickled_parameter_list_exports_and_matches_theano(tmp_path, protocol):
    """``pickle.dump(get_all_param_values(net), f)``, as C3D's weights and many research nets were saved."""
    pkl = tmp_path / "params.pkl"
    pkl.write_bytes(pickle.dumps(example_params(), protocol=protocol))
    r = export_pkl(pkl, tmp_path / "out.onnx", "--trust-pickle", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out.onnx").exists()


def test_pickle_needs_the_trust_flag(zoo_pkl, tmp_path):
    r = export_pkl(zoo_pkl, tmp_path / "out" / "m.onnx")
    assert_refused(r, tmp_path / "out" / "m.onnx", "example.pkl", "pickle", "--trust-pickle")


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_pickle_that_calls_code_is_refused_even_when_trusted(tmp_path):
    marker = str(tmp_path / "pwned")
    pkl = tmp_path / "evil.pkl"
    pkl.write_bytes(pickle.dumps({"param values": example_params()[:-1] + [_RunsCode(marker)]}, protocol=2))
    r = export_pkl(pkl, tmp_path / "out" / "m.onnx", "--trust-pickle")
    assert_refused(r, tmp_path / "out" / "m.onnx", "evil.pkl", "mkdir", "not a numpy array constructor")
    assert not os.path.exists(marker)


def test_npz_object_array_that_calls_code_is_refused_even_when_trusted(tmp_path):
    marker = str(tmp_path / "pwned")
    params = example_params()
    params[1] = np.array([_RunsCode(marker)], dtype=object)
    np.savez(tmp_path / "evil.npz", *params)
    r = export_pkl(tmp_path / "evil.npz", tmp_path / "out" / "m.onnx", "--trust-pickle")
    assert_refused(r, tmp_path / "out" / "m.onnx", "evil.npz", "arr_1", "mkdir")
    assert not os.path.exists(marker)


@pytest.mark.parametrize("content, words", [
    ({"weights": []}, ["'param values' or 'values'", "'weights'"]),
    ({"values": np.zeros(3)}, ["['values'] is a ndarray", "list of parameter arrays"]),
    ([np.zeros(3), "three"], ["[1] is str, not a numeric array"]),
])
def test_pickle_without_a_parameter_list_is_refused(tmp_path, content, words):
    pkl = tmp_path / "odd.pkl"
    pkl.write_bytes(pickle.dumps(content))
    r = export_pkl(pkl, tmp_path / "out" / "m.onnx", "--trust-pickle")
    assert_refused(r, tmp_path / "out" / "m.onnx", "odd.pkl", *words)


def test_truncated_pickle_is_refused(zoo_pkl, tmp_path):
    data = zoo_pkl.read_bytes()
    (tmp_path / "half.pkl").write_bytes(data[:len(data) // 2])
    r = export_pkl(tmp_path / "half.pkl", tmp_path / "out" / "m.onnx", "--trust-pickle")
    assert_refused(r, tmp_path / "out" / "m.onnx", "half.pkl", "truncated or corrupt")


def test_embed_manifest_needs_an_npz(zoo_pkl, tmp_path):
    before = zoo_pkl.read_bytes()
    r = export_pkl(zoo_pkl, tmp_path / "out" / "m.onnx", "--trust-pickle", "--embed-manifest")
    assert_refused(r, tmp_path / "out" / "m.onnx", "--embed-manifest", "example.pkl", "--manifest")
    assert zoo_pkl.read_bytes() == before
