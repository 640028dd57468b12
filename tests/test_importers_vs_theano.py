"""The imported PyTorch and Keras models match Theano: every case in tests/cases whose Theano reference
exists is exported (plain at each opset of tests.conftest.TEST_OPSETS, and with the default
optimisation ``auto`` at the default opset), imported in-process with
``to_torch.generate``/``load_generated`` and ``to_keras.build`` (channels_last and channels_first), run on
the reference inputs, and each network output (graph output) must be within TOLERANCE of Theano's,
relative to max(1, max |Theano|) (exporter.compare.error_stats).

Cases the Keras importer refuses by design are listed in KERAS_REFUSES with the reason; the test
asserts they are refused with the importer's one-line error, so the list can neither grow silently
(a new refusal fails) nor go stale (a listed case that starts importing fails too).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from exporter.compare import error_stats  # noqa: E402
from exporter.pipeline import to_onnx  # noqa: E402
from exporter.importers import onnx_reader, to_keras, to_torch  # noqa: E402
from exporter.importers.keras_cli import predict  # noqa: E402
from exporter.importers.onnx_reader import UnsupportedNodeError  # noqa: E402
from exporter.onnx_graph import DEFAULT_OPSET  # noqa: E402
from exporter.weights import bind_weights, load_npz  # noqa: E402
from tests.cases import load_all  # noqa: E402
from tests.conftest import TEST_OPSETS, TOLERANCE  # noqa: E402
from tests.reference import reference_graph  # noqa: E402

CASES = load_all()
NAMES = sorted(n for n, c in CASES.items() if not c.expect_error)

# case -> (text of the importer's error, why Keras cannot express it exactly); see docs/importers.md
# Lasagne's LSTM/GRU/RecurrentLayer export to these; the importers refuse them (docs/importers.md)
RECURRENT_OPS = {"LSTM", "GRU", "RNN", "Scan"}
KERAS_REFUSES = {
    "dimshuffle_patterns": ("node 'permute/Transpose' (op Transpose, Lasagne layer 'permute'): a Transpose that "
                            "moves the batch axis", "Keras layers never move the batch axis"),
    "reshape_with_references": ("node 'r3/Reshape' (op Reshape, Lasagne layer 'r3'): a Reshape that changes the "
                                "batch axis", "Keras' Reshape keeps the batch axis"),
    "slice_int_batch_axis": ("node 'slice/Gather' (op Gather, Lasagne layer 'slice'): only Gather of one constant "
                             "index on a non-batch axis", "indexing the batch axis"),
    "zoo_unet_small": ("node 'dimshuffle_76/Transpose' (op Transpose, Lasagne layer 'dimshuffle_76'): a Transpose "
                       "that moves the batch axis", "the final DimshuffleLayer((1, 0, 2, 3)) moves the batch axis"),
    "zoo_googlenet_small": ("node 'max_pool2d_2/MaxPool' (op MaxPool, Lasagne layer 'max_pool2d_2'): MaxPool with "
                            "pads [0, 0, 0, 0], ceil_mode=1 needs a static input size",
                            "ceil-mode pooling windows past the edge need the spatial size, which is unknown"),
}
# (case, opset) -> the importers' error: opset 13's Reshape infers no shape from a computed target (an
# Upscale layer whose spatial sizes are unknown), so the layers after it have no rank and both importers refuse
OPSET_REFUSES = {("upscale2d_unknown_spatial_size", 13): ("the rank of value 'conv' is unknown"  # to-torch
                                                          "|needs an output shape known up to one axis")}  # to-keras
FORMATS = ("channels_last", "channels_first")
# traced custom computation (issue 10) whose ONNX ops an importer does not map yet: refused, naming the op
TRACED_REFUSES = {
    ("weight_norm_conv", "torch"): "op Greater is not supported",  # elu is Theano's switch(x > 0, ...)
    ("weight_norm_conv", "keras"): "op Greater is not supported",
    ("attention", "keras"): "Expand is only supported as part of a nearest-neighbour upscale",
    ("custom_nonlinearities", "keras"): "op Abs is not supported",
    ("elemwise_merge_true_div_and_lambda", "keras"): "Div of two tensors has no Keras layer",
    ("maxout_and_winner_take_all", "torch"): "op ArgMax is not supported",  # FeatureWTALayer's formula
    ("maxout_and_winner_take_all", "keras"): "op ArgMax is not supported",
    # set_subtensor (LRN's and PadLayer's formulas) writes with ScatterND over Range coordinates
    ("subclassed_conv_pool_norm_layers", "torch"): "op Range is not supported",
    ("subclassed_conv_pool_norm_layers", "keras"): "op Abs is not supported",  # relu with a leak: Theano's formula
    ("subclassed_shape_merge_layers", "torch"): "op Range is not supported",
    ("subclassed_shape_merge_layers", "keras"): "op Range is not supported",
}

# (optimize, opset): plain exports at both ends of the opset range and the default, optimised at the default
EXPORTS = [("off", opset) for opset in TEST_OPSETS] + [
    ("auto", DEFAULT_OPSET if DEFAULT_OPSET in TEST_OPSETS else TEST_OPSETS[0])]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread per test worker: CI runs two workers on two cores, and oversubscribed torch
    threads made single large cases (the U-Net) take 40 s instead of 2."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def export(ref, optimize, opset):
    graph = reference_graph(ref, CASES[ref.name])
    weights, _ = load_npz(ref.weights_path)
    return graph, to_onnx(graph, bind_weights(graph, weights, ref.weights_path), optimize=optimize, opset=opset)


def theano_outputs(ref, graph, view):
    """Theano's output for each ONNX graph output, in order (graph outputs are the Lasagne network outputs)."""
    by_value = {v: k for k, v in view.layer_map.items()}
    layers = [by_value.get(o, o) for o in view.outputs]
    assert sorted(layers) == sorted(graph.outputs), (layers, graph.outputs)
    return layers, [ref.outputs[name] for name in layers]


