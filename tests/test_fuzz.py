"""Deterministic fuzzing of the exporter's inputs: mutated ``model.npz`` files and manifests.

Whatever the input, ``python -m exporter`` must either export (exit 0) or refuse with exit status 2
and an ``error:`` line, leaving no output (nor temporary) file: never an uncaught exception.  The
exporter runs in-process (:func:`exporter.cli.main`) for speed; every mutation comes from a seeded
``random.Random``, so a failure names a reproducible case (its label).
"""
import copy
import io
import json
import os
import random
import struct
import warnings
import zipfile

import numpy as np
import pytest

from exporter.cli import main

# LASAGNE2ONNX_FUZZ_SEED / _SCALE explore further (e.g. SCALE=10 runs ten times as many cases)
SEED = int(os.environ.get("LASAGNE2ONNX_FUZZ_SEED", "20240611"))
SCALE = float(os.environ.get("LASAGNE2ONNX_FUZZ_SCALE", "1"))
N_NPZ = int(600 * SCALE)  # byte-level and .npy-header mutations of the weights file
N_PICKLE = int(90 * SCALE)  # corrupt pickles read with --trust-pickle
N_MANIFEST = int(750 * SCALE)  # structural mutations of the architecture manifest
N_EMBEDDED = int(90 * SCALE)  # mutated manifests embedded in the npz (no --manifest)

