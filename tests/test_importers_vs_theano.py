"""The imported PyTorch and Keras models match Theano: every case in tests/cases whose Theano reference
exists is exported (plain at each opset of tests.conftest.TEST_OPSETS, and with the default
optimisation ``auto`` at the default opset), imported in-process with
``to_torch.generate``/``load_generated`` and ``to_keras.build`` (channels_last and channels_first), run on
the reference inputs, and each network output (graph output) must be within TOLERANCE of Theano's,
relative to max(1, max |Theano|) (exporter.compare.error_stats).

Cases an importer refuses are listed in REFUSES (every opset) and OPSET13_REFUSES with the reason; the
test asserts they are refused with the importer's one-line error, so the lists can neither grow silently
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

FORMATS = ("channels_last", "channels_first")

_BATCH = "Keras layers keep the batch axis where it is"
_SAMPLING = "Lasagne's bilinear sampling (Mod, GatherND of run-time indices) has no Keras layers; to-torch maps it"
_SPP = "SPP bins computed from an unknown input size"
# (case, "torch" | "keras") -> (text of the importer's one-line error, why): refused at every opset
REFUSES = {
    ("cuda_convnet_c01b", "keras"): ("node 'to_c01b/Transpose' (op Transpose, Lasagne layer 'to_c01b'): a Transpose "
                                     "that moves the batch axis", _BATCH),
    ("cuda_convnet_c01b_input_untied_nin", "keras"): ("node 'conv/linear/Transpose' (op Transpose, Lasagne layer "
                                                      "'conv/linear'): a Transpose that moves the batch axis", _BATCH),
    ("dimshuffle_patterns", "keras"): ("node 'permute/Transpose' (op Transpose, Lasagne layer 'permute'): a Transpose "
                                       "that moves the batch axis", _BATCH),
    ("feature_pool_unknown_trailing_sizes", "keras"): ("node 'pool/Reshape' (op Reshape, Lasagne layer 'pool'): needs an "
                                                       "output shape known up to one axis",
                                                       "Keras' Reshape needs static sizes"),
    ("locally_connected_full", "keras"): ("node 'lc3/linear/Transpose' (op Transpose, Lasagne layer 'lc3/linear'): a "
                                          "Transpose that moves the batch axis",
                                          "the per-position MatMul batches over positions"),
    ("reshape_with_references", "keras"): ("node 'r3/Reshape' (op Reshape, Lasagne layer 'r3'): a Reshape that changes "
                                           "the batch axis", _BATCH),
    ("sequence_tagger_lstm_reshape_dense", "keras"): ("node 'flat/Reshape' (op Reshape, Lasagne layer 'flat'): a "
                                                      "Reshape that changes the batch axis", "Lasagne's recipe "
                                                      "ReshapeLayer((-1, H)) folds the time steps into the batch"),
    ("slice_int_batch_axis", "keras"): ("node 'slice/Gather' (op Gather, Lasagne layer 'slice'): only Gather of one "
                                        "constant index on a non-batch axis", "indexing the batch axis"),
    ("spp_dnn", "keras"): ("node 'unknown/Slice' (op Slice, Lasagne layer 'unknown'): input 1 must be a constant", _SPP),
    ("spp_dnn", "torch"): ("node 'unknown/Slice' (op Slice, Lasagne layer 'unknown'): input 1 ('unknown/Concat_2') "
                           "must be a constant", _SPP),
    ("spp_unknown_sizes_then_dense", "keras"): ("node 'fast/Slice' (op Slice, Lasagne layer 'fast'): input 1 must be a "
                                                "constant", _SPP),
    ("spp_unknown_sizes_then_dense", "torch"): ("node 'fast/Slice' (op Slice, Lasagne layer 'fast'): input 1 "
                                                "('fast/Concat_2') must be a constant", _SPP),
    **{(name, "keras"): (f"node '{layer}/{op}' (op {op}, Lasagne layer '{layer}'): op {op} is not supported", _SAMPLING)
       for name, layer, op in (("tps_transformer_graph_grid", "tps9", "Mod"), ("tps_transformer_precomputed", "tps16", "Mod"),
                               ("transformer_border_modes", "nearest", "GatherND"),
                               ("transformer_downsample_factors", "half", "GatherND"))},
    ("scan_lstm_masked_backwards", "torch"): ("node 'lstm/Slice_27' (op Slice, Lasagne layer 'lstm'): a negative step "
                                              "needs a static size on that axis",
                                              "the layer's own x[::-1] over a time axis of unknown length: torch "
                                              "slices take no negative step"),
    ("zoo_googlenet_small", "keras"): ("node 'max_pool2d_2/MaxPool' (op MaxPool, Lasagne layer 'max_pool2d_2'): MaxPool "
                                       "with pads [0, 0, 0, 0], ceil_mode=1 needs a static input size",
                                       "ceil-mode pooling windows past the edge need the spatial size, which is unknown"),
    ("zoo_unet_small", "keras"): ("node 'dimshuffle_76/Transpose' (op Transpose, Lasagne layer 'dimshuffle_76'): a "
                                  "Transpose that moves the batch axis",
                                  "the final DimshuffleLayer((1, 0, 2, 3)) moves the batch axis"),
}
# (case, target) -> the importer's error at opset 13 only: opset 13's Reshape infers no shape from a target computed
# at run time (Shape -> ... -> Reshape: an Upscale or an unpooling of unknown size, FeatureWTA), so the layers after
# it have no rank; export at opset 14 or newer to import them (in a model with traced layers the importers take such
# shapes from onnxruntime's symbolic shape inference, so no traced case is here)
OPSET13_REFUSES = {
    ("inverse_conv_maxpool", "torch"): "node 'unpool/Pad' (op Pad, Lasagne layer 'unpool'): the rank of value",
    **{("scan_attention_decoder", target): "node 'decoder/Scan' (op Scan, Lasagne layer 'decoder'): the body reads "
                                           "outer value 'decoder/Reshape_6', whose rank is unknown"
       for target in ("torch", "keras")},
    ("inverse_conv_variants", "torch"): "node 'inv_avg/Pad' (op Pad, Lasagne layer 'inv_avg'): the rank of value",
    ("feature_wta_conv", "torch"): "node 'wta_rows/Shape' (op Shape, Lasagne layer 'wta_rows'): the rank of value",
    ("upscale2d_unknown_spatial_size", "torch"): "node 'up_dilate/Unsqueeze' (op Unsqueeze, Lasagne layer 'up_dilate'): "
                                                 "the rank of value",
    **{(name, "keras"): f"node '{node}' (op {node.split('/')[1].split('_')[0]}, Lasagne layer '{node.split('/')[0]}'): "
                        f"needs an output shape known up to one axis"
       for name, node in (("feature_wta_conv", "wta/Reshape_3"), ("feature_wta_dense_unknown_batch", "wta/Reshape_3"),
                          ("feature_wta_ties_first_wins", "wta/Reshape_3"),
                          ("inverse_conv_maxpool", "unpool/Reshape"), ("inverse_conv_variants", "inv_avg/Reshape"),
                          ("inverse_dense", "dec_code/Reshape"),
                          ("upscale2d_unknown_spatial_size", "up_repeat/Unsqueeze"))},
}
TARGETS = ("torch", "keras")
TORCH_REFUSED = {name for name, target in REFUSES if target == "torch"}  # at every opset (test_importer_torch skips)


def expected_refusal(name, target, opset):
    """The text of the one-line error ``target`` must refuse case ``name`` with at ``opset``, or None."""
    if opset == 13 and (name, target) in OPSET13_REFUSES:
        return OPSET13_REFUSES[name, target]
    return REFUSES[name, target][0] if (name, target) in REFUSES else None


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
    try:
        view = onnx_reader.load(model)
    except UnsupportedNodeError as e:  # refused by the reader both importers share: listed for both
        msg = str(e)
        if not all(expected_refusal(name, t, opset) and expected_refusal(name, t, opset) in msg for t in TARGETS):
            raise
        assert "\n" not in msg, msg
        return
    feeds = {i: np.ascontiguousarray(ref.inputs[i], view.input_dtypes.get(i, np.float32)) for i in view.inputs}
    layers, want = theano_outputs(ref, graph, view)
    results = {}
    runs = [("torch", "torch", lambda: torch_run(view, feeds))] + [
        ("keras", f"keras {fmt}", lambda fmt=fmt: keras_run(view, feeds, fmt)) for fmt in FORMATS]
    for target, label, run in runs:
        refusal = expected_refusal(name, target, opset)
        if refusal is None:
            results[label] = run()
            continue
        with pytest.raises(UnsupportedNodeError) as e:
            run()
        msg = str(e.value)
        assert "\n" not in msg and refusal in msg, msg
    bad = []
    for target, got in results.items():
        assert len(got) == len(want), (target, len(got), len(want))
        for layer, g, w in zip(layers, got, want):
            stats = error_stats(g, w)
            if not stats["rel"] <= TOLERANCE:
                bad.append(f"  {target}: output {layer}: {stats}")
    assert not bad, (f"imported models diverging from Theano (export optimize={optimize}, opset {opset}):\n"
                     + "\n".join(bad))


def test_refusals_are_real_cases():
    """Every listed refusal names a case with a Theano reference (the parity test checks the refusal)."""
    listed = {name for name, _ in REFUSES} | {name for name, _ in OPSET13_REFUSES}
    assert listed <= set(NAMES), sorted(listed - set(NAMES))
    assert all(why.strip() for _, why in REFUSES.values())
