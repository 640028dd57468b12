"""Each lowering pass on its own, on hand-written layer graphs."""
import numpy as np
import pytest

from exporter.errors import UnsupportedLayerError
from exporter.ir import LayerGraph, LayerSpec, ParamSpec
from passes import (batchnorm_to_variance, check_and_infer, explicit_pads, flip_kernels, remove_identity_layers,
                    split_nonlinearities)
from passes.explicit_pads import onnx_ceil_length, theano_pool_length


def _graph(*layers, outputs=None):
    return LayerGraph(layers=list(layers), outputs=outputs or [layers[-1].name])


def _input(shape=(None, 3, 8, 8)):
    return LayerSpec("input", "Input", "InputLayer", [], {"shape": list(shape)}, [], shape)


def _conv(name="conv", inp="input", flip=True, pad="valid", ks=(3, 3), nl="rectify", key="arr_0"):
    return LayerSpec(name, "Conv", "Conv2DLayer", [inp],
                     {"num_filters": 2, "filter_size": list(ks), "stride": [1, 1], "pad": pad, "flip_filters": flip,
                      "untie_biases": False, "num_groups": 1, "nonlinearity": {"name": nl}},
                     [ParamSpec("W", (2, 3) + tuple(ks), key)], (None, 2, 6, 6))


def test_split_nonlinearities_keeps_names_for_consumers():
    g, w = split_nonlinearities(_graph(_input(), _conv(nl="tanh")), {})
    assert [l.name for l in g.layers] == ["input", "conv/linear", "conv"]
    assert g.layer("conv").kind == "Nonlinearity" and g.layer("conv").attrs["nonlinearity"] == {"name": "tanh"}
    assert g.layer("conv/linear").attrs["nonlinearity"] == {"name": "linear"}
    assert g.outputs == ["conv"]


def test_split_leaves_linear_layers_alone_and_does_not_mutate_input():
    original = _graph(_input(), _conv(nl="linear"))
    g, _ = split_nonlinearities(original, {})
    assert [l.name for l in g.layers] == ["input", "conv"]
    g2, _ = split_nonlinearities(_graph(_input(), _conv(nl="rectify")), {})
    assert len(g2.layers) == 3 and original.layers[1].name == "conv"


def test_remove_identity_layers_rewires_consumers():
    drop = LayerSpec("drop", "Identity", "DropoutLayer", ["input"], {}, [], (None, 3, 8, 8))
    conv = _conv(inp="drop", nl="linear")
    g, _ = remove_identity_layers(_graph(_input(), drop, conv), {})
    assert [l.name for l in g.layers] == ["input", "conv"] and g.layer("conv").inputs == ["input"]


def test_remove_identity_keeps_an_output_identity():
    drop = LayerSpec("drop", "Identity", "DropoutLayer", ["input"], {}, [], (None, 3, 8, 8))
    g, _ = remove_identity_layers(_graph(_input(), drop), {})
    assert [l.name for l in g.layers] == ["input", "drop"]


def test_flip_kernels_reverses_spatial_axes_once_for_shared_weights():
    w = np.arange(2 * 3 * 3 * 2, dtype=np.float32).reshape(2, 3, 3, 2)
    a, b = _conv("a", ks=(3, 2)), _conv("b", inp="a", ks=(3, 2))  # both use arr_0 (shared)
    g, weights = flip_kernels(_graph(_input(), a, b), {"arr_0": w})
    assert g.layer("a").param("W").key == g.layer("b").param("W").key == "arr_0|flipped"
    np.testing.assert_array_equal(weights["arr_0|flipped"], w[:, :, ::-1, ::-1])
    assert not g.layer("a").attrs["flip_filters"]
    assert len(weights) == 2  # flipped once


def test_flip_kernels_skips_cross_correlations():
    g, weights = flip_kernels(_graph(_input(), _conv(flip=False)), {"arr_0": np.zeros((2, 3, 3, 3), np.float32)})
    assert g.layer("conv").param("W").key == "arr_0" and list(weights) == ["arr_0"]


