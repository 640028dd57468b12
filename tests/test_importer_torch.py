"""ONNX -> PyTorch importer: parity with onnxruntime for every op the exporter emits, training-mode
batch-norm semantics, the to-torch CLI (files, loadability, errors).

The ONNX models are built the way users get them: a LayerGraph lowered by ``exporter.pipeline.to_onnx``;
ops that no layer family emits yet (ConvTranspose, Pad, LRN, PRelu, Resize, asymmetric pads...) are
built with onnx.helper.  ``CASES`` is shared with tests/test_importer_keras.py.
"""
import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporter.pipeline import to_onnx  # noqa: E402
from exporter.ir import LayerGraph, LayerSpec, ParamSpec  # noqa: E402
from exporter.weights import bind_weights  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOL = 1e-5  # max |target - onnxruntime| / max(1, max |onnxruntime|)


# -- building test models -----------------------------------------------------------------------------------
class Net:
    """Write a LayerGraph by hand: ``n.add(name, kind, inputs, attrs, params={role: array}, shape=...)``."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.layers, self.weights, self.keys = [], {}, []

    def input(self, shape, name="input", dtype=None):
        return self.add(name, "Input", [], {"shape": list(shape), **({"dtype": dtype} if dtype else {})}, shape=shape)

    def add(self, name, kind, inputs, attrs, params=None, shape=None):
        specs = []
        for role, arr in (params or {}).items():
            key = f"arr_{len(self.keys)}"
            self.keys.append(key)
            self.weights[key] = np.asarray(arr, np.float32)
            specs.append(ParamSpec(role=role, shape=np.shape(arr), key=key))
        self.layers.append(LayerSpec(name=name, kind=kind, lasagne_class=f"{kind}Layer", inputs=list(inputs),
                                     attrs=attrs, params=specs, output_shape=tuple(shape),
                                     position=len(self.layers)))
        return name

    def randn(self, *shape, scale=1.0):
        return self.rng.standard_normal(shape) * scale

    def onnx(self, outputs=None):
        g = LayerGraph(layers=self.layers, outputs=outputs or [self.layers[-1].name], param_keys=self.keys)
        return to_onnx(g, bind_weights(g, self.weights))


NL_NONE = {"name": "linear"}


def conv(n, name, inp, c_in, f, k, pad, stride=1, groups=1, nl=None, bias=True, untie=None, nd=2):
    k = [k] * nd if isinstance(k, int) else list(k)
    params = {"W": n.randn(f, c_in // groups, *k, scale=0.3)}
    if bias:
        params["b"] = n.randn(*(untie or (f,)))
    return n.add(name, "Conv", [inp], dict(num_filters=f, filter_size=k, stride=[stride] * nd, pad=pad,
                                           flip_filters=True, untie_biases=untie is not None, num_groups=groups,
                                           nonlinearity=nl or NL_NONE), params, (None,) * (nd + 2))


def bn(n, name, inp, c, rank, axes=None, eps=1e-4, alpha=0.1):
    return n.add(name, "BatchNorm", [inp], dict(form="inv_std", axes=axes or [a for a in range(rank) if a != 1],
                                                epsilon=eps, alpha=alpha, nonlinearity=None),
                 {"beta": n.randn(c), "gamma": n.randn(c), "mean": n.randn(c),
                  "inv_std": n.rng.uniform(0.5, 2.0, c)}, (None,) * rank)


def dense(n, name, inp, k, units, nl=None, lead=1, rank=2, bias=True):
    params = {"W": n.randn(k, units, scale=0.3)}
    if bias:
        params["b"] = n.randn(units)
    return n.add(name, "Dense", [inp], dict(num_units=units, num_leading_axes=lead, nonlinearity=nl or NL_NONE),
                 params, (None,) * rank)


def pool(n, name, inp, size, stride, pad, mode="max", ignore_border=True, shape=None):
    nd = len(size)
    return n.add(name, "Pool", [inp], dict(pool_size=list(size), stride=list(stride), pad=list(pad),
                                           ignore_border=ignore_border, mode=mode), shape=shape or (None,) * (nd + 2))


def nonlin(n, name, inp, nl, rank=4):
    return n.add(name, "Nonlinearity", [inp], {"nonlinearity": nl}, shape=(None,) * rank)


CASES = {}  # name -> () -> (onnx model, {input name: shape or (dtype, shape, low, high)})


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def embedding(n, name, inp, rows, dim, rank):
    return n.add(name, "Embedding", [inp], {"input_size": rows, "output_size": dim},
                 {"W": n.randn(rows, dim)}, (None,) * (rank + 1))


@case
def embedding_int32_negative_indices():
    n = Net(21)
    x = n.input((None, 5), name="words", dtype="int32")
    x = embedding(n, "embed", x, 9, 4, 2)
    dense(n, "fc", x, 20, 3, nl={"name": "tanh"})
    return n.onnx(), {"words": ("int32", (3, 5), -9, 9)}


@case
def feature_pool_and_wta():
    n = Net(23)
    x = n.input((None, 6, 4, 4))
    m = n.add("maxout", "FeaturePool", [x], {"pool_size": 3, "axis": 1, "pool_function": "max"}, shape=(None, 2, 4, 4))
    n.add("prod", "FeaturePool", [m], {"pool_size": 2, "axis": 3, "pool_function": "prod"}, shape=(None, 2, 4, 2))
    n.add("wta", "FeatureWTA", [x], {"pool_size": 2, "axis": 1}, shape=(None, 6, 4, 4))
    return n.onnx(outputs=["prod", "wta"]), {"input": (2, 6, 4, 4)}


@case
def spatial_transformers():
    """Bilinear sampling (Floor, Mod, Where, Less, Min, Neg, Clip, GatherND) for each border mode."""
    n = Net(24)
    x = n.input((None, 2, 5, 6))
    theta = dense(n, "theta", x, 60, 6)
    offsets = dense(n, "offsets", x, 60, 8)
    outs = [n.add(f"st_{m}", "Transformer", [x, theta], {"downsample_factor": [1, 1], "border_mode": m},
                  shape=(None, 2, 5, 6)) for m in ("nearest", "mirror", "wrap")]
    outs.append(n.add("tps", "TPSTransformer", [x, offsets], {"downsample_factor": [2, 2], "border_mode": "wrap",
                                                             "control_points": 4, "precompute_grid": True},
                      shape=(None, 2, 2, 3)))
    return n.onnx(outputs=outs), {"input": (2, 2, 5, 6)}


@case
def inverse_layers():
    """InverseLayer: rectifier derivative (Sign), max unpooling (Equal, Where), ConvTranspose, dense."""
    n = Net(25)
    x = n.input((None, 2, 6, 6))
    c = conv(n, "conv", x, 2, 3, 3, [1, 1], nl={"name": "rectify"})
    n.layers[-1].output_shape = (None, 3, 6, 6)
    p = pool(n, "pool", c, (2, 2), (2, 2), (0, 0), shape=(None, 3, 3, 3))
    d = dense(n, "fc", p, 27, 4, nl={"name": "tanh"})
    back = n.add("inv_fc", "Inverse", [d, d, p], {}, shape=(None, 3, 3, 3))
    back = n.add("inv_pool", "Inverse", [back, p, c], {}, shape=(None, 3, 6, 6))
    n.add("inv_conv", "Inverse", [back, c, x], {}, shape=(None, 2, 6, 6))
    return n.onnx(), {"input": (2, 2, 6, 6)}


@case
def standardization_and_rrelu():
    n = Net(26)
    x = n.input((None, 3, 4, 5))
    x = n.add("std", "Standardization", [x], {"axes": [2, 3], "epsilon": 1e-4}, shape=(None, 3, 4, 5))
    n.add("rrelu", "RandomizedRectifier", [x], {"lower": 0.3, "upper": 0.8}, shape=(None, 3, 4, 5))
    return n.onnx(), {"input": (2, 3, 4, 5)}


@case
def embedding_int8_cast():
    n = Net(22)
    x = n.input((None, 2, 3), name="chars", dtype="int8")
    embedding(n, "embed", x, 7, 2, 3)
    return n.onnx(), {"chars": ("int8", (2, 2, 3), -7, 7)}


@case
def conv_bn_relu_pool_dense():
    n = Net()
    x = n.input((None, 3, 9, 9))
    x = conv(n, "conv1", x, 3, 4, 3, "same")
    x = bn(n, "bn1", x, 4, 4)
    x = nonlin(n, "relu1", x, {"name": "rectify"})
    x = pool(n, "pool1", x, (2, 2), (2, 2), (0, 0), ignore_border=False, shape=(None, 4, 5, 5))
    x = dense(n, "fc", x, 100, 5, nl={"name": "softmax"})
    return n.onnx(), {"input": (2, 3, 9, 9)}


@case
def conv_pads_strides_groups():
    n = Net(1)
    x = n.input((None, 4, 11, 10))
    a = conv(n, "full", x, 4, 4, (3, 2), "full", stride=2, nl={"name": "rectify"})
    b = conv(n, "valid_grouped", a, 4, 6, 3, [1, 0], groups=2, bias=False)
    conv(n, "untied", b, 6, 3, 2, [0, 0], untie=(3, 6, 3), nl={"name": "tanh"})
    return n.onnx(), {"input": (2, 4, 11, 10)}


@case
def conv1d_and_nin():
    n = Net(2)
    x = n.input((None, 3, 17))
    x = conv(n, "c1", x, 3, 4, 3, "same", stride=3, nd=1, nl={"name": "elu"})
    n.add("nin", "NIN", [x], dict(num_units=5, untie_biases=False, nonlinearity={"name": "sigmoid"}),
          {"W": n.randn(4, 5), "b": n.randn(5)}, (None, 5, 6))
    return n.onnx(), {"input": (2, 3, 17)}


@case
def conv3d():
    n = Net(3)
    x = n.input((None, 2, 5, 6, 7))
    conv(n, "c3", x, 2, 3, (3, 2, 3), [1, 0, 2], stride=2, nd=3, nl={"name": "rectify"})
    return n.onnx(), {"input": (2, 2, 5, 6, 7)}


@case
def dense_leading_axes_and_no_bias():
    n = Net(4)
    x = n.input((None, 4, 5))
    x = dense(n, "per_step", x, 5, 6, lead=2, rank=3, nl={"name": "leaky_rectify", "leakiness": 0.1})
    x = dense(n, "nobias", x, 24, 3, bias=False)
    return n.onnx(), {"input": (3, 4, 5)}


@case
def nonlinearities():
    n = Net(5)
    x = n.input((None, 6))
    for i, nl in enumerate([{"name": "rectify"}, {"name": "leaky_rectify", "leakiness": 1 / 3}, {"name": "elu"},
                            {"name": "selu", "scale": 1.0507009873554805, "scale_neg": 1.6732632423543772},
                            {"name": "selu", "scale": 1.2, "scale_neg": 1.5}, {"name": "softplus"},
                            {"name": "sigmoid"}, {"name": "tanh"},
                            {"name": "scaled_tanh", "scale_in": 0.5, "scale_out": 2.4}, {"name": "softmax"}]):
        x = dense(n, f"d{i}", x, 6, 6, nl=nl)
    return n.onnx(), {"input": (4, 6)}


@case
def batchnorm_dense_and_affine_forms():
    n = Net(6)
    x = n.input((None, 3, 5, 4))
    a = bn(n, "bn_per_channel_eps", x, 3, 4, eps=1e-3, alpha=0.25)
    b = n.add("bn_axes", "BatchNorm", [a], dict(form="inv_std", axes=[0, 1], epsilon=1e-4, alpha=0.1,
                                                nonlinearity=None),
              {"beta": n.randn(5, 4), "gamma": n.randn(5, 4), "mean": n.randn(5, 4),
               "inv_std": n.rng.uniform(0.5, 2.0, (5, 4))}, (None, 3, 5, 4))
    d = dense(n, "fc", b, 60, 7)
    bn(n, "bn_dense", d, 7, 2)
    return n.onnx(), {"input": (4, 3, 5, 4)}


@case
def pools_2d():
    n = Net(7)
    x = n.input((None, 2, 9, 10))
    outs = []
    for mode in ("max", "average_inc_pad", "average_exc_pad"):
        outs.append(pool(n, f"{mode}_pad", x, (3, 3), (2, 2), (1, 1), mode=mode))
        outs.append(pool(n, f"{mode}_ceil", x, (3, 2), (2, 2), (0, 0), mode=mode, ignore_border=False,
                         shape=(None, 2, 4, 5)))
        # stride > pool size with ignore_border=False: extra end padding, not ceil_mode
        outs.append(pool(n, f"{mode}_extra", x, (2, 2), (3, 4), (0, 0), mode=mode, ignore_border=False,
                         shape=(None, 2, 3, 3)))
    return n.onnx(outs), {"input": (2, 2, 9, 10)}


@case
def pools_1d_global():
    n = Net(8)
    x = n.input((None, 3, 11))
    outs = [pool(n, "p1", x, (3,), (2,), (1,), mode="average_exc_pad"),
            pool(n, "p1max", x, (2,), (2,), (0,), ignore_border=False, shape=(None, 3, 6))]
    y = n.input((None, 3, 4, 5), name="image")
    for fn in ("mean", "max", "sum", "min"):
        outs.append(n.add(f"g_{fn}", "GlobalPool", [y], {"pool_function": fn}, shape=(None, 3)))
    return n.onnx(outs), {"input": (2, 3, 11), "image": (2, 3, 4, 5)}


@case
def pools_overhang():
    """ignore_border=False windows that run past the input edge: the overhang is not counted in averages
    (average_inc_pad too: Theano counts only pads, which ignore_border=False forbids), and Keras' 'same'
    padding there is uneven (16 with pool 3 stride 2: 0 before, 1 after), which the torch backend fills with
    the edge values."""
    n = Net(13)
    x = conv(n, "conv", n.input((None, 2, 16, 16)), 2, 2, 1, "valid")
    y = conv(n, "conv7", n.input((None, 2, 7, 10), name="small"), 2, 2, 1, "valid")
    z = conv(n, "conv1d", n.input((None, 2, 10), name="seq"), 2, 2, 1, "valid", nd=1)
    # pool 2 stride 3 on 9 has no ONNX ceil_mode form: the exporter pads the ends instead (static size)
    w = n.input((None, 2, 9, 16), name="wide")
    outs = []
    for mode in ("max", "average_inc_pad", "average_exc_pad"):
        outs.append(pool(n, f"{mode}_16", x, (3, 3), (2, 2), (0, 0), mode=mode, ignore_border=False,
                         shape=(None, 2, 8, 8)))
        outs.append(pool(n, f"{mode}_7", y, (2, 3), (2, 2), (0, 0), mode=mode, ignore_border=False,
                         shape=(None, 2, 4, 5)))
        outs.append(pool(n, f"{mode}_1d", z, (3,), (2,), (0,), mode=mode, ignore_border=False, shape=(None, 2, 5)))
        outs.append(pool(n, f"{mode}_end_pads", w, (2, 3), (3, 2), (0, 0), mode=mode, ignore_border=False,
                         shape=(None, 2, 3, 8)))
    return n.onnx(outs), {"input": (2, 2, 16, 16), "small": (2, 2, 7, 10), "seq": (2, 2, 10), "wide": (2, 2, 9, 16)}


@case
def pools_pads_ceil():
    """Explicit pads with ceil_mode=1 where the last window overhangs the end padding: the pads count in
    averages with count_include_pad=1, the overhang never does (onnxruntime, as Theano/PyTorch)."""
    def node(op, name, **kw):
        return helper.make_node(op, ["x"], [name], name=f"{name}/{op}", ceil_mode=1, **kw)

    nodes = []
    for op, inc in (("MaxPool", None), ("AveragePool", 0), ("AveragePool", 1)):
        kw = {} if inc is None else {"count_include_pad": inc}
        tag = f"{op}{'' if inc is None else inc}"
        nodes += [node(op, f"{tag}_sym", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], **kw),
                  node(op, f"{tag}_asym", kernel_shape=[3, 2], strides=[2, 3], pads=[0, 1, 1, 0], **kw),
                  node(op, f"{tag}_end", kernel_shape=[2, 3], strides=[3, 2], pads=[0, 0, 1, 2], **kw)]
    m = helper_model(nodes, [("x", ["N", 2, 9, 8])], [(o.output[0], 4) for o in nodes], {})
    return m, {"x": (2, 2, 9, 8)}


@case
def shapes_reshape_dimshuffle():
    n = Net(9)
    x = n.input((None, 2, 3, 4))
    a = n.add("flat3", "Flatten", [x], {"outdim": 3}, shape=(None, 2, 12))
    b = n.add("shuffle", "Dimshuffle", [a], {"pattern": [0, 2, "x", 1]}, shape=(None, 12, 1, 2))
    c = n.add("reshape_refs", "Reshape", [b], {"shape": [[0], [3], -1]}, shape=(None, 2, 12))
    d = n.add("drop_axis", "Dimshuffle", [n.add("unsq", "Dimshuffle", [c], {"pattern": [0, "x", 1, 2]},
                                                shape=(None, 1, 2, 12))], {"pattern": [0, 2, 3]},
              shape=(None, 2, 12))
    y = n.input((None, None, 4), name="seq")  # unknown length: a Reshape reading sizes at run time
    e = n.add("dyn_reshape", "Reshape", [y], {"shape": [[0], [2], [1]]}, shape=(None, 4, None))
    return n.onnx([d, e]), {"input": (2, 2, 3, 4), "seq": (2, 5, 4)}


@case
def merges_bias_scale():
    n = Net(10)
    x = n.input((None, 3, 6, 5))
    y = n.input((None, 2, 4, 5), name="other")
    cat = n.add("cat_crop", "Concat", [x, y], {"axis": 1, "cropping": [None, None, "center", "lower"]},
                shape=(None, 5, 4, 5))
    s = n.add("sum", "ElemwiseSum", [cat, cat], {"coeffs": [1.0, -0.5]}, shape=(None, 5, 4, 5))
    outs = [n.add(f"merge_{f}", "ElemwiseMerge", [s, cat], {"merge_function": f}, shape=(None, 5, 4, 5))
            for f in ("maximum", "minimum", "sub", "mul")]
    b = n.add("bias", "Bias", [outs[0]], {"shared_axes": [0, 2, 3]}, {"b": n.randn(5)}, (None, 5, 4, 5))
    sc = n.add("scale", "Scale", [b], {"shared_axes": [0, 1]}, {"scales": n.randn(4, 5)}, (None, 5, 4, 5))
    last = n.add("cat_last", "Concat", [sc, outs[2]], {"axis": -1, "cropping": None}, shape=(None, 5, 4, 10))
    drop = n.add("drop", "Identity", [last], {}, shape=(None, 5, 4, 10))
    return n.onnx([drop, outs[1], outs[3]]), {"input": (2, 3, 6, 5), "other": (2, 2, 4, 5)}


@case
def zoo_layers():
    """Layer families from the model zoo: TransposedConv, DilatedConv, LRN, PRelu, Slice, Pad, Upscale."""
    n = Net(13)
    x = n.input((None, 3, 6, 5))
    t = n.add("deconv", "TransposedConv", [x], dict(num_filters=4, filter_size=[3, 3], stride=[2, 2], crop=[1, 1],
                                                  pads=[1, 1, 1, 1], output_padding=[1, 0], flip_filters=False,
                                                  untie_biases=False, nonlinearity={"name": "rectify"}),
              {"W": n.randn(3, 4, 3, 3, scale=0.3), "b": n.randn(4)}, (None, 4, 12, 9))
    d = n.add("dilated", "DilatedConv", [t], dict(num_filters=5, filter_size=[3, 2], dilation=[2, 3],
                                                untie_biases=False, nonlinearity=NL_NONE),
              {"W": n.randn(4, 5, 3, 2, scale=0.3), "b": n.randn(5)}, (None, 5, 8, 6))
    l = n.add("lrn", "LRN", [d], {"alpha": 1e-2, "k": 2.0, "beta": 0.75, "n": 3}, shape=(None, 5, 8, 6))
    p = n.add("prelu", "PRelu", [l], {"shared_axes": [0, 2, 3]}, {"alpha": n.rng.uniform(0, 0.5, 5)},
              (None, 5, 8, 6))
    s1 = n.add("chan_slice", "Slice", [p], {"axis": 1, "index": None, "start": 1, "stop": 4, "step": None},
               shape=(None, 3, 8, 6))
    s2 = n.add("reverse_rows", "Slice", [s1], {"axis": 2, "index": None, "start": None, "stop": None, "step": -2},
               shape=(None, 3, 4, 6))
    s3 = n.add("pick", "Slice", [s2], {"axis": 3, "index": 2}, shape=(None, 3, 4))
    pd = n.add("pad", "Pad", [s2], {"pads": [0, 0, 1, 2, 0, 0, 2, 0], "val": 0.5}, shape=(None, 3, 7, 8))
    up = n.add("up", "Upscale", [pd], {"scale_factor": [2, 3], "mode": "repeat"}, shape=(None, 3, 14, 24))
    return n.onnx([up, s3]), {"input": (2, 3, 6, 5)}


@case
def upscale_dilate_and_1d():
    n = Net(14)
    x = n.input((None, 2, 3, 4))
    outs = [n.add("dilate", "Upscale", [x], {"scale_factor": [2, 3], "mode": "dilate"}, shape=(None, 2, 6, 12))]
    y = n.input((None, 3, 5), name="seq")
    outs.append(n.add("rep1d", "Upscale", [y], {"scale_factor": [3], "mode": "repeat"}, shape=(None, 3, 15)))
    return n.onnx(outs), {"input": (2, 2, 3, 4), "seq": (2, 3, 5)}


@case
def unknown_spatial_size():
    """Spatial sizes unknown until run time: upscales (repeat and dilate, 1-D and 2-D), LRN and a global sum
    need no static size (Keras: UpSampling2D, Dilate, LocalResponseNormalization, GlobalSumPooling)."""
    n = Net(15)
    x = n.input((None, 3, None, None))
    x = conv(n, "c", x, 3, 4, 3, "same")
    x = n.add("lrn", "LRN", [x], {"alpha": 1e-2, "k": 2.0, "beta": 0.75, "n": 3}, shape=(None, 4, None, None))
    x = n.add("rep", "Upscale", [x], {"scale_factor": [2, 3], "mode": "repeat"}, shape=(None, 4, None, None))
    d = n.add("dil", "Upscale", [x], {"scale_factor": [3, 2], "mode": "dilate"}, shape=(None, 4, None, None))
    g = n.add("gsum", "GlobalPool", [d], {"pool_function": "sum"}, shape=(None, 4))
    y = n.input((None, 2, None), name="seq")
    s = n.add("dil1d", "Upscale", [y], {"scale_factor": [3], "mode": "dilate"}, shape=(None, 2, None))
    return n.onnx([d, g, s]), {"input": (2, 3, 5, 4), "seq": (2, 2, 7)}


# -- ops built with onnx.helper (not emitted by a layer family yet) ------------------------------------------------
def helper_model(nodes, inputs, outputs, inits, opset=17):
    g = helper.make_graph(nodes, "t", [helper.make_tensor_value_info(k, TensorProto.FLOAT, v) for k, v in inputs],
                          [helper.make_tensor_value_info(k, TensorProto.FLOAT, [f"{k}_d{i}" for i in range(r)])
                           for k, r in outputs],
                          [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _f(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


@case
def conv_transpose():
    rng = np.random.default_rng(11)
    nodes = [helper.make_node("ConvTranspose", ["x", "W", "b"], ["y"], name="up/ConvTranspose", strides=[2, 2],
                              pads=[1, 1, 1, 1], output_padding=[1, 0]),
             helper.make_node("ConvTranspose", ["y", "W2"], ["z"], name="up2/ConvTranspose", pads=[0, 1, 2, 1],
                              group=2),
             helper.make_node("Conv", ["z", "W3"], ["c"], name="asym/Conv", pads=[0, 1, 2, 1], strides=[2, 1])]
    m = helper_model(nodes, [("x", ["N", 3, 5, 6])], [("c", 4)],
                     {"W": _f(rng, 3, 4, 3, 3), "b": _f(rng, 4), "W2": _f(rng, 4, 1, 3, 2), "W3": _f(rng, 2, 2, 2, 3)})
    return m, {"x": (2, 3, 5, 6)}


@case
def pad_lrn_prelu_resize():
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("Pad", ["x", "pads"], ["p0"], name="pad0/Pad"),
             helper.make_node("Pad", ["p0", "pads2", "val"], ["p1"], name="pad1/Pad"),
             helper.make_node("Pad", ["p1", "pads2"], ["p2"], name="pad2/Pad", mode="reflect"),
             helper.make_node("Pad", ["p2", "pads"], ["p3"], name="pad3/Pad", mode="edge"),
             helper.make_node("LRN", ["p3"], ["l"], name="lrn/LRN", size=5, alpha=5e-4, beta=0.75, bias=2.0),
             helper.make_node("PRelu", ["l", "slope"], ["r"], name="prelu/PRelu"),
             helper.make_node("Resize", ["r", "", "scales"], ["u"], name="up/Resize", mode="nearest",
                              coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
             helper.make_node("MaxPool", ["u"], ["mp"], name="mp3/MaxPool", kernel_shape=[2, 2], pads=[0, 0, 1, 1],
                              strides=[2, 2])]
    m = helper_model(nodes, [("x", ["N", 3, 5, 6])], [("mp", 4)],
                     {"pads": np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64),
                      "pads2": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "val": np.array(0.5, np.float32),
                      "slope": np.abs(_f(rng, 3, 1, 1)) * 0.2, "scales": np.array([1, 1, 2, 3], np.float32)})
    return m, {"x": (2, 3, 5, 6)}


@case
def pools_asymmetric_pads():
    def node(op, name, **kw):
        return helper.make_node(op, ["x"], [name], name=f"{name}/{op}", **kw)

    nodes = [node("MaxPool", "max_ceil", kernel_shape=[3, 2], strides=[2, 2], pads=[0, 1, 1, 0], ceil_mode=1),
             node("AveragePool", "avg_exc", kernel_shape=[3, 3], strides=[2, 1], pads=[0, 1, 2, 0]),
             node("AveragePool", "avg_inc", kernel_shape=[2, 3], strides=[1, 2], pads=[1, 0, 0, 2],
                  count_include_pad=1),
             node("AveragePool", "avg_exc_ceil", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1),
             node("MaxPool", "max_wide", kernel_shape=[2, 2], strides=[1, 1], pads=[1, 1, 1, 1], dilations=[2, 1])]
    m = helper_model(nodes, [("x", ["N", 2, 7, 8])], [(o.output[0], 4) for o in nodes], {})
    return m, {"x": (2, 2, 7, 8)}


@case
def pool3d_squeeze_slice():
    nodes = [helper.make_node("MaxPool", ["x"], ["m"], name="p3/MaxPool", kernel_shape=[2, 2, 2], strides=[2, 1, 2],
                              ceil_mode=1),
             helper.make_node("AveragePool", ["m"], ["a"], name="a3/AveragePool", kernel_shape=[1, 2, 2],
                              pads=[0, 1, 1, 0, 1, 1], count_include_pad=0),
             helper.make_node("Unsqueeze", ["a", "ax"], ["u"], name="u/Unsqueeze"),
             helper.make_node("Squeeze", ["u", "ax"], ["s"], name="s/Squeeze"),
             helper.make_node("Slice", ["s", "st", "en", "axs"], ["y"], name="sl/Slice"),
             helper.make_node("Transpose", ["y"], ["t"], name="t/Transpose", perm=[0, 2, 1, 3, 4])]
    m = helper_model(nodes, [("x", ["N", 2, 5, 6, 7])], [("t", 5)],
                     {"ax": np.array([-1], np.int64), "st": np.array([1, 0], np.int64),
                      "en": np.array([2, 2 ** 63 - 1], np.int64), "axs": np.array([1, -1], np.int64)})
    return m, {"x": (2, 2, 5, 6, 7)}


# -- helpers ------------------------------------------------------------------------------------------------------------
def feeds_for(shapes, seed=0):
    """Random inputs: standard normal float32 for a shape, integers in [low, high) for (dtype, shape, low, high)."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for k, v in shapes.items():
        if isinstance(v[0], str):
            dtype, shape, low, high = v
            feeds[k] = rng.integers(low, high, size=shape).astype(dtype)
        else:
            feeds[k] = rng.standard_normal(v).astype(np.float32)
    return feeds


