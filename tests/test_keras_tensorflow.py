"""TensorFlow users without lasagne2onnx: every parity case through ``to-keras`` (both data formats),
loaded by plain Keras 3 on its TensorFlow backend in the TensorFlow environment (.venv-tf, made by
scripts/setup-tf.sh), with nothing of this project importable there but the layers module written
beside the model; and ``to-tf`` SavedModels loaded back by TensorFlow alone.  Outputs are compared
with onnxruntime's.  Skips, saying so, where .venv-tf is absent."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")

from exporter.accuracy import IMPORTER_TOLERANCE  # noqa: E402
from exporter.errors import ExportError  # noqa: E402
from tests.cases import load_all  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TF_PYTHON = os.path.join(ROOT, ".venv-tf", "bin", "python")
CASES = sorted(n for n, c in load_all().items() if not c.expect_error)
FORMATS = ("channels_last", "channels_first")
def refused_as_expected(model_key, message) -> bool:
    """Whether to-keras refuses ``<case>.<format>`` as tests/test_importers_vs_theano.py lists it: one table
    of expected refusals."""
    from exporter.onnx_graph import DEFAULT_OPSET
    from tests.test_importers_vs_theano import expected_refusal

    expected = expected_refusal(model_key.rsplit(".", 1)[0], "keras", DEFAULT_OPSET)
    return expected is not None and expected in message

needs_tf = pytest.mark.skipif(not os.path.exists(TF_PYTHON), reason="the optional TensorFlow environment .venv-tf "
                              "is absent (create it with scripts/setup-tf.sh)")

# run with `python -I`: no PYTHONPATH, no current directory, no user site: this project cannot be imported
LOAD_KERAS = r'''
import importlib.util, json, os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
assert importlib.util.find_spec("exporter") is None, "lasagne2onnx is importable here"
assert keras.backend.backend() == "tensorflow"
for folder in sys.argv[1:]:
    row = {"model": os.path.basename(folder)}
    sys.path.insert(0, folder)
    try:
        if os.path.exists(os.path.join(folder, "lasagne2onnx_keras_layers.py")):
            sys.modules.pop("lasagne2onnx_keras_layers", None)
            import lasagne2onnx_keras_layers  # noqa: F401  (registers its layers with Keras)
        model = keras.saving.load_model(os.path.join(folder, "model.keras"))
        io = np.load(os.path.join(folder, "io.npz"))
        ins = [io["in%d" % i] for i in range(sum(k.startswith("in") for k in io.files))]
        want = [io["out%d" % i] for i in range(sum(k.startswith("out") for k in io.files))]
        got = model(ins if len(ins) > 1 else ins[0], training=False)
        got = got if isinstance(got, (list, tuple)) else [got]
        row["error"] = max(float(np.max(np.abs(np.asarray(g) - w)) / max(1.0, float(np.max(np.abs(w)))))
                           for g, w in zip(got, want))
    except Exception as e:
        row["reason"] = "%s: %s" % (type(e).__name__, " ".join(str(e).split())[:300])
    finally:
        sys.path.remove(folder)
    assert "exporter" not in sys.modules
    print(json.dumps(row), flush=True)
'''

LOAD_SAVED_MODEL = r'''
import json, os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import importlib.util, numpy as np, tensorflow as tf
assert importlib.util.find_spec("exporter") is None
served = tf.saved_model.load(sys.argv[1])
io = np.load(sys.argv[2])
ins = [tf.constant(io["in%d" % i]) for i in range(sum(k.startswith("in") for k in io.files))]
got = served.serve(ins if len(ins) > 1 else ins[0])
got = list(got.values()) if isinstance(got, dict) else list(got) if isinstance(got, (list, tuple)) else [got]
want = [io["out%d" % i] for i in range(sum(k.startswith("out") for k in io.files))]
print(json.dumps(max(float(np.max(np.abs(np.asarray(g) - w)) / max(1.0, float(np.max(np.abs(w)))))
                     for g, w in zip(got, want))))
'''


def write_io(folder, model, inputs, info):
    """The case's inputs and onnxruntime's outputs, in the Keras model's layouts."""
    from exporter.importers.common import run_onnxruntime
    from exporter.importers.to_keras import to_keras_layout

    names = [i.name for i in model.graph.input if i.name in inputs]
    want = run_onnxruntime(model, {n: inputs[n] for n in names})
    np.savez(os.path.join(folder, "io.npz"),
             **{f"in{i}": to_keras_layout(inputs[n], l) for i, (n, l) in enumerate(zip(names, info["input_layouts"]))},
             **{f"out{i}": to_keras_layout(w, l) for i, (w, l) in enumerate(zip(want, info["output_layouts"]))})


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Every parity case's default export through to-keras (torch backend, in this process), as the
    CLI writes it: ``{folder name: folder}`` and ``{folder name: refusal}``."""
    pytest.importorskip("keras")
    if not os.path.exists(TF_PYTHON):
        pytest.skip("the optional TensorFlow environment .venv-tf is absent (create it with scripts/setup-tf.sh)")
    import warnings

    from exporter.importers.keras_cli import build_checked, save
    from tests.interop_worker import export_case
    from tests.reference import ensure_references

    reference_dir = ensure_references(CASES)
    root = tmp_path_factory.mktemp("keras")
    written, refused = {}, {}
    for name in CASES:
        model, inputs = export_case(reference_dir, name)
        for data_format in FORMATS:
            key = f"{name}.{data_format}"
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    keras_model, info, _ = build_checked(model, data_format)
            except ExportError as e:
                refused[key] = str(e)
                continue
            folder = root / key
            folder.mkdir()
            save(keras_model, str(folder / "model.keras"), None, info["custom_layers"])
            assert (folder / "lasagne2onnx_keras_layers.py").exists() == bool(info["custom_layers"])
            write_io(str(folder), model, inputs, info)
            written[key] = str(folder)
    return written, refused


def run_tf(script, *args):
    r = subprocess.run([TF_PYTHON, "-I", "-c", script, *map(str, args)], capture_output=True, text=True, cwd="/",
                       timeout=1200, env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",
                                                                                           "KERAS_BACKEND")})
    assert r.returncode == 0, r.stderr[-3000:]
    rows = []
    for line in r.stdout.splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:  # something TensorFlow printed
            pass
    return rows


@needs_tf
def test_every_keras_file_loads_under_tensorflow_without_lasagne2onnx(keras_files):
    """(One test, not two over one fixture: under pytest-xdist each would build the ~350 models anew.)"""
    written, refused = keras_files
    odd = {k: v for k, v in refused.items() if not refused_as_expected(k, v)}
    assert not odd, f"to-keras refuses what it should not: {odd}"
    assert len(written) >= 2 * 150, sorted(refused)
    rows = run_tf(LOAD_KERAS, *written.values())
    assert sorted(r["model"] for r in rows) == sorted(written)
    bad = [f"{r['model']}: {r.get('reason') or r['error']}" for r in rows
           if "reason" in r or not r["error"] <= IMPORTER_TOLERANCE]
    assert not bad, "under TensorFlow:\n" + "\n".join(bad)


def test_channels_first_bias_is_added_apart_where_tensorflow_would_misplace_it():
    """keras.ops.add under TensorFlow adds a vector-like bias with tf.nn.bias_add, taking the last axis
    for the channels when it has their length: a channels_first convolution whose output width equals
    its filter count (or is unknown) gets its bias from keras_layers.ConstantOp instead (checked under
    TensorFlow above: conv2d_same_s_2_*, zoo_vgg16_small, ... were 0.01-0.25 off before)."""
    keras = pytest.importorskip("keras")
    from onnx import TensorProto, helper, numpy_helper

    from exporter.importers.keras_cli import build_checked

    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3, 3, 3)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)

    def model(width):
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv/Conv", kernel_shape=[3, 3])
        graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 7, width])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4, 5, width - 2])],
                                  [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])

    for width, apart in ((6, True), (7, False)):  # output width 4 = the 4 filters, or 5
        m, info, err = build_checked(model(width), "channels_first")
        conv = [l for l in m.layers if isinstance(l, keras.layers.Conv2D)][0]
        assert conv.use_bias is not apart and ("ConstantOp" in info["custom_layers"]) is apart
        assert err <= IMPORTER_TOLERANCE
        m, info, _ = build_checked(model(width), "channels_last")
        assert [l for l in m.layers if isinstance(l, keras.layers.Conv2D)][0].use_bias and not info["custom_layers"]


def test_layers_module_is_checked_and_never_replaces_a_foreign_file(tmp_path):
    from exporter.importers import keras_cli
    from exporter.importers.codegen import GeneratedSourceError, check_layers_module

    source = keras_cli.layers_module_source()
    with open(os.path.join(ROOT, "exporter", "importers", "keras_layers.py"), encoding="utf-8") as f:
        assert source == f.read()
    for bad in ("import os\n", "from exporter import api\n", "exec('1')\n", "class A:\n    import subprocess\n"):
        with pytest.raises(GeneratedSourceError, match="unexpected code"):
            check_layers_module(source + bad, "lasagne2onnx_keras_layers.py")
    path = keras_cli.write_layers_module(str(tmp_path))
    assert open(path, encoding="utf-8").read() == source
    assert keras_cli.write_layers_module(str(tmp_path)) == path  # already there: left as it is
    with open(path, "w", encoding="utf-8") as f:
        f.write("# the user's own module\n")
    with pytest.raises(ExportError, match="is not lasagne2onnx's Keras layers module; not replaced"):
        keras_cli.write_layers_module(str(tmp_path))
    assert open(path, encoding="utf-8").read() == "# the user's own module\n"


SAVED_MODEL_CASES = ("lrn_caffenet", "conv2d_same_s_2_flip_True", "concat_two_inputs", "zoo_resnet50_small",
                     "pad_value", "upscale2d_unknown_spatial_size",
                     "lstm_mask_backwards")  # (a Scan in a TracedLayer: keras.ops.scan under TensorFlow)


# the CLI's main() over several models in one TensorFlow process (TensorFlow takes seconds to import)
RUN_TO_TF = r'''
import json, sys
from exporter.cli import main
for args in json.loads(sys.argv[1]):
    print(json.dumps(main(args)), flush=True)
'''


@needs_tf
def test_to_tf_writes_a_saved_model_tensorflow_serves(tmp_path):
    import onnx

    from exporter.importers.keras_cli import build_checked
    from tests.interop_worker import export_case
    from tests.reference import ensure_references

    reference_dir = ensure_references(list(SAVED_MODEL_CASES))
    runs, exported = [], {}
    for name in SAVED_MODEL_CASES:
        model, inputs = export_case(reference_dir, name)
        onnx.save(model, tmp_path / f"{name}.onnx")
        exported[name] = model, inputs
        for data_format in FORMATS:
            runs.append(["to-tf", str(tmp_path / f"{name}.onnx"), "--out", str(tmp_path / f"{name}.{data_format}"),
                         "--data-format", data_format, "-q"])
    r = subprocess.run([TF_PYTHON, "-c", RUN_TO_TF, json.dumps(runs)], capture_output=True, text=True, cwd=ROOT,
                       timeout=1200, env={**os.environ, "PYTHONPATH": ROOT, "KERAS_BACKEND": "tensorflow"})
    statuses = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(statuses) == len(runs), r.stderr[-3000:]
    for args, status in zip(runs, statuses):
        name, data_format = os.path.basename(args[3]).split(".")
        out = tmp_path / f"{name}.{data_format}"
        if name == "upscale2d_unknown_spatial_size":  # no random input for the check: refused, nothing written
            assert status == 2 and not out.exists()
            continue
        assert status == 0 and (out / "saved_model.pb").exists(), (name, data_format, r.stderr[-2000:])
        model, inputs = exported[name]
        _, info, _ = build_checked(model, data_format, check_outputs=False)  # (for the layouts)
        write_io(str(tmp_path), model, inputs, info)
        err, = run_tf(LOAD_SAVED_MODEL, out, tmp_path / "io.npz")
        assert err <= IMPORTER_TOLERANCE, (name, data_format, err)
    assert "unknown dimensions" in r.stderr


def test_to_tf_without_tensorflow_names_the_extra(tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("TensorFlow is installed here")
    r = subprocess.run([sys.executable, "-m", "exporter", "to-tf", os.path.join(ROOT, "models", "example",
                                                                                "model.npz"), "--out", str(tmp_path / "sm")],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 2
    assert r.stderr == "error: to-tf needs TensorFlow (tensorflow), which is not installed: pip install lasagne2onnx[tf]\n"
    assert not (tmp_path / "sm").exists()
