"""The importers' coverage cannot drift: every ONNX op a layer converter or a Theano-op lowering declares
it can emit (``emits=``) is registered in both importers or refused there with a reason; the
declarations are true (every op the converters emit for the network cases is declared); the op table
in docs/importers.md is the one the registries generate; importer entries are versioned by opset."""
import os
import subprocess
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("keras")
pytest.importorskip("torch")

from exporter.importers import onnx_reader, op_table  # noqa: E402
from exporter.importers.onnx_reader import OpRegistry, UnsupportedNodeError  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def uncovered(emitted: dict, importers: dict) -> list:
    """``(target, op, emitted by)`` for every emitted op an importer neither registers nor refuses."""
    return [(target, op, by) for op, by in sorted(emitted.items()) for target, reg in importers.items()
            if op not in reg.table and op not in reg.refused and op not in onnx_reader.READ_AS_CONSTANTS]


def test_every_emittable_op_is_imported_or_refused_by_both_importers():
    emitted, importers = op_table.emitters(), op_table.importers()
    assert {"Conv", "Gemm", "BatchNormalization", "LSTM", "Scan"} <= set(emitted)  # the declarations were read
    assert set(importers) == {"to-torch", "to-keras"}
    assert uncovered(emitted, importers) == []
    for reg in importers.values():
        assert all(isinstance(r, str) and r.strip() for r in reg.refused.values())
        assert not set(reg.refused) & set(reg.supported())


def test_the_coverage_check_names_what_is_missing():
    importers = op_table.importers()
    assert uncovered({"Hardmax": ["Softmax-ish"], "Relu": ["Nonlinearity"]}, importers) == [
        ("to-torch", "Hardmax", ["Softmax-ish"]), ("to-keras", "Hardmax", ["Softmax-ish"])]


def test_the_op_table_in_the_docs_is_generated_from_the_registries():
    with open(os.path.join(ROOT, "docs", "importers.md"), encoding="utf-8") as f:
        committed = op_table.section(f.read())
    assert committed == op_table.markdown(), "stale: run python scripts/importer_op_table.py"
    assert "| Softmax | yes (opset 13+) | yes (opset 13+) | CustomRecurrent, Expression, Nonlinearity, " \
           "`theano.tensor.nnet.softmax` |" in committed


def test_the_op_table_script_checks_and_rewrites(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "importer_op_table.py"), "--check"],
                       capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    assert r.returncode == 0, r.stderr
    stale = op_table.replace_section(op_table.BEGIN + "\nold\n" + op_table.END, "new")
    assert stale == "new"


# -- the versioned importer registry ------------------------------------------------------------------------
def _node(op, **attrs):
    return onnx_reader.Node(name=f"n/{op}", op_type=op, inputs=["x"], outputs=["y"], attrs=attrs)


def test_lookup_takes_the_newest_entry_not_above_the_opset():
    reg = OpRegistry("to-test", refused={"LSTM": "recurrent"})

    @reg.register("Clip", attrs=("min", "max"), since=6)
    def old(g, n):
        return "attributes"

    @reg.register("Clip", since=11)
    def new(g, n):
        return "inputs"

    assert reg.lookup(_node("Clip"), 11) is new and reg.lookup(_node("Clip"), 17) is new
    assert reg.lookup(_node("Clip", min=0.0), 10) is old
    with pytest.raises(UnsupportedNodeError, match="attribute\\(s\\) min not supported"):
        reg.lookup(_node("Clip", min=0.0), 13)  # the opset-11 form declares no attributes
    with pytest.raises(UnsupportedNodeError, match="op Clip is supported from opset 6 on \\(the model has opset 5\\)"):
        reg.lookup(_node("Clip"), 5)
    with pytest.raises(UnsupportedNodeError, match="op LSTM is not supported \\(recurrent\\)"):
        reg.require_all([_node("Clip"), _node("LSTM")], 17)
    with pytest.raises(UnsupportedNodeError, match="op Hardmax is not supported \\(supported: Clip\\)"):
        reg.lookup(_node("Hardmax"), 17)
    with pytest.raises(ValueError, match="Clip \\(since opset 11\\) registered twice"):
        reg.register("Clip", since=11)(new)
    with pytest.raises(ValueError, match="LSTM is both refused and registered"):
        reg.register("LSTM")(new)


@pytest.mark.parametrize("opset", [11, 13])
def test_softmax_form_follows_the_model_opset(opset):
    """From opset 13 Softmax works over the one axis ``axis``; models of older opsets (whose Softmax
    coerced the input to 2-D) are refused in one line, before any op is read."""
    from onnx import TensorProto, helper

    from exporter.importers import to_torch
    from tests.test_importer_torch import TOL, ort_outputs, rel_err, torch_outputs

    g = helper.make_graph([helper.make_node("Softmax", ["x"], ["y"], name="s/Softmax", axis=1)], "t",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    if opset < 13:
        with pytest.raises(onnx_reader.OnnxInputError, match="uses ONNX opset 11; the importers read opsets 13 to"):
            to_torch.generate(onnx_reader.view(m))
        return
    src, _ = to_torch.generate(onnx_reader.view(m))
    assert ".flatten(1)" not in src and "dim=1" in src, src
    feeds = {"x": np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)}
    got, _ = torch_outputs(m, feeds)
    assert rel_err(got[0], ort_outputs(m, feeds)[0]) <= TOL
