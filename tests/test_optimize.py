"""The ONNX optimisation passes (passes/fold_batchnorm, fuse_affine, drop_identity) and the export
policy around them (exporter/optimize.py).  Each pass is checked on networks built with the
Theano-free Lasagne API (onnxruntime before vs after the pass) and on hand-written ONNX graphs for
the cases where it must leave the graph alone.  Parity of optimised exports with Theano itself is in
tests/test_parity_theano.py."""
import json
import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from exporter import model_io
from exporter.compare import layer_value_map
from exporter.convert import build
from exporter.pipeline import to_onnx
from exporter.frontends.lasagne_live import capture
from exporter.optimize import optimization_record, optimize
from exporter.validate import run
from exporter.weights import bind_weights
from passes import drop_identity, fold_batchnorm, fuse_affine

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def lasagne():
    from exporter.compat import activate

    activate()
    import lasagne

    return lasagne


def _export(net, lasagne, seed=0, optimize_mode="off"):
    """The plain export of a compat network with random non-trivial parameters."""
    rng = np.random.default_rng(seed)
    values = [rng.uniform(0.5, 1.5, v.shape).astype(np.float32) if v.ndim <= 1 else
              rng.normal(0, 0.3, v.shape).astype(np.float32) for v in lasagne.layers.get_all_param_values(net)]
    graph = capture(net)
    return to_onnx(graph, bind_weights(graph, {f"arr_{i}": v for i, v in enumerate(values)}), optimize=optimize_mode)


def _feeds(model, seed=1):
    rng = np.random.default_rng(seed)
    feeds = {}
    for i in model.graph.input:
        shape = [d.dim_value or 2 for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = rng.normal(size=shape).astype(np.float32)
    return feeds


def _assert_same_outputs(a, b, tol=1e-5):
    feeds = _feeds(a)
    ya, yb = run(a, feeds), run(b, feeds)
    assert list(ya) == list(yb)
    for name in ya:
        scale = max(1.0, float(np.abs(ya[name]).max()))
        assert np.abs(ya[name] - yb[name]).max() / scale <= tol, name


def _ops(model):
    return [n.op_type for n in model.graph.node]


# -- fold_batchnorm ---------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["conv2d", "conv1d", "dense"])
def test_fold_batchnorm_removes_the_bn_and_keeps_outputs(lasagne, kind):
    L = lasagne.layers
    if kind == "dense":
        net = L.InputLayer((None, 12), name="x")
        net = L.batch_norm(L.DenseLayer(net, 7, name="fc"))
    elif kind == "conv1d":
        net = L.InputLayer((None, 3, 10), name="x")
        net = L.batch_norm(L.Conv1DLayer(net, 4, 3, pad="same", name="conv"))
    else:
        net = L.InputLayer((None, 3, 8, 8), name="x")
        net = L.batch_norm(L.Conv2DLayer(net, 4, 3, name="conv"))
    net = L.DenseLayer(net, 5, name="out", nonlinearity=lasagne.nonlinearities.softmax)
    plain = _export(net, lasagne)
    folded, payloads = fold_batchnorm(plain)
    assert payloads is None
    assert "BatchNormalization" in _ops(plain) and "BatchNormalization" not in _ops(folded)
    onnx.checker.check_model(folded)
    _assert_same_outputs(plain, folded)
    mapping = layer_value_map(folded)
    name = "fc" if kind == "dense" else "conv"
    assert mapping[name] is None and mapping[name + "_bn"]  # the BN's value survives, the linear one is fused
    assert "BatchNormalization" in _ops(plain)  # the argument is not modified


def test_fold_batchnorm_leaves_a_shared_linear_output_alone(lasagne):
    L = lasagne.layers
    x = L.InputLayer((None, 3, 6, 6), name="x")
    conv = L.Conv2DLayer(x, 4, 3, name="conv", nonlinearity=None)
    bn = L.BatchNormLayer(conv, name="bn")
    net = L.ElemwiseSumLayer([conv, bn], name="sum")  # the conv output is used twice
    plain = _export(net, lasagne)
    folded, _ = fold_batchnorm(plain)
    assert _ops(folded).count("BatchNormalization") == 1


def test_fold_batchnorm_on_detached_weights_keeps_payloads_apart(lasagne):
    L = lasagne.layers
    net = L.batch_norm(L.Conv2DLayer(L.InputLayer((None, 8, 8, 8), name="x"), 32, 3, name="conv"))
    rng = np.random.default_rng(0)
    graph = capture(net)
    values = {f"arr_{i}": rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
              for i, v in enumerate(lasagne.layers.get_all_param_values(net))}
    skeleton, payloads = build(graph, bind_weights(graph, values))
    assert payloads, "the 32x8x3x3 kernel should travel beside the model"
    before = dict(payloads)
    folded, new_payloads = fold_batchnorm(skeleton, payloads)
    assert payloads == before and set(new_payloads) != set(payloads)
    _assert_same_outputs(model_io.attach(skeleton, payloads), model_io.attach(folded, new_payloads))


# -- fuse_affine --------------------------------------------------------------------------------------
def test_fuse_affine_folds_scale_and_bias_layers(lasagne):
    L = lasagne.layers
    net = L.Conv2DLayer(L.InputLayer((None, 3, 8, 8), name="x"), 4, 3, name="conv", nonlinearity=None)
    net = L.ScaleLayer(net, name="scale")
    net = L.BiasLayer(net, name="bias")
    net = L.DenseLayer(net, 6, name="fc", nonlinearity=None)
    net = L.ScaleLayer(net, name="fc_scale")
    plain = _export(net, lasagne)
    fused, _ = fuse_affine(plain)
    assert "Mul" in _ops(plain) and "Mul" not in _ops(fused) and "Add" not in _ops(fused)
    _assert_same_outputs(plain, fused)


def test_fuse_affine_keeps_an_untied_bias(lasagne):
    L = lasagne.layers
    net = L.Conv2DLayer(L.InputLayer((None, 3, 8, 8), name="x"), 4, 3, name="conv", nonlinearity=None)
    net = L.BiasLayer(net, shared_axes=(0,), name="untied")  # one bias per channel *and* position
    plain = _export(net, lasagne)
    fused, _ = fuse_affine(plain)
    assert _ops(fused) == _ops(plain)


# -- drop_identity ----------------------------------------------------------------------------------
def _tiny(nodes, outputs, inits=()):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                              list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"lasagne2onnx.layers": json.dumps({"a": "a", "b": "b", "c": "c"})})
    return model