def _bn(form="inv_std", axes=(0, 2, 3), shape=(None, 3, 4, 4), eps=1e-4):
    roles = ["beta", "gamma", "mean", form]
    return LayerSpec("bn", "BatchNorm", "BatchNormLayer", ["input"],
                     {"form": form, "axes": list(axes), "epsilon": eps, "alpha": 0.1, "nonlinearity": {"name": "linear"}},
                     [ParamSpec(r, (3,), f"arr_{i}") for i, r in enumerate(roles)], shape)


def _bn_weights(stat):
    rng = np.random.default_rng(0)
    return {"arr_0": rng.normal(size=3).astype(np.float32), "arr_1": rng.uniform(0.5, 1.5, 3).astype(np.float32),
            "arr_2": rng.normal(size=3).astype(np.float32), "arr_3": np.asarray(stat, np.float32)}


def _lasagne_bn(w, form):
    """A random input and the layer's documented inference formula on it (Lasagne 0.2 / community)."""
    x = np.random.default_rng(1).normal(size=(2, 3, 4, 4))
    c = (slice(None), None, None)
    inv = w["arr_3"] if form == "inv_std" else 1 / (w["arr_3"] + 1e-4)
    return x, (x - w["arr_2"][c]) * (w["arr_1"] * inv)[c] + w["arr_0"][c]


@pytest.mark.parametrize("form", ["inv_std", "std"])
def test_batchnorm_to_variance_reproduces_lasagne_formula(form):
    w = _bn_weights([0.5, 1.0, 3.0])
    g, nw = batchnorm_to_variance(_graph(_input(), _bn(form)), w)
    spec = g.layer("bn")
    assert spec.attrs["form"] == "variance"
    x, lasagne = _lasagne_bn(w, form)
    c = (slice(None), None, None)
    p = {r: nw[spec.param(r).key].astype(np.float64) for r in ("scale", "bias", "mean", "var")}
    onnx_bn = (x - p["mean"][c]) / np.sqrt(p["var"][c] + 1e-4) * p["scale"][c] + p["bias"][c]
    np.testing.assert_allclose(onnx_bn, lasagne, rtol=1e-5, atol=1e-5)


def test_batchnorm_negative_variance_falls_back_to_exact_affine():
    w = _bn_weights([500.0, 1.0, 2.0])  # inv_std > 1/sqrt(eps): no non-negative variance exists
    g, nw = batchnorm_to_variance(_graph(_input(), _bn()), w)
    spec = g.layer("bn")
    assert spec.attrs["form"] == "affine" and nw[spec.param("scale").key].shape == (1, 3, 1, 1)
    np.testing.assert_allclose(nw[spec.param("scale").key].ravel(), w["arr_1"] * w["arr_3"], rtol=1e-6)


@pytest.mark.parametrize("form, stat", [("inv_std", [-0.5, 1.0, 2.0]), ("std", [-0.3, 1.0, 2.0])])
def test_batchnorm_negative_inv_std_keeps_its_sign(form, stat):
    """var = inv**-2 - eps forgets inv's sign; ONNX divides by +sqrt(var + eps): only the affine form is exact."""
    w = _bn_weights(stat)
    g, nw = batchnorm_to_variance(_graph(_input(), _bn(form)), w)
    spec = g.layer("bn")
    assert spec.attrs["form"] == "affine"
    x, lasagne = _lasagne_bn(w, form)
    ours = x * nw[spec.param("scale").key] + nw[spec.param("shift").key]
    np.testing.assert_allclose(ours, lasagne, rtol=1e-5, atol=1e-5)


def test_batchnorm_other_axes_uses_affine_form():
    spec = _bn(axes=(0, 1), shape=(None, 3, 4, 4))
    spec.params = [ParamSpec(p.role, (4, 4), p.key) for p in spec.params]
    w = {k: np.ones((4, 4), np.float32) for k in ("arr_0", "arr_1", "arr_2", "arr_3")}
    g, nw = batchnorm_to_variance(_graph(_input(), spec), w)
    assert g.layer("bn").attrs["form"] == "affine"
    assert nw[g.layer("bn").param("shift").key].shape == (1, 1, 4, 4)


