"""Network in Network for CIFAR-10 (Lin et al. 2013, the Caffe model zoo release) as the Lasagne
Recipes zoo builds it: cuDNN convolutions (flip_filters=False) with 1x1 "cccp" layers, pools with
ignore_border=False (max, then average_exc_pad twice, the last 8x8 a global average), dropout and a
flatten to the 10 class scores.  966,986 parameters."""
from lasagne.layers import DropoutLayer, FlattenLayer, InputLayer
from lasagne.layers import Pool2DLayer as PoolLayer
from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer

from . import channels


def build_model(input_shape=(None, 3, 32, 32), channel_divisor=1, num_classes=10):
    c = lambda n: channels(n, channel_divisor)
    conv = lambda incoming, n, size, pad=0: ConvLayer(incoming, num_filters=n, filter_size=size, pad=pad,
                                                      flip_filters=False)
    net = {}
    net["input"] = InputLayer(input_shape)
    net["conv1"] = conv(net["input"], c(192), 5, pad=2)
    net["cccp1"] = conv(net["conv1"], c(160), 1)
    net["cccp2"] = conv(net["cccp1"], c(96), 1)
    net["pool1"] = PoolLayer(net["cccp2"], pool_size=3, stride=2, mode="max", ignore_border=False)
    net["drop3"] = DropoutLayer(net["pool1"], p=0.5)
    net["conv2"] = conv(net["drop3"], c(192), 5, pad=2)
    net["cccp3"] = conv(net["conv2"], c(192), 1)
    net["cccp4"] = conv(net["cccp3"], c(192), 1)
    net["pool2"] = PoolLayer(net["cccp4"], pool_size=3, stride=2, mode="average_exc_pad", ignore_border=False)
    net["drop6"] = DropoutLayer(net["pool2"], p=0.5)
    net["conv3"] = conv(net["drop6"], c(192), 3, pad=1)
    net["cccp5"] = conv(net["conv3"], c(192), 1)
    net["cccp6"] = conv(net["cccp5"], num_classes, 1)
    net["pool3"] = PoolLayer(net["cccp6"], pool_size=8, mode="average_exc_pad", ignore_border=False)
    net["output"] = FlattenLayer(net["pool3"])
    return net