def ort_outputs(model, feeds):
    from exporter.validate import make_session

    return make_session(model).run(None, feeds)


def rel_err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    return float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))


def torch_model(model):
    from exporter.importers import onnx_reader, to_torch

    view = onnx_reader.load(model)
    src, state = to_torch.generate(view)
    return view, src, to_torch.load_generated(src, state)


def torch_outputs(model, feeds):
    view, src, m = torch_model(model)
    with torch.no_grad():
        out = m(*[torch.from_numpy(feeds[k]) for k in view.inputs])
    return [o.numpy() for o in (out if isinstance(out, tuple) else (out,))], src


# -- parity -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CASES))
def test_torch_parity(name):
    model, shapes = CASES[name]()
    feeds = feeds_for(shapes)
    want = ort_outputs(model, feeds)
    got, src = torch_outputs(model, feeds)
    assert len(got) == len(want)
    errs = [rel_err(g, w) for g, w in zip(got, want)]
    assert max(errs) <= TOL, (errs, src)


# ops the parity cases must cover beyond those the network cases export: written by exporter paths no
# network case takes or by other producers (tf2onnx), and mapped by both importers
ALSO_COVERED = {"Sub", "Min", "ReduceMin", "Resize"}


def test_parity_suite_covers_every_emitted_op(references):
    """Every op type the exporter emits for the network cases of tests/cases (plain and optimised export)
    that to-torch imports appears in at least one parity case, so a layer family that starts emitting a
    new op is caught here (cases to-torch refuses, naming the op, are listed in TORCH_REFUSED)."""
    from exporter.weights import load_npz
    from tests.cases import load_all

    from tests.test_importers_vs_theano import TORCH_REFUSED  # refused with the op's name, tested there

    emitted = set(ALSO_COVERED)
    for name, c in sorted(load_all().items()):
        if c.expect_error or "traced" in c.tags or name in TORCH_REFUSED:  # traced layers' ops: imported or
            continue  # refused by name in test_importers_vs_theano (docs/theano_ops.md lists what they emit)
        ref = references(name)
        assert ref.error is None, f"{name}: the reference itself failed:\n{ref.error}"
        graph = LayerGraph.from_json(ref.graph_json)
        weights = bind_weights(graph, load_npz(ref.weights_path)[0], ref.weights_path)
        for optimize in ("off", "on"):
            emitted |= {nd.op_type for nd in to_onnx(graph, weights, optimize=optimize).graph.node}
    assert {"Conv", "Gemm", "BatchNormalization", "MaxPool", "Reshape"} <= emitted  # the sweep itself ran
    from tests.test_importer_recurrent import CASES as RECURRENT_CASES  # LSTM, GRU, RNN, Scan

    seen = set()
    for fn in list(CASES.values()) + list(RECURRENT_CASES.values()):
        seen |= {nd.op_type for nd in fn()[0].graph.node}
    assert emitted <= seen, sorted(emitted - seen)


