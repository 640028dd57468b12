"""Every case in tests/cases: the exported model in onnxruntime matches Theano, layer by layer, at the
oldest, the default and the newest supported ONNX opset (tests.conftest.TEST_OPSETS)."""
import numpy as np
import pytest

from exporter.compare import error_stats, run_layers
from exporter.pipeline import to_onnx
from exporter.weights import bind_weights, load_npz
from tests.cases import load_all
from tests.conftest import TEST_OPSETS, TOLERANCE
from tests.reference import reference_graph

CASES = load_all()


def export_reference(ref, opset, optimize="off"):
    graph = reference_graph(ref, CASES[ref.name])
    weights, _ = load_npz(ref.weights_path)
    model = to_onnx(graph, bind_weights(graph, weights, ref.weights_path), opset=opset, optimize=optimize)
    assert [(i.domain, i.version) for i in model.opset_import] == [("", opset)]
    return graph, model


@pytest.mark.parametrize("opset", TEST_OPSETS)
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if not c.expect_error))
def test_onnxruntime_matches_theano(name, opset, references):
    ref = references(name)
    assert ref.error is None, f"the reference itself failed:\n{ref.error}"
    graph, model = export_reference(ref, opset)
    ours = run_layers(model, ref.inputs)
    theano_out = ref.outputs
    report = []
    for layer in graph.layers:
        stats = error_stats(ours[layer.name], theano_out[layer.name])
        report.append((layer.name, layer.lasagne_class, stats))
    bad = [r for r in report if not r[2]["rel"] <= TOLERANCE]
    assert not bad, "layers diverging from Theano:\n" + "\n".join(f"  {n} ({c}): {s}" for n, c, s in bad)
    for out in graph.outputs:  # the network outputs are graph outputs with Lasagne's shapes
        assert ours[out].shape == theano_out[out].shape
        assert np.all(np.isfinite(ours[out]))


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.expect_error))
def test_capture_refuses_with_clear_error(name, references):
    ref = references(name)
    assert ref.error is not None, "capture should have failed"
    assert CASES[name].expect_error in ref.error.splitlines()[0]


@pytest.mark.parametrize("opset", TEST_OPSETS)
@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if not c.expect_error))
def test_optimized_export_matches_theano(name, opset, references):
    """``export --optimize`` (BN folded into Conv/Gemm, Scale/Bias fused, Identity dropped) keeps
    every layer that still has an output of its own within the tolerance of Theano."""
    ref = references(name)
    assert ref.error is None, f"the reference itself failed:\n{ref.error}"
    graph, model = export_reference(ref, opset, optimize="on")
    ours = run_layers(model, ref.inputs)
    assert set(graph.outputs) <= set(ours), "a network output was fused away"
    bad = []
    for layer in graph.layers:
        if layer.name in ours:
            stats = error_stats(ours[layer.name], ref.outputs[layer.name])
            if not stats["rel"] <= TOLERANCE:
                bad.append(f"  {layer.name} ({layer.lasagne_class}): {stats}")
    assert not bad, "optimised layers diverging from Theano:\n" + "\n".join(bad)
