"""GoogLeNet (Szegedy et al. 2014, BVLC Caffe release, without the auxiliary classifiers) as the
Lasagne Recipes zoo builds it: input of any spatial size, cuDNN convolutions with flip_filters=False,
max pools 3/2 with ignore_border=False, LRN with alpha 2e-5 and k 1 (n 5, beta 0.75), inception
modules concatenating 1x1 / 3x3 / 5x5 / pool-projection branches, a global average pool, a linear
1000-way layer and a softmax."""
from lasagne.layers import ConcatLayer, DenseLayer, GlobalPoolLayer, InputLayer, NonlinearityLayer
from lasagne.layers import LocalResponseNormalization2DLayer as LRNLayer
from lasagne.layers import MaxPool2DLayer as PoolLayer
from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
from lasagne.layers.dnn import MaxPool2DDNNLayer as PoolLayerDNN
from lasagne.nonlinearities import linear, softmax

from . import channels

# (pool_proj, 1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5) for each module
MODULES = {
    "inception_3a": (32, 64, 96, 128, 16, 32), "inception_3b": (64, 128, 128, 192, 32, 96),
    "inception_4a": (64, 192, 96, 208, 16, 48), "inception_4b": (64, 160, 112, 224, 24, 64),
    "inception_4c": (64, 128, 128, 256, 24, 64), "inception_4d": (64, 112, 144, 288, 32, 64),
    "inception_4e": (128, 256, 160, 320, 32, 128), "inception_5a": (128, 256, 160, 320, 32, 128),
    "inception_5b": (128, 384, 192, 384, 48, 128),
}


def inception_module(name, incoming, nfilters):
    pool_proj, n1x1, n3x3r, n3x3, n5x5r, n5x5 = nfilters
    net = {}
    net["pool"] = PoolLayerDNN(incoming, pool_size=3, stride=1, pad=1)
    net["pool_proj"] = ConvLayer(net["pool"], pool_proj, 1, flip_filters=False)
    net["1x1"] = ConvLayer(incoming, n1x1, 1, flip_filters=False)
    net["3x3_reduce"] = ConvLayer(incoming, n3x3r, 1, flip_filters=False)
    net["3x3"] = ConvLayer(net["3x3_reduce"], n3x3, 3, pad=1, flip_filters=False)
    net["5x5_reduce"] = ConvLayer(incoming, n5x5r, 1, flip_filters=False)
    net["5x5"] = ConvLayer(net["5x5_reduce"], n5x5, 5, pad=2, flip_filters=False)
    net["output"] = ConcatLayer([net["1x1"], net["3x3"], net["5x5"], net["pool_proj"]])
    return {"%s/%s" % (name, k): v for k, v in net.items()}


def build_model(input_shape=(None, 3, None, None), channel_divisor=1, num_classes=1000):
    c = lambda n: channels(n, channel_divisor)
    net = {}
    net["input"] = InputLayer(input_shape)
    net["conv1/7x7_s2"] = ConvLayer(net["input"], c(64), 7, stride=2, pad=3, flip_filters=False)
    net["pool1/3x3_s2"] = PoolLayer(net["conv1/7x7_s2"], pool_size=3, stride=2, ignore_border=False)
    net["pool1/norm1"] = LRNLayer(net["pool1/3x3_s2"], alpha=0.00002, k=1)
    net["conv2/3x3_reduce"] = ConvLayer(net["pool1/norm1"], c(64), 1, flip_filters=False)
    net["conv2/3x3"] = ConvLayer(net["conv2/3x3_reduce"], c(192), 3, pad=1, flip_filters=False)
    net["conv2/norm2"] = LRNLayer(net["conv2/3x3"], alpha=0.00002, k=1)
    net["pool2/3x3_s2"] = layer = PoolLayer(net["conv2/norm2"], pool_size=3, stride=2, ignore_border=False)
    for name, nfilters in MODULES.items():
        net.update(inception_module(name, layer, [c(n) for n in nfilters]))
        layer = net[name + "/output"]
        if name in ("inception_3b", "inception_4e"):
            pool = "pool3/3x3_s2" if name == "inception_3b" else "pool4/3x3_s2"
            net[pool] = layer = PoolLayer(layer, pool_size=3, stride=2, ignore_border=False)
    net["pool5/7x7_s1"] = GlobalPoolLayer(layer)
    net["loss3/classifier"] = DenseLayer(net["pool5/7x7_s1"], num_units=num_classes, nonlinearity=linear)
    net["prob"] = NonlinearityLayer(net["loss3/classifier"], nonlinearity=softmax)
    return net