def test_generated_source_is_readable_and_named_after_layers():
    model, _ = conv_bn_relu_pool_dense()
    _, src, m = torch_model(model)
    assert "self.conv1 = nn.Conv2d(3, 4, kernel_size=(3, 3), padding=(1, 1))" in src
    assert "self.bn1 = nn.BatchNorm2d(4, eps=0.0001, momentum=0.1)" in src
    assert "self.relu1 = nn.ReLU()" in src
    assert "self.pool1 = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2), ceil_mode=True)" in src
    assert "self.fc = nn.Linear(100, 5)" in src
    assert isinstance(m.conv1, torch.nn.Conv2d) and isinstance(m.bn1, torch.nn.BatchNorm2d)
    assert isinstance(m.fc, torch.nn.Linear) and isinstance(m.fc_softmax, torch.nn.Softmax)
    # the Lasagne kernel was flipped by the exporter; torch holds the ONNX (cross-correlation) kernel
    w = numpy_helper.to_array({i.name: i for i in model.graph.initializer}["conv1.W"])
    np.testing.assert_array_equal(m.conv1.weight.detach().numpy(), w)


def test_dense_after_matmul_add_is_one_linear():
    model, _ = dense_leading_axes_and_no_bias()
    _, src, m = torch_model(model)
    assert "self.per_step = nn.Linear(5, 6)" in src
    assert "self.nobias = nn.Linear(24, 3, bias=False)" in src