BUILD = '''
def build():
    import lasagne
    from lasagne.layers import (BatchNormLayer, ConcatLayer, Conv2DLayer, DenseLayer, DropoutLayer,
                                ElemwiseSumLayer, InputLayer, MaxPool2DLayer, Pool2DLayer, ReshapeLayer)
    l_in = InputLayer((None, 3, 8, 8), name="input")
    c1 = Conv2DLayer(l_in, 4, 3, pad="same", name="conv1")
    bn = BatchNormLayer(c1, name="bn")
    c2 = Conv2DLayer(l_in, 4, 1, nonlinearity=lasagne.nonlinearities.tanh, name="conv2")
    s = ElemwiseSumLayer([bn, c2], name="sum")
    cat = ConcatLayer([s, c1], name="cat")
    p = MaxPool2DLayer(cat, 2, name="pool")
    a = Pool2DLayer(p, 2, mode="average_exc_pad", ignore_border=False, name="avg")
    r = ReshapeLayer(a, ([0], -1), name="reshape")
    d = DropoutLayer(r, 0.5, name="drop")
    return DenseLayer(d, 5, nonlinearity=lasagne.nonlinearities.softmax, name="prob")
'''


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A valid network (manifest + weights + npz with the manifest embedded) to mutate."""
    from exporter.frontends.network_file import capture_network
    from exporter.weights import MANIFEST_KEY

    d = tmp_path_factory.mktemp("fuzz")
    (d / "net.py").write_text(BUILD)
    graph = capture_network(f"{d / 'net.py'}:build", "compat")
    rng = np.random.default_rng(0)
    shapes = {p.key: p.shape for l in graph.layers for p in l.params}
    weights = [rng.standard_normal(shapes[k]).astype(np.float32) for k in graph.param_keys]
    manifest = graph.to_dict()
    buf = io.BytesIO()
    np.savez(buf, *weights)
    embedded = io.BytesIO()
    np.savez(embedded, *weights, **{MANIFEST_KEY: np.frombuffer(graph.to_json().encode(), np.uint8)})
    return {"dir": d, "manifest": manifest, "weights": weights, "npz": buf.getvalue(),
            "embedded_npz": embedded.getvalue(), "manifest_key": MANIFEST_KEY}


class Runner:
    """Runs the CLI in-process and checks the outcome contract; counts outcomes."""

    def __init__(self, directory, capsys):
        self.dir, self.capsys = directory, capsys
        self.out_dir = directory / "out"
        self.out_dir.mkdir(exist_ok=True)
        self.outcomes = {0: 0, 2: 0}
        self.errors = set()

    def __call__(self, label, npz_bytes, manifest=None, extra=()):
        for f in os.listdir(self.out_dir):
            os.unlink(self.out_dir / f)
        npz = self.dir / "model.npz"
        npz.write_bytes(npz_bytes)
        argv = [str(npz), str(self.out_dir / "model.onnx"), *extra]
        if manifest is not None:
            (self.dir / "arch.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))
            argv += ["--manifest", str(self.dir / "arch.json")]
        self.capsys.readouterr()
        try:
            rc = main(argv)
        except SystemExit as e:  # argparse only; the arguments here are always well-formed
            raise AssertionError(f"{label}: SystemExit({e.code})") from e
        except Exception as e:
            raise AssertionError(f"{label}: uncaught {type(e).__name__}: {e}") from e
        cap = self.capsys.readouterr()
        assert rc in (0, 2), f"{label}: exit status {rc}\n{cap.err}"
        assert "Traceback" not in cap.err, f"{label}: {cap.err}"
        self.outcomes[rc] += 1
        if rc == 0:
            assert (self.out_dir / "model.onnx").exists(), label
        else:
            errors = [l for l in cap.err.splitlines() if l.startswith("error: ")]
            assert len(errors) == 1, f"{label}: expected one error line, got:\n{cap.err}"
            assert os.listdir(self.out_dir) == [], f"{label}: left {os.listdir(self.out_dir)}"
            self.errors.add(errors[0].split(":", 2)[-1][:40])
        return rc


# -- npz mutations ------------------------------------------------------------------------------------
def _members(npz_bytes):
    with zipfile.ZipFile(io.BytesIO(npz_bytes)) as zf:
        return [(i.filename, zf.read(i)) for i in zf.infolist()]


def _zip(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", compression) as zf:
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def _npy(header, data, version=(1, 0)):
    """A .npy member with an arbitrary header text (padded as numpy does)."""
    text = header if isinstance(header, str) else repr(header)
    pad = 64 - (10 + len(text) + 1) % 64
    text = text + " " * pad + "\n"
    if version == (1, 0):
        head = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text))
    else:
        head = b"\x93NUMPY" + bytes(version) + struct.pack("<I", len(text))
    return head + text.encode("latin1") + data


JUNK_VALUES = [None, 0, -1, 1, 7, 2 ** 40, -(2 ** 62), 1.5, float("nan"), "x", "", [], {}, True, [None], [-3],
               [1, "a"], {"name": "linear"}, [[1, 2]], "NaN", 1e300]
DESCRS = ["<f4", ">f4", "<f8", "<f2", "<i4", ">i8", "|u1", "|b1", "<c8", "|O", "<U4", "|V4", "|S3", "<M8[s]",
          "garbage", "[('a', '<f4')]", 123, None, ("<f4", (2,)), [("a", "<f4"), ("b", "<i2")], "<f16", "f4"]


def mutate_header(rng, name, data):
    """Re-encode one member with a corrupt but well-packed .npy header (the zip CRC stays valid)."""
    arr = np.lib.format.read_array(io.BytesIO(data))
    payload = np.ascontiguousarray(arr).tobytes()
    header = {"descr": np.lib.format.dtype_to_descr(arr.dtype), "fortran_order": False, "shape": arr.shape}
    what = rng.choice(["shape", "shape", "descr", "descr", "fortran", "keys", "text", "payload", "version"])
    version = (1, 0)
    if what == "shape":
        header["shape"] = rng.choice([(), (0,), (-1,), (2 ** 31, 2 ** 31), tuple(d + 1 for d in arr.shape),
                                      arr.shape[::-1], arr.shape + (1,), (arr.size,), (None,), ("a",), 1.5,
                                      (2 ** 63,), (-4, -1), tuple(rng.randint(0, 9) for _ in range(rng.randint(0, 5)))])
    elif what == "descr":
        header["descr"] = rng.choice(DESCRS)
    elif what == "fortran":
        header["fortran_order"] = rng.choice([True, 1, "yes", None])
        if header["fortran_order"] is True:
            payload = np.asfortranarray(arr).tobytes(order="F")
    elif what == "keys":
        key = rng.choice(["descr", "fortran_order", "shape"])
        if rng.random() < 0.5:
            del header[key]
        else:
            header[key + "_extra"] = 1
    elif what == "text":
        return name, _npy(rng.choice(["{", "not a dict", "[1, 2]", "{'descr': '<f4'", "__import__('os')",
                                      "{'descr': '<f4', 'fortran_order': False, 'shape': (1e999,), }"]), payload)
    elif what == "payload":
        cut = rng.randint(0, max(0, len(payload) - 1))
        payload = payload[:cut] if rng.random() < 0.5 else payload + bytes(rng.randint(1, 9))
    elif what == "version":
        version = rng.choice([(2, 0), (3, 0), (0, 0), (9, 9)])
    return name, _npy(header, payload, version)


def mutate_npz(rng, npz_bytes):
    """One random mutation of the npz; returns (description, bytes)."""
    kind = rng.choice(["flip", "insert", "delete", "truncate", "swap", "rename", "header", "header", "header",
                       "duplicate", "drop", "extra", "deflate", "empty_member"])
    data = bytearray(npz_bytes)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        return kind, bytes(data)
    if kind == "insert":
        i = rng.randrange(len(data))
        return kind, bytes(data[:i] + bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))) + data[i:])
    if kind == "delete":
        i = rng.randrange(len(data))
        return kind, bytes(data[:i] + data[i + rng.randint(1, 32):])
    if kind == "truncate":
        return kind, bytes(data[:rng.randrange(len(data))])
    members = _members(npz_bytes)
    if kind == "swap":
        i, j = rng.sample(range(len(members)), 2)
        names = [m[0] for m in members]
        names[i], names[j] = names[j], names[i]
        return f"swap {names[j]}<->{names[i]}", _zip([(n, m[1]) for n, m in zip(names, members)])
    if kind == "rename":
        i = rng.randrange(len(members))
        new = rng.choice(["arr_99.npy", "weights.npy", "arr_x.npy", "arr_1", "../arr_0.npy", "dir/", "arr_01.npy",
                          members[(i + 1) % len(members)][0]])
        members[i] = (new, members[i][1])
        return f"rename {new}", _zip(members)
    if kind == "header":
        i = rng.randrange(len(members))
        members[i] = mutate_header(rng, *members[i])
        return f"header {members[i][0]}", _zip(members)
    if kind == "duplicate":
        members.append(rng.choice(members))
        return kind, _zip(members)
    if kind == "drop":
        del members[rng.randrange(len(members))]
        return kind, _zip(members)
    if kind == "extra":
        members.append(("extra.npy", _npy({"descr": "<f4", "fortran_order": False, "shape": (2,)}, bytes(8))))
        return kind, _zip(members)
    if kind == "deflate":  # compressed members (np.savez_compressed), then corrupt a byte of the deflate stream
        z = bytearray(_zip(members, zipfile.ZIP_DEFLATED))
        i = rng.randrange(64, max(65, len(z) // 2))
        z[i] ^= 0xFF
        return kind, bytes(z)
    members[rng.randrange(len(members))] = (members[0][0], b"")
    return kind, _zip(members)


def test_fuzz_weights_file(base, capsys):
    rng = random.Random(SEED)
    run = Runner(base["dir"], capsys)
    run("unmutated", base["npz"], base["manifest"], ["--no-optimize"])
    for i in range(N_NPZ):
        what, data = mutate_npz(rng, base["npz"])
        extra = ["--no-optimize"] + (["--trust-pickle"] if i % 5 == 0 else [])
        run(f"npz #{i} ({what}, seed {SEED})", data, base["manifest"], extra)
    assert run.outcomes[0] >= 5 and run.outcomes[2] >= N_NPZ // 2, run.outcomes
    assert len(run.errors) >= 8, sorted(run.errors)


def test_fuzz_pickled_weights_with_trust_pickle(base, capsys):
    """--trust-pickle unpickles: a corrupt pickle must still be a clean error."""
    rng = random.Random(SEED + 1)
    run = Runner(base["dir"], capsys)
    weights = list(base["weights"])
    weights[1] = np.array(weights[1].tolist(), dtype=object)
    buf = io.BytesIO()
    np.savez(buf, *weights)
    members = _members(buf.getvalue())
    run("pickled, unmutated", buf.getvalue(), base["manifest"], ["--trust-pickle", "--no-optimize"])
    assert run.outcomes[0] == 1
    for i in range(N_PICKLE):
        name, data = members[1]
        data = bytearray(data)
        start = 128  # past the .npy header: corrupt the pickle itself
        for _ in range(rng.randint(1, 4)):
            j = rng.randrange(start, len(data))
            if rng.random() < 0.5:
                data[j] = rng.randrange(256)
            else:
                del data[j:j + rng.randint(1, 8)]
        m = list(members)
        m[1] = (name, bytes(data))
        run(f"pickle #{i}", _zip(m), base["manifest"], ["--trust-pickle", "--no-optimize"])


# -- manifest mutations -------------------------------------------------------------------------------
def _paths(obj, prefix=()):
    """Every (path, value) inside a JSON object."""
    yield prefix, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


def _set(obj, path, value):
    for p in path[:-1]:
        obj = obj[p]
    if value is _DELETE:
        del obj[path[-1]]
    else:
        obj[path[-1]] = value


_DELETE = object()
KINDS = ["Bogus", "", "input", "Dense", "Conv", "Pool", "Concat", "ElemwiseSum", "Reshape", "Dropout",
         "BatchNorm", "Nonlinearity", "Input", None, 3]


def mutate_manifest(rng, manifest):
    """One structural mutation of the manifest dict; returns (description, manifest or JSON text)."""
    m = copy.deepcopy(manifest)
    layers = m["layers"]
    kind = rng.choice(["delete", "delete", "type", "type", "type", "value", "kind", "cycle", "missing_input",
                       "negative_shape", "param", "outputs", "duplicate_name", "reorder", "text", "attrs_value"])
    paths = [p for p, _ in _paths(m) if p]
    if kind == "delete":
        p = rng.choice(paths)
        _set(m, p, _DELETE)
        return f"delete {p}", m
    if kind == "type":
        p = rng.choice(paths)
        v = rng.choice(JUNK_VALUES)
        _set(m, p, v)
        return f"set {p}={v!r}", m
    if kind in ("value", "attrs_value"):  # numbers inside the layers: sizes, strides, pads, shapes
        nums = [p for p, v in _paths(m) if p and p[0] == "layers" and isinstance(v, (int, float))
                and not isinstance(v, bool) and (kind == "value" or "attrs" in p)]
        p = rng.choice(nums)
        v = rng.choice([0, -1, -2, 1, 2, 3, 5, 100, 10 ** 6, 2 ** 40, 0.5, -0.5])
        _set(m, p, v)
        return f"number {p}={v!r}", m
    if kind == "kind":
        i = rng.randrange(len(layers))
        layers[i]["kind"] = rng.choice(KINDS)
        return f"kind layers[{i}]={layers[i]['kind']!r}", m
    if kind == "cycle":
        i = rng.randrange(1, len(layers))
        j = rng.randrange(i, len(layers))
        layers[i]["inputs"] = [layers[j]["name"]] + layers[i]["inputs"][1:]
        return f"cycle {layers[i]['name']}<-{layers[j]['name']}", m
    if kind == "missing_input":
        i = rng.randrange(len(layers))
        layers[i]["inputs"] = layers[i]["inputs"] + ["nowhere"] if rng.random() < 0.5 else ["nowhere"]
        return f"missing input of {layers[i]['name']}", m
    if kind == "negative_shape":
        i = rng.randrange(len(layers))
        shape = list(layers[i]["output_shape"])
        shape[rng.randrange(len(shape))] = rng.choice([-1, 0, -100])
        layers[i]["output_shape"] = shape
        with_params = [l for l in layers if l["params"]]
        if rng.random() < 0.5:
            p = rng.choice(rng.choice(with_params)["params"])
            p["shape"] = [rng.choice([-1, 0, d]) for d in p["shape"]]
        return f"negative shape {layers[i]['name']}", m
    if kind == "param":
        l = rng.choice([l for l in layers if l["params"]])
        p = rng.choice(l["params"])
        what = rng.choice(["key", "role", "share", "extra", "drop"])
        if what == "key":
            p["key"] = rng.choice(["arr_99", "arr_-1", "weights", "", "arr_0"])
        elif what == "role":
            p["role"] = rng.choice(["X", "", "W", "b", "gamma"])
        elif what == "share":
            p["key"] = rng.choice([q["key"] for q in rng.choice([l for l in layers if l["params"]])["params"]])
        elif what == "extra":
            l["params"].append({"role": "W2", "shape": [3], "key": "arr_1"})
        else:
            l["params"].remove(p)
        return f"param {what} of {l['name']}", m
    if kind == "outputs":
        m["outputs"] = rng.choice([[], ["nowhere"], ["input"], [layers[3]["name"], "prob"], "prob", [["prob"]],
                                   ["prob", "prob"]])
        return f"outputs={m['outputs']!r}", m
    if kind == "duplicate_name":
        i, j = rng.sample(range(len(layers)), 2)
        layers[i]["name"] = layers[j]["name"]
        return f"duplicate name {layers[j]['name']}", m
    if kind == "reorder":
        rng.shuffle(layers)
        return kind, m
    text = json.dumps(m)
    cut = rng.randrange(len(text))
    return "text", rng.choice([text[:cut], text[:cut] + "}" + text[cut:], text.replace('"', "'", 3), "[" * 5000,
                               "null", "1e999", '{"format": "lasagne2onnx.layergraph", "version": 1}'])


def test_fuzz_manifest(base, capsys):
    rng = random.Random(SEED + 2)
    run = Runner(base["dir"], capsys)
    for i in range(N_MANIFEST):
        what, manifest = mutate_manifest(rng, base["manifest"])
        extra = ["--no-optimize"] if i % 3 else []
        run(f"manifest #{i} ({what}, seed {SEED + 2})", base["npz"], manifest, extra)
    assert run.outcomes[0] >= 5 and run.outcomes[2] >= N_MANIFEST // 2, run.outcomes
    assert len(run.errors) >= 8, sorted(run.errors)


def test_fuzz_embedded_manifest(base, capsys):
    """The manifest stored inside the npz goes through the same validation."""
    rng = random.Random(SEED + 3)
    run = Runner(base["dir"], capsys)
    key = base["manifest_key"]
    run("embedded, unmutated", base["embedded_npz"], None, ["--no-optimize"])
    assert run.outcomes[0] == 1
    for i in range(N_EMBEDDED):
        what, manifest = mutate_manifest(rng, base["manifest"])
        text = manifest if isinstance(manifest, str) else json.dumps(manifest)
        if i % 4 == 0:  # bytes that are not UTF-8
            text = text.encode()[:-3] + b"\xff\xfe"
        buf = io.BytesIO()
        payload = np.frombuffer(text if isinstance(text, bytes) else text.encode(), np.uint8)
        np.savez(buf, *base["weights"], **{key: payload})
        run(f"embedded #{i} ({what})", buf.getvalue(), None, ["--no-optimize"])


# -- manifests attribute by attribute -----------------------------------------------------------------
# sizes and counts Lasagne needs >= 1, and amounts it needs >= 0 (a captured value never breaks these)
SIZE_ATTRS = {"num_filters", "num_units", "filter_size", "stride", "pool_size", "scale_factor", "n", "outdim",
              "num_groups", "dilation"}
NON_NEGATIVE_ATTRS = {"pad", "pads", "output_padding", "crop", "axes", "shared_axes", "num_leading_axes"}


def wrong_values(attr, value):
    """Values of another type than the captured ``value`` of attribute ``attr``, or out of its range or enum."""
    if isinstance(value, bool):
        return [None, 0, 1, 1.0, "true", "no", [], {}]
    if isinstance(value, int):
        out = [None, True, str(value), float(value), value + 0.5, [value], {}, 2 ** 40, -(2 ** 40)]
        return out + ([0, -1] if attr in SIZE_ATTRS else [-1] if attr in NON_NEGATIVE_ATTRS else [])
    if isinstance(value, float):
        return [None, True, str(value), [value], {}]
    if isinstance(value, str):  # every string attribute is one of a few names
        return [None, 0, True, "bogus", "", value.upper(), [value], {}]
    if value is None:
        return [True, "bogus", 1.5, {}]
    if isinstance(value, list):
        return [None, 0, "x", True, {}]
    return [None, 0, "x", True, []]


# Free text no schema can judge, in traced computation: a node's "where" (the user's file:line, a hint only
# messages show: any string is valid and leaves the model byte-identical) and the labels of what was traced
# (an Expression's "traced", a traced nonlinearity's "function": recorded verbatim in the model's metadata,
# so another string is valid and changes exactly that record).  Strings there are not mutations a schema
# could refuse: they get values of other types only (each must be refused), and the optional hint is not
# deleted.  Without this, one traced layer's ~60 "where" hints gave ~280 accepted identical models, as
# many as all other kinds' attributes together.  Every other field of a traced expression (its types,
# sizes, names, each node's attrs) is mutated like any attribute.
FREE_TEXT = {"where", "traced", "function"}


def attribute_mutations(attrs):
    """(label, mutated attrs) for every attribute and every value inside it: wrong values, deleted keys,
    unknown keys."""
    for path, value in _paths(attrs):
        free_text = bool(path) and path[-1] in FREE_TEXT and isinstance(value, str)
        if path:
            for v in wrong_values(path[0], value):
                if free_text and isinstance(v, str):
                    continue
                m = copy.deepcopy(attrs)
                _set(m, path, v)
                yield f"{list(path)}={v!r}", m
            if isinstance(path[-1], str) and not (free_text and path[-1] == "where"):
                m = copy.deepcopy(attrs)
                _set(m, path, _DELETE)
                yield f"del {list(path)}", m
        if isinstance(value, dict):
            m = copy.deepcopy(attrs)
            _set(m, path + ("bogus",), 1) if path else m.update(bogus=1)
            yield f"{list(path)}+bogus", m


@pytest.fixture(scope="module")
def kind_samples():
    """For each layer kind and each set of attributes it is captured with: a case's manifest, the layer's
    index and weights (tests/cases, captured by the Theano-free API inside its tracer, as ``--network``
    builds them)."""
    from tests.cases import load_all
    from tests.reference import compat_capture

    samples = {}
    rng = np.random.default_rng(0)
    for name, case in sorted(load_all().items()):
        if case.expect_error or "lasagne-0.1-only" in case.tags:
            continue
        graph = compat_capture(case)
        for i, layer in enumerate(graph.layers):
            attrs = layer.attrs
            traced = tuple(sorted(k for k, v in attrs.items() if isinstance(v, dict) and v.get("name") == "traced"))
            key = (layer.kind, tuple(sorted(attrs)), tuple(sorted(type(v).__name__ for v in attrs.values())),
                   traced)  # a traced nonlinearity is a sample of its own (its expression is mutated too)
            if key not in samples:
                shapes = {p.key: p.shape for l in graph.layers for p in l.params}
                weights = {k: rng.standard_normal(shapes[k]).astype(np.float32) for k in graph.param_keys}
                samples[key] = (name, json.loads(graph.to_json()), i, weights)
    return samples


def _export(manifest, weights):
    """What ``export --manifest`` builds (exporter.commands.export._build), or the refusal it reports."""
    from passes.check_and_infer import ValidationFailed

    from exporter.convert import build
    from exporter.errors import ExportError
    from exporter.manifest_schema import load_manifest
    from exporter.manifest_check import check_declared_shapes
    from exporter.weights import bind_weights

    try:
        graph = load_manifest(manifest, origin="arch.json")
    except ExportError as e:
        return None, str(e)
    try:
        skeleton, payloads = build(graph, bind_weights(graph, weights, "model.npz"))
        check_declared_shapes(graph, skeleton, "arch.json")
    except (ExportError, ValidationFailed) as e:
        return None, f"refused at export: {e}"
    return (skeleton.SerializeToString(), {k: v.tobytes() for k, v in payloads.items()}), None


def test_fuzz_manifest_attributes(kind_samples):
    """For every kind and every attribute, a value of the wrong type, range or enum is refused with an
    error naming the layer and the attribute, or (rarely: a value the schema admits and that means
    the same) the export is the very model the captured value gives: never a silently different one."""
    from exporter import registry

    kinds = {key[0] for key in kind_samples}
    assert kinds == set(registry.ATTRS_SCHEMAS), kinds ^ set(registry.ATTRS_SCHEMAS)
    counts = {"refused": 0, "same model": 0}
    for (kind, *_), (case, manifest, index, weights) in sorted(kind_samples.items(), key=lambda kv: str(kv[0])):
        baseline, problem = _export(manifest, weights)
        assert problem is None, f"{case}: {problem}"
        layer = manifest["layers"][index]
        for label, attrs in attribute_mutations(layer["attrs"]):
            m = copy.deepcopy(manifest)
            m["layers"][index]["attrs"] = attrs
            model, problem = _export(m, weights)
            what = f"{kind} layer {layer['name']!r} of {case}: attrs {label}"
            if problem is None:
                assert model == baseline, f"{what}: accepted, and the exported model changed"
                counts["same model"] += 1
                continue
            counts["refused"] += 1
            if problem.startswith("refused at export"):  # a value the schema admits (stop=None, say) giving
                continue  # shapes that do not fit together: ONNX shape inference or the declared shapes say so
            top = label.split("'")[1] if "'" in label else "bogus"
            assert "\n" not in problem and f"layer {layer['name']!r}" in problem and top in problem, \
                f"{what}: {problem}"
    assert counts["refused"] > 1000 and counts["same model"] < counts["refused"] // 20, counts
