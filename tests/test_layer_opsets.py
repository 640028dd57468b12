"""Issue 12's layer families at the oldest opset exports are written for (MIN_OPSET) and at a newer one
than the default (Reduce* axes as inputs, Shape start/end): every layer still within TOLERANCE of
Theano.  Schema drift lives in OnnxGraph's helpers, never in a converter."""
import pytest

from exporter.compare import error_stats, run_layers
from exporter.pipeline import to_onnx
from exporter.ir import LayerGraph
from exporter.onnx_graph import MIN_OPSET
from exporter.weights import bind_weights, load_npz
from tests.cases import load_all
from tests.conftest import TOLERANCE

MODULES = ("embedding_cases", "feature_pool_cases", "normalization_cases", "transformer_cases", "local_cases",
           "spp_cases", "inverse_cases", "cuda_convnet_cases")
CASES = load_all()
NAMES = sorted(n for n, c in CASES.items() if not c.expect_error
               and (c.build.__module__.rsplit(".", 1)[-1] in MODULES or n.startswith("custom_recurrent")))


@pytest.mark.parametrize("opset", [MIN_OPSET, 21])
@pytest.mark.parametrize("name", NAMES)
def test_new_layers_match_theano_at_other_opsets(name, opset, references):
    ref = references(name)
    graph = LayerGraph.from_json(ref.graph_json)
    weights, _ = load_npz(ref.weights_path)
    ours = run_layers(to_onnx(graph, bind_weights(graph, weights, ref.weights_path), opset=opset), ref.inputs)
    bad = [f"{l.name}: {error_stats(ours[l.name], ref.outputs[l.name])}" for l in graph.layers
           if not error_stats(ours[l.name], ref.outputs[l.name])["rel"] <= TOLERANCE]
    assert not bad, f"opset {opset}:\n" + "\n".join(bad)