def torch_run(view, feeds):
    src, state = to_torch.generate(view)
    m = to_torch.load_generated(src, state)
    with torch.no_grad():
        out = m(*[torch.from_numpy(feeds[i]) for i in view.inputs])
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))]


def keras_run(view, feeds, data_format):
    m, info = to_keras.build(view, data_format)
    return predict(m, info, view, feeds)


@pytest.mark.parametrize("optimize, opset", EXPORTS)
@pytest.mark.parametrize("name", NAMES)
def test_imported_models_match_theano(name, optimize, opset, references):
    ref = references(name)
    assert ref.error is None, f"the reference itself failed:\n{ref.error}"
    graph, model = export(ref, optimize, opset)
    view = onnx_reader.load(model)
    feeds = {i: np.ascontiguousarray(ref.inputs[i], np.float32) for i in view.inputs}
    layers, want = theano_outputs(ref, graph, view)
    if (name, opset) in OPSET_REFUSES:
        for run in (lambda: torch_run(view, feeds), *(lambda f=f: keras_run(view, feeds, f) for f in FORMATS)):
            with pytest.raises(UnsupportedNodeError, match=OPSET_REFUSES[name, opset]):
                run()
        return
    recurrent = sorted({n.op_type for n in model.graph.node} & RECURRENT_OPS)
    if recurrent:  # neither importer maps recurrent layers: both refuse, naming the op
        for run in (lambda: torch_run(view, feeds), *(lambda f=f: keras_run(view, feeds, f) for f in FORMATS)):
            with pytest.raises(UnsupportedNodeError, match=f"op ({'|'.join(recurrent)}) is not supported"):
                run()
        return
    results = {}
    if (name, "torch") in TRACED_REFUSES:
        with pytest.raises(UnsupportedNodeError, match=TRACED_REFUSES[name, "torch"]):
            torch_run(view, feeds)
    else:
        results["torch"] = torch_run(view, feeds)
    for fmt in FORMATS:
        if (name, "keras") in TRACED_REFUSES:
            with pytest.raises(UnsupportedNodeError, match=TRACED_REFUSES[name, "keras"]):
                keras_run(view, feeds, fmt)
        elif name in KERAS_REFUSES:
            with pytest.raises(UnsupportedNodeError) as e:
                keras_run(view, feeds, fmt)
            msg = str(e.value)
            assert msg.startswith("to-keras: ") and "\n" not in msg and KERAS_REFUSES[name][0] in msg, msg
        else:
            results[f"keras {fmt}"] = keras_run(view, feeds, fmt)
    bad = []
    for target, got in results.items():
        assert len(got) == len(want), (target, len(got), len(want))
        for layer, g, w in zip(layers, got, want):
            stats = error_stats(g, w)
            if not stats["rel"] <= TOLERANCE:
                bad.append(f"  {target}: output {layer}: {stats}")
    assert not bad, (f"imported models diverging from Theano (export optimize={optimize}, opset {opset}):\n"
                     + "\n".join(bad))


def test_keras_refusals_are_real_cases():
    """Every listed refusal names a case with a Theano reference (the parity test checks the refusal)."""
    assert set(KERAS_REFUSES) <= set(NAMES), sorted(set(KERAS_REFUSES) - set(NAMES))
    assert {name for name, _ in OPSET_REFUSES} <= set(NAMES)
    assert {n for n, _ in TRACED_REFUSES} <= set(NAMES)
