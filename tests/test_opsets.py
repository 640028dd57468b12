"""The supported ONNX opset range: MIN_OPSET to MAX_OPSET, and nothing else.

Exports at both ends of the range (and the default) are checked against Theano by the whole parity
suite (tests/test_parity_theano.py, tests/test_importers_vs_theano.py, tests.conftest.TEST_OPSETS);
here: other values are refused in one line, and MAX_OPSET is the newest opset the pinned
onnxruntime loads.
"""
import os

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from exporter.cli import main
from exporter.errors import ExportError
from exporter.importers import onnx_reader
from exporter.onnx_graph import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "models", "example", "model.npz")


def _relu_model(opset):
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu/Relu")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])  # the newest IR version
    if opset <= onnx.defs.onnx_opset_version():
        model.ir_version = max(8, helper.find_min_ir_version_for(list(model.opset_import)))
    return model


def test_range_is_stated():
    assert MIN_OPSET == 13 and MIN_OPSET <= DEFAULT_OPSET <= MAX_OPSET


def test_max_opset_is_the_newest_the_runtime_loads():
    """MAX_OPSET runs in the pinned onnxruntime and the next opset does not: when an upgrade of
    onnxruntime loads newer opsets, this fails as a reminder to test them and raise MAX_OPSET."""
    x = np.array([-1.0, 2.0], np.float32)
    sess = ort.InferenceSession(_relu_model(MAX_OPSET).SerializeToString(), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": x})[0].tolist() == [0.0, 2.0]
    newer = _relu_model(MAX_OPSET + 1)
    assert newer.ir_version == onnx.IR_VERSION
    with pytest.raises(Exception, match=f"(?s)opset.*{MAX_OPSET + 1}|{MAX_OPSET + 1}.*opset"):
        ort.InferenceSession(newer.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("opset", [MIN_OPSET, MAX_OPSET])
def test_export_at_both_ends_of_the_range(tmp_path, capsys, opset):
    out = tmp_path / "m.onnx"
    assert main([EXAMPLE, str(out), "--opset", str(opset), "--quiet"]) == 0
    model = onnx.load(str(out))
    assert [(i.domain, i.version) for i in model.opset_import] == [("", opset)]
    assert model.ir_version == max(8, helper.find_min_ir_version_for(list(model.opset_import)))


@pytest.mark.parametrize("opset", [-1, 0, 7, 9, 11, MIN_OPSET - 1, MAX_OPSET + 1, 30, 10 ** 6])
def test_export_refuses_other_opsets_in_one_line(tmp_path, capsys, opset):
    out = tmp_path / "m.onnx"
    assert main([EXAMPLE, str(out), "--opset", str(opset)]) == 2
    err = capsys.readouterr().err
    assert err == (f"error: --opset {opset} is not supported: exports are written for ONNX opsets {MIN_OPSET} to "
                   f"{MAX_OPSET} (default {DEFAULT_OPSET})\n")
    assert not os.listdir(tmp_path)


def test_the_library_refuses_other_opsets_too():
    from exporter.convert import build
    from exporter.ir import LayerGraph

    graph = LayerGraph(layers=[{"name": "input", "kind": "Input", "lasagne_class": "InputLayer", "inputs": [],
                                "attrs": {"shape": [None, 3]}, "params": [], "output_shape": [None, 3]}],
                       outputs=["input"])
    with pytest.raises(ExportError, match=f"ONNX opset 11 is not supported: exports are written for ONNX opsets "
                                          f"{MIN_OPSET} to {MAX_OPSET}"):
        build(graph, {}, opset=11)


@pytest.mark.parametrize("opset", [11, MIN_OPSET - 1, MAX_OPSET + 1])
def test_importers_refuse_opsets_outside_the_range(tmp_path, capsys, opset):
    """Their ops are read in the forms of the supported opsets; others get one line, exit status 2."""
    with pytest.raises(onnx_reader.OnnxInputError, match=f"the model uses ONNX opset {opset}; the importers read "
                                                         f"opsets {MIN_OPSET} to {MAX_OPSET}"):
        onnx_reader.load(_relu_model(opset))
    path = tmp_path / "m.onnx"
    onnx.save(_relu_model(opset), str(path))
    for command in (["to-torch", str(path), "--out", str(tmp_path / "t")],
                    ["to-keras", str(path), "--out", str(tmp_path / "k.keras")]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: the model uses ONNX opset {opset};") and err.count("\n") == 1, err
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


@pytest.mark.parametrize("opset", [MIN_OPSET, MAX_OPSET])
def test_importers_read_both_ends_of_the_range(opset):
    view = onnx_reader.load(_relu_model(opset))
    assert view.opset == opset and [n.op_type for n in view.nodes] == ["Relu"]
