"""Full-size model-zoo networks (models/zoo) built with the Theano-free Lasagne API, exported with
their random initial weights, checked against the published parameter counts and run once in
onnxruntime.  (Numerical parity with Theano: every layer of small variants of the same build code in
tests/cases/zoo_cases.py, and the full-size networks' outputs in tests/test_zoo_full_theano.py.)"""
import importlib

import numpy as np
import pytest

from exporter.pipeline import to_onnx
from exporter.frontends.lasagne_live import capture
from exporter.weights import bind_weights


def _conv3x3_bn(cin, cout):  # U-Net: batch_norm drops the conv bias and adds beta, gamma
    return 9 * cin * cout + 2 * cout


def _unet_trainable(f=64, cin=1, classes=2):
    n, c = 0, cin
    for depth in range(4):  # contracting path
        w = f * 2 ** depth
        n += _conv3x3_bn(c, w) + _conv3x3_bn(w, w)
        c = w
    n += _conv3x3_bn(c, 16 * f) + _conv3x3_bn(16 * f, 16 * f)
    c = 16 * f
    for step in range(4):  # 2x2 up-convolution (batch-normalised), concat with the skip, two convs
        w = f * 2 ** (3 - step)
        n += 4 * c * 2 * w + 2 * 2 * w
        n += _conv3x3_bn(2 * w + w, w) + _conv3x3_bn(w, w)
        c = w
    return n + c * classes + classes


def _c3d_params():
    convs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512), (512, 512)]
    fcs = [(512 * 4 * 4, 4096), (4096, 4096), (4096, 487)]  # pool5 output: 512 x 1 x 4 x 4
    return sum(27 * a * b + b for a, b in convs) + sum(a * b + b for a, b in fcs)


# module -> (input array shape, expected trainable parameter count, where the count comes from)
ZOO = {
    "cifar10_nin": ((1, 3, 32, 32), 966_986, "Caffe NIN CIFAR-10 layer table"),
    "googlenet": ((1, 3, 224, 224), 6_998_552, "BVLC GoogLeNet deploy (no auxiliary heads)"),
    "resnet50": ((1, 3, 224, 224), 25_557_032 + 64, "ResNet-50 25,557,032 + conv1's bias (Caffe model)"),
    "inception_v3": ((1, 3, 299, 299), 23_834_568 + 8 * 2049, "Inception-v3 23,834,568 at 1000 classes, +8 classes"),
    "vgg16": ((1, 3, 224, 224), 138_357_544, "VGG-16 (configuration D)"),
    "vgg19": ((1, 3, 224, 224), 143_667_240, "VGG-19 (configuration E)"),
    "caffe_reference": ((1, 3, 227, 227), 60_965_224, "BVLC reference CaffeNet"),
    "unet": ((1, 1, 128, 128), _unet_trainable(), "U-Net arithmetic, base 64 filters, BN, 'same' pads"),
    "c3d": ((1, 3, 16, 112, 112), _c3d_params(), "C3D Sports-1M arithmetic (fc6 sees 8192 features)"),
}
HEAVY = {"vgg16", "vgg19", "caffe_reference", "unet", "c3d"}  # >100 MB of weights each


@pytest.fixture(scope="module")
def compat_lasagne():
    from exporter.compat import activate

    activate()
    import lasagne

    return lasagne


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.slow) if m in HEAVY else m for m in ZOO])
def test_full_size_zoo_network_exports_and_runs(module, compat_lasagne):
    import onnxruntime as ort

    L = compat_lasagne.layers
    shape, expected, source = ZOO[module]
    zoo = importlib.import_module("models.zoo." + module)
    net = zoo.build_model()
    out = list(net.values())[-1]  # the exporter's rule for a zoo dict: its last value is the output
    assert L.count_params(out, trainable=True) == expected, source

    graph = capture(out, source=f"models/zoo/{module}.py")
    values = L.get_all_param_values(out)
    assert sum(v.size for v in values) == L.count_params(out)
    model = to_onnx(graph, bind_weights(graph, {f"arr_{i}": v for i, v in enumerate(values)}, module))
    initialised = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    assert initialised >= L.count_params(out, trainable=True)

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    (y,) = sess.run(None, {sess.get_inputs()[0].name: x})
    lasagne_shape = out.output_shape
    assert y.ndim == len(lasagne_shape)
    assert all(d is None or d == s for d, s in zip(lasagne_shape[1:], y.shape[1:]))
    assert np.all(np.isfinite(y))
    if graph.layers[-1].attrs.get("nonlinearity", {}).get("name") == "softmax":  # rows of probabilities
        np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-5)
