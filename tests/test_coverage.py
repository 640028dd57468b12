"""The coverage table cannot drift: the README's table is what the registries generate, every
exported layer uses only ops its converter declares (``emits``), every class the exporter lists as
supported is exported by a Theano parity case, and every layer class of Lasagne 0.2 has a capture
rule (ExpressionLayer excepted: traced Theano code is the tracer's part)."""
import os
import re

import pytest

import passes
from exporter import coverage, registry
from exporter.pipeline import to_onnx
from exporter.onnx_graph import value_name
from exporter.weights import bind_weights, load_npz
from tests.cases import load_all
from tests.reference import reference_graph

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = load_all()
NAMES = sorted(n for n, c in CASES.items() if not c.expect_error)
# Lasagne 0.2 classes without a capture rule of their own, and why
NOT_CAPTURED = {"Layer": "base class", "MergeLayer": "base class", "BaseConvLayer": "base class",
                "_DNNPool": "base class", "ExpressionLayer": "arbitrary Theano code: the tracer's part"}


def test_readme_table_is_generated_from_the_registries():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    assert coverage.readme_block() in readme, "run: python -m exporter.coverage README.md"


def test_every_lasagne_layer_class_has_a_capture_rule():
    from exporter import compat

    compat.activate()
    import lasagne.layers as L
    from lasagne.layers import corrmm, cuda_convnet, dnn

    classes = {o.__name__ for m in (L, dnn, cuda_convnet, corrmm) for o in vars(m).values()
               if isinstance(o, type) and issubclass(o, L.Layer)}
    registry.load_all()
    assert classes - set(registry.CAPTURE_RULES) == set(NOT_CAPTURED), sorted(classes - set(registry.CAPTURE_RULES))


def test_every_supported_class_is_exported_by_a_parity_case(references):
    """What the refusal message lists as supported (registry.supported_classes) is what exports."""
    exported = set()
    for name in NAMES:
        ref = references(name)
        assert ref.error is None, ref.error
        exported |= {l.lasagne_class for l in reference_graph(ref, CASES[name]).layers if l.kind != "Expression"}
    untested = {"Deconv2DLayer": "Lasagne's other name of TransposedConv2DLayer (type(layer).__name__ is that)",
                "Deconv3DLayer": "Lasagne's other name of TransposedConv3DLayer",
                "AlphaDropoutLayer": "not in Lasagne 0.2 (a fork's class), an identity at inference like DropoutLayer"}
    assert set(registry.supported_classes()) - exported == set(untested)


def _layer_of(node_name, layers):
    """The lowered layer a node named ``<layer>/<Op>[_k]`` belongs to (the longest matching name)."""
    best = None
    for name in layers:
        v = value_name(name)
        if node_name.startswith(v + "/") and (best is None or len(v) > len(value_name(best))):
            best = name
    return best


@pytest.mark.parametrize("name", NAMES)
def test_converters_emit_only_declared_ops(name, references):
    ref = references(name)
    graph = reference_graph(ref, CASES[name])
    weights = bind_weights(graph, load_npz(ref.weights_path)[0], ref.weights_path)
    lowered = passes.lower(graph, weights)[0].by_name()
    model = to_onnx(graph, weights)
    for node in model.graph.node:
        layer = _layer_of(node.name, lowered)
        assert layer is not None, f"node {node.name!r} names no layer"
        if re.search(r"/(input_to_hidden|hidden_to_hidden)/", node.name[len(value_name(layer)):]):
            continue  # a CustomRecurrentLayer's sub-network: lowered by (and checked for) its own layers' families
        kind = lowered[layer].kind
        declared = {op for e in registry.CONVERTERS.versions(kind) for op in e.emits}
        assert node.op_type in declared, f"{name}: {kind} converter emitted {node.op_type} ({node.name}), " \
                                         f"not in its emits {sorted(declared)}"
