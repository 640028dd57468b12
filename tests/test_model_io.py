"""The streaming serialiser (exporter/model_io.py) pinned against protobuf itself: whatever it writes,
``onnx.load`` must read back exactly the model it was given (message equality: every field, the
initializers in their order), in one file and with external data, for ordinary and detached models."""
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from exporter import metadata, model_io


def _model():
    """A model with what the exporter writes and a bit more: large and small initializers interleaved
    (float32, int64, float64 and float_data ones), a Constant node, value_info, metadata, doc strings."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((40, 30)).astype(np.float32), "big.W"),  # 4800 bytes
        numpy_helper.from_array(np.array([0, -1], np.int64), "small.shape"),
        numpy_helper.from_array(rng.standard_normal(300).astype(np.float32), "big.b"),
        helper.make_tensor("listed", TensorProto.FLOAT, [3], [1.0, 2.5, -3.0]),  # float_data, not raw_data
        numpy_helper.from_array(rng.standard_normal((2, 2)), "small.f64"),
        numpy_helper.from_array(np.arange(2000, dtype=np.int64), "big.ints"),
        numpy_helper.from_array(np.float32(0.5), "scalar"),
    ]
    inits[0].doc_string = "a documented weight"
    nodes = [helper.make_node("MatMul", ["x", "big.W"], ["h"], name="fc/MatMul"),
             helper.make_node("Add", ["h", "big.b_first30"], ["y"], name="fc/Add"),
             helper.make_node("Constant", [], ["big.b_first30"], name="c/Constant",
                              value=numpy_helper.from_array(np.ones(30, np.float32), "v"))]
    graph = helper.make_graph(nodes, "net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 40])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 30])], inits,
                              doc_string="graph doc",
                              value_info=[helper.make_tensor_value_info("h", TensorProto.FLOAT, ["N", 30])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="lasagne2onnx",
                              doc_string="model doc")
    metadata.set_layer_map(model, {"fc": "y"})
    metadata.set_prop(model, "other", "kept")
    return model


def _loaded(path):
    """``onnx.load`` of ``path`` (external data read in), without the ``data_location = DEFAULT`` that
    onnx's loader sets on every tensor it read from external data (the model never had the field)."""
    loaded = onnx.load(os.fspath(path))
    for t in loaded.graph.initializer:
        if t.HasField("data_location") and t.data_location == TensorProto.DEFAULT:
            t.ClearField("data_location")
    return loaded


@pytest.mark.parametrize("external", [False, True])
def test_a_model_reads_back_equal(tmp_path, external):
    model = _model()
    path = tmp_path / "m.onnx"
    model_io.save_model(model, path, external=external)
    assert os.path.exists(str(path) + ".data") == external
    if external:  # the large tensors went to the data file, the small ones stayed inline
        raw = onnx.load(str(path), load_external_data=False)
        assert [t.name for t in raw.graph.initializer if t.data_location == TensorProto.EXTERNAL] == \
            ["big.W", "big.b", "big.ints"]
    assert _loaded(path) == model
    assert [t.name for t in _loaded(path).graph.initializer] == [t.name for t in model.graph.initializer]


@pytest.mark.parametrize("external", [False, True])
def test_a_detached_model_reads_back_as_the_attached_one(tmp_path, external):
    skeleton, payloads = model_io.detach(_model())
    assert sorted(payloads) == ["big.W", "big.b", "big.ints"]
    assert all(model_io.is_placeholder(t) == (t.name in payloads) for t in skeleton.graph.initializer)
    path = tmp_path / "m.onnx"
    model_io.save_model(skeleton, path, payloads=payloads, external=external)
    assert _loaded(path) == model_io.attach(skeleton, payloads)
    assert model_io.attach(skeleton, payloads).graph.initializer[0].doc_string == "a documented weight"


def test_the_single_file_is_what_protobuf_would_write(tmp_path):
    """Byte for byte: the streamed file parses to the model, and re-serialising that gives the same size."""
    model = _model()
    model_io.save_model(model, tmp_path / "m.onnx")
    data = (tmp_path / "m.onnx").read_bytes()
    assert len(data) == model.ByteSize()
    parsed = onnx.ModelProto()
    parsed.ParseFromString(data)
    assert parsed == model


def test_field_numbers_come_from_the_descriptors():
    """The hand-written wire format uses the schema's own numbers (a literal would not follow a schema change)."""
    assert model_io.GRAPH_FIELD == onnx.ModelProto.DESCRIPTOR.fields_by_name["graph"].number == 7
    assert model_io.INITIALIZER_FIELD == onnx.GraphProto.DESCRIPTOR.fields_by_name["initializer"].number == 5
    assert model_io.RAW_DATA_FIELD == onnx.TensorProto.DESCRIPTOR.fields_by_name["raw_data"].number == 9


def test_empty_and_huge_dims_round_trip(tmp_path):
    """A zero-size array and a big payload whose length needs a multi-byte varint."""
    big = np.arange(70_000, dtype=np.float32)  # 280,000 bytes: a 3-byte length
    model = helper.make_model(helper.make_graph(
        [helper.make_node("Identity", ["big"], ["y"])], "g", [], [helper.make_tensor_value_info("y", 1, None)],
        [numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty"), numpy_helper.from_array(big, "big")]))
    skeleton, payloads = model_io.detach(model)
    for external in (False, True):
        path = tmp_path / f"m{int(external)}.onnx"
        model_io.save_model(skeleton, path, payloads=payloads, external=external)
        assert _loaded(path) == model
