"""Inception-v3 (Szegedy et al. 2015, the TensorFlow release with 1008 classes) as the Lasagne Recipes
zoo builds it: Conv2DLayer (true convolution, flip_filters=True: the zoo stores the weights
pre-flipped) wrapped in batch_norm with epsilon 1e-3, factorised 1x7 / 7x1 and 1x3 / 3x1 filters,
average_exc_pad pools with pad 1 inside the modules, a global average pool and a softmax dense
layer.  Input 299x299 scaled to [-1, 1]."""
from lasagne.layers import ConcatLayer, Conv2DLayer, DenseLayer, GlobalPoolLayer, InputLayer, Pool2DLayer
from lasagne.layers.normalization import batch_norm
from lasagne.nonlinearities import softmax

from . import channels

_DIVISOR = [1]


def bn_conv(incoming, num_filters, filter_size, **kwargs):
    layer = Conv2DLayer(incoming, num_filters=channels(num_filters, _DIVISOR[0]), filter_size=filter_size, **kwargs)
    return batch_norm(layer, epsilon=0.001)


def inception_a(incoming, nfilt):
    b1 = bn_conv(incoming, nfilt[0][0], 1)
    b2 = bn_conv(bn_conv(incoming, nfilt[1][0], 1), nfilt[1][1], 5, pad=2)
    b3 = bn_conv(incoming, nfilt[2][0], 1)
    b3 = bn_conv(bn_conv(b3, nfilt[2][1], 3, pad=1), nfilt[2][2], 3, pad=1)
    b4 = bn_conv(Pool2DLayer(incoming, pool_size=3, stride=1, pad=1, mode="average_exc_pad"), nfilt[3][0], 1)
    return ConcatLayer([b1, b2, b3, b4])


def inception_b(incoming, nfilt):
    b1 = bn_conv(incoming, nfilt[0][0], 3, stride=2)
    b2 = bn_conv(incoming, nfilt[1][0], 1)
    b2 = bn_conv(bn_conv(b2, nfilt[1][1], 3, pad=1), nfilt[1][2], 3, stride=2)
    b3 = Pool2DLayer(incoming, pool_size=3, stride=2)
    return ConcatLayer([b1, b2, b3])


def inception_c(incoming, nfilt):
    b1 = bn_conv(incoming, nfilt[0][0], 1)
    b2 = bn_conv(incoming, nfilt[1][0], 1)
    b2 = bn_conv(b2, nfilt[1][1], (1, 7), pad=(0, 3))
    b2 = bn_conv(b2, nfilt[1][2], (7, 1), pad=(3, 0))
    b3 = bn_conv(incoming, nfilt[2][0], 1)
    for n, (size, pad) in zip(nfilt[2][1:], [((7, 1), (3, 0)), ((1, 7), (0, 3))] * 2):
        b3 = bn_conv(b3, n, size, pad=pad)
    b4 = bn_conv(Pool2DLayer(incoming, pool_size=3, stride=1, pad=1, mode="average_exc_pad"), nfilt[3][0], 1)
    return ConcatLayer([b1, b2, b3, b4])


def inception_d(incoming, nfilt):
    b1 = bn_conv(bn_conv(incoming, nfilt[0][0], 1), nfilt[0][1], 3, stride=2)
    b2 = bn_conv(incoming, nfilt[1][0], 1)
    b2 = bn_conv(b2, nfilt[1][1], (1, 7), pad=(0, 3))
    b2 = bn_conv(b2, nfilt[1][2], (7, 1), pad=(3, 0))
    b2 = bn_conv(b2, nfilt[1][3], 3, stride=2)
    b3 = Pool2DLayer(incoming, pool_size=3, stride=2)
    return ConcatLayer([b1, b2, b3])


def inception_e(incoming, nfilt, pool_mode):
    b1 = bn_conv(incoming, nfilt[0][0], 1)
    b2 = bn_conv(incoming, nfilt[1][0], 1)
    b2a = bn_conv(b2, nfilt[1][1], (1, 3), pad=(0, 1))
    b2b = bn_conv(b2, nfilt[1][2], (3, 1), pad=(1, 0))
    b3 = bn_conv(bn_conv(incoming, nfilt[2][0], 1), nfilt[2][1], 3, pad=1)
    b3a = bn_conv(b3, nfilt[2][2], (1, 3), pad=(0, 1))
    b3b = bn_conv(b3, nfilt[2][3], (3, 1), pad=(1, 0))
    b4 = bn_conv(Pool2DLayer(incoming, pool_size=3, stride=1, pad=1, mode=pool_mode), nfilt[3][0], 1)
    return ConcatLayer([b1, b2a, b2b, b3a, b3b, b4])


def build_model(input_shape=(None, 3, 299, 299), channel_divisor=1, num_classes=1008):
    _DIVISOR[0] = channel_divisor
    net = {}
    net["input"] = InputLayer(input_shape)
    net["conv"] = bn_conv(net["input"], 32, 3, stride=2)
    net["conv_1"] = bn_conv(net["conv"], 32, 3)
    net["conv_2"] = bn_conv(net["conv_1"], 64, 3, pad=1)
    net["pool"] = Pool2DLayer(net["conv_2"], pool_size=3, stride=2, mode="max")
    net["conv_3"] = bn_conv(net["pool"], 80, 1)
    net["conv_4"] = bn_conv(net["conv_3"], 192, 3)
    net["pool_1"] = Pool2DLayer(net["conv_4"], pool_size=3, stride=2, mode="max")
    net["mixed/join"] = inception_a(net["pool_1"], ((64,), (48, 64), (64, 96, 96), (32,)))
    net["mixed_1/join"] = inception_a(net["mixed/join"], ((64,), (48, 64), (64, 96, 96), (64,)))
    net["mixed_2/join"] = inception_a(net["mixed_1/join"], ((64,), (48, 64), (64, 96, 96), (64,)))
    net["mixed_3/join"] = inception_b(net["mixed_2/join"], ((384,), (64, 96, 96)))
    net["mixed_4/join"] = inception_c(net["mixed_3/join"], ((192,), (128, 128, 192), (128, 128, 128, 128, 192), (192,)))
    net["mixed_5/join"] = inception_c(net["mixed_4/join"], ((192,), (160, 160, 192), (160, 160, 160, 160, 192), (192,)))
    net["mixed_6/join"] = inception_c(net["mixed_5/join"], ((192,), (160, 160, 192), (160, 160, 160, 160, 192), (192,)))
    net["mixed_7/join"] = inception_c(net["mixed_6/join"], ((192,), (192, 192, 192), (192, 192, 192, 192, 192), (192,)))
    net["mixed_8/join"] = inception_d(net["mixed_7/join"], ((192, 320), (192, 192, 192, 192)))
    net["mixed_9/join"] = inception_e(net["mixed_8/join"], ((320,), (384, 384, 384), (448, 384, 384, 384), (192,)),
                                      pool_mode="average_exc_pad")
    net["mixed_10/join"] = inception_e(net["mixed_9/join"], ((320,), (384, 384, 384), (448, 384, 384, 384), (192,)),
                                       pool_mode="max")
    net["pool3"] = GlobalPoolLayer(net["mixed_10/join"])
    net["softmax"] = DenseLayer(net["pool3"], num_units=num_classes, nonlinearity=softmax)
    return net
