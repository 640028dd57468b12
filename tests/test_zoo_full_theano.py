"""Full-size model-zoo networks against real Theano (marker ``slow``).

Each network of tests/zoo_full.py (VGG-16, VGG-19, ResNet-50, GoogLeNet, Inception-v3, CaffeNet,
NIN, U-Net, C3D) at its published input size, batch 1, with random weights in the reference worker's
scheme (Lasagne's own W initialisation, random biases and batch-norm statistics; U-Net's last kernel
shrunk, as in its small variant, to keep its class scores O(1)): the real Lasagne on Theano computes
the output of the network and of a handful of intermediate layers (block / stage ends, the class
scores), the exporter exports the same weights with the layer graph captured from the real Lasagne,
and onnxruntime must match every one of those layers within ``TOLERANCE`` relative to the output
scale (max(1, max |Theano|), as in test_parity_theano.py).
Every layer of the small variants (tests/cases/zoo_cases.py) is compared there, in every test run.

The references are computed only when these tests run (``zoo_full_references``, not the session
``references`` fixture), for the networks selected, and cached in ``.cache/reference/<hash>``
(about 60 MB for all nine: no weights, only the compared layers; see tests/zoo_full.py).

Measured on this project's 2-core machine (shared, so +-30%), Theano compile + run per network in
seconds with Theano's compiledir warm / empty: VGG-16 2.4+1.5 / 3.3+0.6, VGG-19 1.5+0.9 / 2.4+0.6,
ResNet-50 13+0.8 / 44+0.3, GoogLeNet 12+0.6 / 13+0.2, Inception-v3 15+1.1 / 32+0.4, CaffeNet 6.5+0.1 /
36+0.1, NIN 4+0 / 6+0, U-Net (128x128) 3.5+1.3 / 17+0.8, C3D (16x112x112) 18+4 / 16+1.6: every
network runs at its published input, none needs a reduced batch or a skip.  The whole file: 107 s
with the references to compute (178 s with an empty Theano compiledir), 40 s cached; export +
onnxruntime take 10 s for each VGG, under 7 s for the others.
"""
import json
import os
import time

import numpy as np
import pytest

from exporter.compare import error_stats, run_layers
from exporter.pipeline import to_onnx
from exporter.ir import LayerGraph
from exporter.weights import bind_weights
from tests import zoo_full
from tests.conftest import TOLERANCE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def compat_lasagne():
    from exporter.compat import activate

    activate()
    import lasagne

    return lasagne


@pytest.fixture(scope="session")
def zoo_full_references(request):
    """``zoo_full_references(name) -> (graph json, io arrays, meta)``.

    On first use computes (in parallel, once across test workers) the references of every full-size
    network selected in this session, so that ``-k vgg16`` computes only VGG-16's."""
    from tests.reference import ensure_references

    wanted = sorted({item.callspec.params["name"] for item in request.session.items
                     if "zoo_full_references" in getattr(item, "fixturenames", ())
                     and "name" in getattr(getattr(item, "callspec", None), "params", {})}) or sorted(zoo_full.FULL)
    out_dir = ensure_references([zoo_full.case_name(n) for n in wanted], worker=zoo_full.WORKER,
                                hashed_extra=zoo_full.HASHED_EXTRA)

    def load(name):
        if name not in wanted:  # not selected at collection time (should not happen): compute it now
            ensure_references([zoo_full.case_name(name)], worker=zoo_full.WORKER, hashed_extra=zoo_full.HASHED_EXTRA)
        stem = os.path.join(out_dir, zoo_full.case_name(name))
        if os.path.exists(stem + ".error"):
            with open(stem + ".error") as f:
                pytest.fail(f"the Theano reference itself failed:\n{f.read()}")
        with open(stem + ".json") as f:
            graph_json = f.read()
        with open(stem + ".meta.json") as f:
            meta = json.load(f)
        with np.load(stem + ".io.npz") as z:
            io = {k: z[k] for k in z.files}
        return graph_json, io, meta

    return load


@pytest.mark.parametrize("name", sorted(zoo_full.FULL))
def test_full_size_zoo_network_matches_theano(name, zoo_full_references, compat_lasagne):
    graph_json, io, meta = zoo_full_references(name)
    graph = LayerGraph.from_json(graph_json)  # captured from the real Lasagne network

    t0 = time.time()
    out, _, _ = zoo_full.build_with_weights(name, compat_lasagne)
    values = compat_lasagne.layers.get_all_param_values(out)
    del out
    assert zoo_full.fingerprint(values) == meta["fingerprint"], (
        "the weights regenerated with the Theano-free Lasagne are not those Theano used: tests/zoo_full.py "
        "RANDOM_PARAMS or the seeding drifted from tests/legacy/reference_worker.py, or an initialiser differs")
    weights = {f"arr_{i}": v for i, v in enumerate(values)}
    del values
    model = to_onnx(graph, bind_weights(graph, weights, name))
    del weights
    feeds = {k[3:]: v for k, v in io.items() if k.startswith("in:")}
    ours = run_layers(model, feeds)
    del model
    t1 = time.time()

    theano_out = {k[4:]: v for k, v in io.items() if k.startswith("out:")}
    assert set(theano_out) == set(meta["checkpoints"]) and graph.outputs[0] in theano_out
    kinds = {layer.name: layer.lasagne_class for layer in graph.layers}
    report = {n: error_stats(ours[n], theano_out[n]) for n in theano_out}
    worst = max(report.values(), key=lambda s: s["rel"])
    scale = float(np.max(np.abs(theano_out[graph.outputs[0]])))
    print(f"\n{name}: {len(report)} layers, max rel {worst['rel']:.2e}, output max |y| {scale:.3g}, "
          f"Theano {meta['theano_compile_s']} s compile + {meta['theano_run_s']} s run, "
          f"export + onnxruntime {t1 - t0:.1f} s")
    bad = {n: s for n, s in report.items() if not s["rel"] <= TOLERANCE}
    assert not bad, "layers diverging from Theano:\n" + "\n".join(
        f"  {n} ({kinds[n]}, zoo key {meta['checkpoints'][n]}): {s}" for n, s in bad.items())
    out_name = graph.outputs[0]
    assert ours[out_name].shape == theano_out[out_name].shape
    assert np.all(np.isfinite(ours[out_name]))