# -- training-mode batch norm ---------------------------------------------------------------------------------------------
def lasagne_bn_train_step(x, mean, inv_std, gamma, beta, alpha, eps):
    """Lasagne 0.2 BatchNormLayer with deterministic=False (batch_norm_update_averages=True), per channel."""
    axes = (0,) + tuple(range(2, x.ndim))
    bmean = x.mean(axes)
    binv = 1.0 / np.sqrt(x.var(axes) + eps)  # biased batch variance
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - bmean.reshape(shape)) * (gamma * binv).reshape(shape) + beta.reshape(shape)
    return y, (1 - alpha) * mean + alpha * bmean, (1 - alpha) * inv_std + alpha * binv


def test_torch_batchnorm_training_step_matches_lasagne_rule():
    alpha, eps = 0.25, 1e-3
    n = Net(20)
    x = n.input((None, 3, 4, 5))
    bn(n, "bn", x, 3, 4, eps=eps, alpha=alpha)
    model = n.onnx()
    _, src, m = torch_model(model)
    assert f"momentum={alpha}" in src and f"eps={eps}" in src
    p = {r: n.weights[k.key].astype(np.float64) for k in n.layers[1].params for r in [k.role]}
    xb = np.random.default_rng(1).standard_normal((6, 3, 4, 5)) * 2 + 0.5
    y_ref, mean_ref, inv_ref = lasagne_bn_train_step(xb, p["mean"], p["inv_std"], p["gamma"], p["beta"], alpha, eps)
    m.train()
    y = m(torch.from_numpy(xb.astype(np.float32))).detach().numpy()
    assert rel_err(y, y_ref) < 1e-5  # training forward normalises with the biased batch variance, like Lasagne
    np.testing.assert_allclose(m.bn.running_mean.numpy(), mean_ref, rtol=1e-5, atol=1e-6)  # same rule as Lasagne
    # torch averages the *unbiased* variance; Lasagne averages inv_std: documented in docs/importers.md
    var0 = 1.0 / p["inv_std"] ** 2 - eps
    nb = xb.size // 3
    torch_var = (1 - alpha) * var0 + alpha * xb.var((0, 2, 3)) * nb / (nb - 1)
    np.testing.assert_allclose(m.bn.running_var.numpy(), torch_var, rtol=1e-5, atol=1e-6)
    implied_inv = 1.0 / np.sqrt(m.bn.running_var.numpy().astype(np.float64) + eps)
    assert not np.allclose(implied_inv, inv_ref, rtol=1e-4)  # the documented difference is real