@pytest.mark.parametrize("pad,ks,expected", [
    ("valid", (3, 3), [0, 0, 0, 0]), ("full", (3, 2), [2, 1, 2, 1]), ("same", (3, 5), [1, 2, 1, 2]),
    ("same", (4, 4), [2, 2, 1, 1]), ((2, 1), (3, 3), [2, 1, 2, 1])])
def test_explicit_conv_pads(pad, ks, expected):
    g, _ = explicit_pads(_graph(_input(), _conv(pad=pad, ks=ks)), {})
    assert g.layer("conv").attrs["pads"] == expected


def _pool(ks, stride, ib, in_shape=(None, 3, 9, 9), pad=(0, 0), mode="max"):
    inp = _input(in_shape)
    return _graph(inp, LayerSpec("pool", "Pool", "Pool2DLayer", ["input"],
                                 {"pool_size": list(ks), "stride": list(stride), "pad": list(pad),
                                  "ignore_border": ib, "mode": mode}, [], (None, 3, 1, 1)))


def test_pool_ignore_border_false_uses_ceil_mode_when_lengths_agree():
    g, _ = explicit_pads(_pool((3, 3), (2, 2), False), {})
    assert g.layer("pool").attrs["ceil_mode"] == 1 and g.layer("pool").attrs["pads"] == [0, 0, 0, 0]


def test_pool_ignore_border_false_with_stride_beyond_window_pads_the_end():
    # n=10, k=2, s=4: Theano keeps 3 windows; ONNX ceil mode would give ceil(8/4)+1 = 3 too, but
    # n=7, k=2, s=4: Theano 2, ONNX ceil 3 -> explicit end padding instead
    assert theano_pool_length(7, 2, 4, 0, False) == 2 and onnx_ceil_length(7, 2, 4) == 3
    g, _ = explicit_pads(_pool((2, 2), (4, 4), False, in_shape=(None, 3, 7, 7)), {})
    a = g.layer("pool").attrs
    assert a["ceil_mode"] == 0 and a["pads"] == [0, 0, 0, 0]  # floor((7-2)/4)+1 = 2 already
    g, _ = explicit_pads(_pool((2, 2), (3, 3), False, in_shape=(None, 3, 8, 8)), {})
    a = g.layer("pool").attrs
    assert a["ceil_mode"] == 1  # ceil((8-2)/3)+1 = 3 = Theano (8+2)//3


def test_pool_window_longer_than_the_input_becomes_the_input_length():
    """ResNet-50's final 7x7 average pool on a smaller map: Theano's one window is the whole map, a
    window of the map's size with no padding (padding at the end only is what onnx2torch refuses)."""
    g, _ = explicit_pads(_pool((7, 7), (1, 1), False, mode="average_exc_pad", in_shape=(None, 3, 2, 5)), {})
    a = g.layer("pool").attrs
    assert a["pool_size"] == [2, 5] and a["pads"] == [0, 0, 0, 0] and a["ceil_mode"] == 1
    g, _ = explicit_pads(_pool((7, 3), (1, 1), False, in_shape=(None, 3, 2, 5)), {})
    a = g.layer("pool").attrs
    assert a["pool_size"] == [2, 3] and a["pads"] == [0, 0, 0, 0] and a["ceil_mode"] == 1


def test_pool_unknown_size_with_large_stride_is_refused():
    with pytest.raises(UnsupportedLayerError, match="pool.*known input size"):
        explicit_pads(_pool((2, 2), (3, 3), False, in_shape=(None, 3, None, None)), {})


def test_pool_ignore_border_false_with_pad_is_refused():
    with pytest.raises(UnsupportedLayerError, match="requires pad=0"):
        explicit_pads(_pool((3, 3), (2, 2), False, pad=(1, 1)), {})


def _tiny_model(out_shape):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_check_and_infer_adds_shapes_and_refuses_contradictions():
    from passes.check_and_infer import ValidationFailed

    inferred = check_and_infer(_tiny_model([2, 3]))
    assert [d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim] == [2, 3]
    with pytest.raises(ValidationFailed, match="failed validation"):
        check_and_infer(_tiny_model([2, 4]))  # the declared output shape contradicts Relu's