def test_drop_identity_rewires_inner_and_renames_for_outputs():
    model = _tiny([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Identity", ["a"], ["b"]),
                   helper.make_node("Neg", ["b"], ["m"]), helper.make_node("Identity", ["m"], ["c"])], ["c"])
    dropped, _ = drop_identity(model)
    assert _ops(dropped) == ["Relu", "Neg"]
    assert [o.name for o in dropped.graph.output] == ["c"]  # the graph output keeps its name
    assert json.loads(dropped.metadata_props[0].value) == {"a": "a", "b": "a", "c": "c"}
    _assert_same_outputs(model, dropped, tol=0)


def test_drop_identity_keeps_an_identity_of_a_graph_input():
    model = _tiny([helper.make_node("Identity", ["x"], ["c"])], ["c"])
    dropped, _ = drop_identity(model)
    assert _ops(dropped) == ["Identity"]


# -- the rewriter's indexes ------------------------------------------------------------------------------
def _scanned(rw):
    """Producers and consumers found by scanning every live node (what the indexes must equal)."""
    nodes = list(rw.nodes())
    values = {v for n in nodes for v in list(n.input) + list(n.output) if v}
    producers = {v: next((n.name for n in nodes if v in n.output), None) for v in values}
    consumers = {v: [n.name for n in nodes if v in n.input] for v in values}
    return producers, consumers


def _indexed(rw, values):
    return ({v: (rw.producer(v).name if rw.producer(v) is not None else None) for v in values},
            {v: [n.name for n in rw.consumers(v)] for v in values})


def test_rewriter_indexes_follow_every_edit():
    from passes.onnx_rewrite import Rewriter

    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"), helper.make_node("Mul", ["a", "a"], ["b"], name="sq"),
             helper.make_node("Identity", ["b"], ["c"], name="id"), helper.make_node("Add", ["c", "a"], ["d"], name="add"),
             helper.make_node("Neg", ["d"], ["e"], name="neg")]
    model = _tiny(nodes, ["e"])
    rw = Rewriter(model, None)
    assert _indexed(rw, _scanned(rw)[0]) == _scanned(rw)
    assert rw.only_consumer("b").name == "id" and rw.only_consumer("a") is None and rw.only_consumer("e") is None
    by_name = {n.name: n for n in rw.nodes()}
    rw.remove_node(by_name["id"])
    rw.rename_value("c", "b")  # the Add now reads b
    rw.set_inputs(by_name["add"], ["b", "x"])
    rw.set_output(by_name["neg"], 0, "f")
    rw.rename_value("f", "e2")
    scanned = _scanned(rw)
    assert _indexed(rw, set(scanned[0]) | {"a", "c", "e", "f"}) == (
        {**scanned[0], "c": None, "e": None, "f": None}, {**scanned[1], "c": [], "e": [], "f": []})
    assert [n.name for n in rw.nodes()] == ["relu", "sq", "add", "neg"]
    assert rw.consumers("b")[0].name == "add" and rw.only_consumer("a").name == "sq"
    out, _ = rw.finish()
    assert [n.name for n in out.graph.node] == ["relu", "sq", "add", "neg"]
    assert [list(n.input) for n in out.graph.node] == [["x"], ["a", "a"], ["b", "x"], ["d"]]
    assert list(out.graph.node[-1].output) == ["e2"] and len(model.graph.node) == 5  # the input model is untouched