def test_torch_model_trains():
    model, shapes = conv_bn_relu_pool_dense()
    _, _, m = torch_model(model)
    m.train()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    x = torch.from_numpy(feeds_for(shapes)["input"])
    target = torch.tensor([1, 3])
    before = {k: v.detach().clone() for k, v in m.state_dict().items()}
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(m(x)), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    for k in ("conv1.weight", "bn1.weight", "fc.weight", "bn1.running_mean"):
        assert not torch.equal(before[k], m.state_dict()[k]), k


# -- CLI ---------------------------------------------------------------------------------------------------------------------
def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "exporter", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, env={**os.environ, "PYTHONPATH": ROOT})


def test_cli_writes_loadable_model(tmp_path):
    model, shapes = conv_bn_relu_pool_dense()
    onnx.save(model, tmp_path / "m.onnx")
    r = run_cli("to-torch", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "out")) == ["model.py", "state_dict.pt"]
    feeds = feeds_for(shapes)
    np.save(tmp_path / "x.npy", feeds["input"])
    script = ("import sys, numpy as np, torch; sys.path.insert(0, 'out'); import model; m = model.Model(); "
              "m.load_state_dict(torch.load('out/state_dict.pt')); m.eval(); "
              "np.save('y.npy', m(torch.from_numpy(np.load('x.npy'))).detach().numpy())")
    r2 = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert r2.returncode == 0, r2.stderr
    assert rel_err(np.load(tmp_path / "y.npy"), ort_outputs(model, feeds)[0]) <= TOL


def test_cli_missing_file(tmp_path):
    r = run_cli("to-torch", str(tmp_path / "nope.onnx"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0
    assert "nope.onnx: ONNX file not found" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_not_onnx(tmp_path):
    (tmp_path / "bad.onnx").write_bytes(b"\x00garbage" * 10)
    r = run_cli("to-torch", str(tmp_path / "bad.onnx"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2 and r.stderr.startswith("error: ") and not (tmp_path / "out").exists()


def test_cli_unsupported_op_names_node_and_writes_nothing(tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="act/Relu"),
             helper.make_node("Hardmax", ["r"], ["y"], name="weird/Hardmax")]
    onnx.save(helper_model(nodes, [("x", ["N", 4])], [("y", 2)], {}), tmp_path / "m.onnx")
    r = run_cli("to-torch", str(tmp_path / "m.onnx"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert "node 'weird/Hardmax' (op Hardmax" in r.stderr and "not supported" in r.stderr
    assert r.stderr.strip().count("\n") == 0
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("node,detail", [
    (helper.make_node("Conv", ["x", "W"], ["y"], name="c/Conv", auto_pad="SAME_UPPER"), "auto_pad=SAME_UPPER"),
    (helper.make_node("Conv", ["x", "W"], ["y"], name="c/Conv", pads=[0, 0, 0, 0], foo=3), "attribute(s) foo"),
    (helper.make_node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"], name="b/BatchNormalization",
                      training_mode=1), "training_mode=1"),
    (helper.make_node("Resize", ["x", "", "sc"], ["y"], name="r/Resize", mode="linear"), "mode='linear'"),
    (helper.make_node("LRN", ["x"], ["y"], name="l/LRN", size=4), "even size"),
])
def test_inexact_attributes_raise_naming_the_node(node, detail):
    from exporter.importers import onnx_reader, to_torch
    from exporter.importers.onnx_reader import UnsupportedNodeError

    g = helper.make_graph([node], "t", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(np.ones((2, 2, 1, 1), np.float32), "W"),
                           numpy_helper.from_array(np.ones(2, np.float32), "s"),
                           numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "sc")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(UnsupportedNodeError) as e:
        to_torch.generate(onnx_reader.view(m))
    assert f"node {node.name!r}" in str(e.value) and detail in str(e.value)


def test_layer_names_that_are_nn_module_attributes_are_renamed():
    """A Lasagne layer named after an nn.Module attribute (the instance attribute ``training``, methods
    such as ``forward``/``eval``/``parameters``) must not shadow it: the module gets a suffixed name."""
    n = Net(3)
    x = n.input((None, 3, 6, 6))
    x = conv(n, "forward", x, 3, 4, 3, "same")
    x = bn(n, "training", x, 4, 4)
    x = nonlin(n, "eval", x, {"name": "rectify"})
    n.add("parameters", "Bias", [x], {"shared_axes": [0, 2, 3]}, {"b": n.randn(4)}, (None, 4, 6, 6))
    model = n.onnx()
    feeds = feeds_for({"input": (2, 3, 6, 6)})
    got, src = torch_outputs(model, feeds)  # generating and loading used to raise TypeError
    assert rel_err(got[0], ort_outputs(model, feeds)[0]) <= TOL
    assert "self.training_ = nn.BatchNorm2d(" in src and "self.forward_ = nn.Conv2d(" in src
    _, _, m = torch_model(model)
    assert isinstance(m.training_, torch.nn.BatchNorm2d) and m.training is False
    m.train()
    assert m.training is True and m.training_.training is True and callable(m.eval) and callable(m.parameters)