def test_fold_batchnorm_folds_every_pair_of_a_long_chain():
    """Hundreds of Conv + BatchNormalization pairs: every pair folds (in one sweep of the graph), the
    layer map follows, and onnxruntime gives the same outputs."""
    rng = np.random.default_rng(0)
    nodes, inits, layers, x = [], [], {}, "x"
    pairs = 300
    for i in range(pairs):
        w = np.eye(2).reshape(2, 2, 1, 1) + 0.05 * rng.standard_normal((2, 2, 1, 1))
        b = rng.standard_normal(2)
        inits += [numpy_helper.from_array(w.astype(np.float32), f"c{i}.W"),
                  numpy_helper.from_array(b.astype(np.float32), f"c{i}.b")]
        nodes.append(helper.make_node("Conv", [x, f"c{i}.W", f"c{i}.b"], [f"c{i}"], name=f"c{i}/Conv"))
        for role, arr in (("s", 1 + 0.05 * rng.standard_normal(2)), ("o", 0.1 * rng.standard_normal(2)),
                          ("m", 0.1 * rng.standard_normal(2)), ("v", rng.uniform(0.9, 1.1, 2))):
            inits.append(numpy_helper.from_array(arr.astype(np.float32), f"bn{i}.{role}"))
        nodes.append(helper.make_node("BatchNormalization", [f"c{i}"] + [f"bn{i}.{r}" for r in "somv"], [f"bn{i}"],
                                      name=f"bn{i}/BatchNormalization"))
        layers[f"c{i}"], layers[f"bn{i}"], x = f"c{i}", f"bn{i}", f"bn{i}"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2, 3, 3])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"lasagne2onnx.layers": json.dumps(layers)})
    folded, _ = fold_batchnorm(model)
    assert _ops(folded) == ["Conv"] * pairs
    assert layer_value_map(folded) == {k: (v if k.startswith("bn") else None) for k, v in layers.items()}
    assert len(folded.graph.initializer) == 2 * pairs  # every old W, b and BN parameter dropped
    _assert_same_outputs(model, folded, tol=1e-5)


# -- the export policy ----------------------------------------------------------------------------------
def _bn_net(lasagne, shape=(None, 3, 8, 8)):
    L = lasagne.layers
    return L.batch_norm(L.Conv2DLayer(L.InputLayer(shape, name="x"), 4, 3, name="conv"))


def _detached(net, lasagne):
    graph = capture(net)
    rng = np.random.default_rng(0)
    values = {f"arr_{i}": rng.uniform(0.5, 1.5, v.shape).astype(np.float32)
              for i, v in enumerate(lasagne.layers.get_all_param_values(net))}
    return build(graph, bind_weights(graph, values))


def test_auto_keeps_a_verified_optimisation_and_records_it(lasagne):
    skeleton, payloads = _detached(_bn_net(lasagne), lasagne)
    model, _, report = optimize(skeleton, payloads, "auto")
    assert report["kept"] and report["max_rel"] <= 1e-5 and report["fused_layers"] == ["conv"]
    assert optimization_record(model)["fused_layers"] == ["conv"]
    assert optimization_record(skeleton) is None


def test_auto_refuses_an_optimisation_that_changes_the_numbers(lasagne, monkeypatch):
    import passes

    def perturbing_pass(model, payloads=None):  # stands for a pass with a numerical bug
        model, payloads = fold_batchnorm(model, payloads)
        t = model.graph.initializer[-1]
        arr = numpy_helper.to_array(t) + 1e-2
        t.CopyFrom(numpy_helper.from_array(arr.astype(np.float32), t.name))
        return model, payloads

    monkeypatch.setattr(passes, "OPTIMIZE_PASSES", (perturbing_pass,))
    skeleton, payloads = _detached(_bn_net(lasagne), lasagne)
    model, _, report = optimize(skeleton, payloads, "auto")
    assert not report["kept"] and "deviates" in report["reason"] and model is skeleton
    forced, _, report = optimize(skeleton, payloads, "on")
    assert report["kept"] and "BatchNormalization" not in _ops(forced)


def test_auto_does_not_optimise_what_it_cannot_verify(lasagne):
    skeleton, payloads = _detached(_bn_net(lasagne, shape=(None, 3, None, None)), lasagne)
    model, _, report = optimize(skeleton, payloads, "auto")
    assert not report["kept"] and "not verified" in report["reason"]
    model, _, report = optimize(skeleton, payloads, "auto", input_shapes={"x": (1, 3, 9, 9)})
    assert report["kept"]


def test_off_and_nothing_to_do_return_the_model_itself(lasagne):
    L = lasagne.layers
    skeleton, payloads = _detached(L.DenseLayer(L.InputLayer((None, 4), name="x"), 3, name="fc"), lasagne)
    assert optimize(skeleton, payloads, "off")[0] is skeleton
    model, _, report = optimize(skeleton, payloads, "auto")
    assert model is skeleton and report["reason"] == "nothing to optimise"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "exporter", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def test_cli_optimizes_by_default_and_importers_say_so(tmp_path):
    example = os.path.join(ROOT, "models", "example")
    r = _cli(os.path.join(example, "model.npz"), tmp_path / "opt.onnx", "--expect", os.path.join(example, "reference.npz"))
    assert r.returncode == 0, r.stderr
    assert "optimized:" in r.stdout and "verified" in r.stdout
    r = _cli(os.path.join(example, "model.npz"), tmp_path / "plain.onnx", "--no-optimize", "-q")
    assert r.returncode == 0 and r.stdout == ""
    opt, plain = onnx.load(str(tmp_path / "opt.onnx")), onnx.load(str(tmp_path / "plain.onnx"))
    assert "BatchNormalization" in _ops(plain) and "BatchNormalization" not in _ops(opt)
    r = _cli("to-torch", tmp_path / "opt.onnx", "--out", tmp_path / "torch_opt")
    assert r.returncode == 0 and "--no-optimize" in r.stderr
    r = _cli("to-torch", tmp_path / "plain.onnx", "--out", tmp_path / "torch_plain")
    assert r.returncode == 0 and "warning" not in r.stderr
    r = _cli("to-keras", tmp_path / "opt.onnx", "--out", tmp_path / "opt.keras")
    assert r.returncode == 0 and "--no-optimize" in r.stderr, r.stderr


def test_all_passes_in_order_fold_a_dense_batch_norm(lasagne):
    L = lasagne.layers
    net = L.batch_norm(L.DenseLayer(L.InputLayer((None, 12), name="x"), 7, name="fc"))
    net = L.DenseLayer(L.DropoutLayer(net), 3, name="out")
    skeleton, payloads = _detached(net, lasagne)
    model, payloads, report = optimize(skeleton, payloads, "on")
    assert "BatchNormalization" not in _ops(model) and report["fused_layers"] == ["fc"]


def _big_bn_net(lasagne, shape=(None, 3, 8, 8)):
    """Like _bn_net, with a kernel large enough (64x3x3x3 float32) to travel detached, as payload."""
    L = lasagne.layers
    return L.batch_norm(L.Conv2DLayer(L.InputLayer(shape, name="x"), 64, 3, name="conv"))


def test_auto_verification_runs_the_detached_weights_without_copying_them(lasagne, monkeypatch):
    """The weights reach onnxruntime as feeds of the payload arrays: the models handed to it hold no
    weight data (no attach(), no serialised copy), and only the real input gets random values."""
    from exporter import validate

    skeleton, payloads = _detached(_big_bn_net(lasagne, shape=(None, 3, None, None)), lasagne)
    assert any(model_io.is_placeholder(t) for t in skeleton.graph.initializer)
    weight_bytes = sum(a.nbytes for a in payloads.values())
    sizes, make_session = [], validate.make_session

    def recording_session(model, *a, **k):
        sizes.append(model.ByteSize())
        return make_session(model, *a, **k)

    monkeypatch.setattr(validate, "make_session", recording_session)
    monkeypatch.setattr(model_io, "attach", lambda *a: pytest.fail("attach() copies every weight"))
    model, _, report = optimize(skeleton, payloads, "auto", input_shapes={None: (1, 3, 9, 9)})
    assert report["kept"] and report["max_rel"] <= 1e-5, report
    assert len(sizes) == 2 and max(sizes) < weight_bytes / 2, (sizes, weight_bytes)


def test_auto_sees_a_deviation_in_detached_weights(lasagne, monkeypatch):
    """The optimised graph runs on its own payloads: a wrong folded weight there is caught."""
    import passes

    def perturbing_pass(model, payloads=None):
        model, payloads = fold_batchnorm(model, payloads)
        folded = [t.name for t in model.graph.initializer if model_io.is_placeholder(t)]
        assert folded
        payloads = {**payloads, **{n: payloads[n] * 1.01 for n in folded}}
        return model, payloads

    monkeypatch.setattr(passes, "OPTIMIZE_PASSES", (perturbing_pass,))
    skeleton, payloads = _detached(_big_bn_net(lasagne), lasagne)
    model, _, report = optimize(skeleton, payloads, "auto")
    assert not report["kept"] and "deviates" in report["reason"] and model is skeleton
