"""CaffeNet (BVLC reference CaffeNet, an AlexNet variant: pooling before normalisation) as the
Lasagne Recipes zoo builds it: Conv2DLayer (true convolution, flip_filters=True: the Caffe weights
are stored flipped), LRN with n 5, alpha 1e-4/5, beta 0.75, k 1, and Caffe's two-group convolutions
(conv2, conv4, conv5) built from two SliceLayers along the channels, two convolutions and a concat.
60,965,224 parameters."""
import lasagne.nonlinearities
from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer, LocalResponseNormalization2DLayer, MaxPool2DLayer
from lasagne.layers import SliceLayer, concat

from . import channels


def grouped_conv(net, name, incoming, num_filters, filter_size, pad):
    """Caffe ``group: 2``: each half of the filters sees one half of the input channels."""
    half = lasagne.layers.get_output_shape(incoming)[1] // 2
    net[name + "_data1"] = SliceLayer(incoming, indices=slice(0, half), axis=1)
    net[name + "_data2"] = SliceLayer(incoming, indices=slice(half, 2 * half), axis=1)
    net[name + "_part1"] = Conv2DLayer(net[name + "_data1"], num_filters=num_filters // 2, filter_size=filter_size,
                                       pad=pad)
    net[name + "_part2"] = Conv2DLayer(net[name + "_data2"], num_filters=num_filters // 2, filter_size=filter_size,
                                       pad=pad)
    net[name] = concat((net[name + "_part1"], net[name + "_part2"]), axis=1)
    return net[name]


def build_model(input_shape=(None, 3, 227, 227), channel_divisor=1, fc_units=4096, num_classes=1000):
    c = lambda n: channels(n, channel_divisor)
    lrn = dict(n=5, alpha=0.0001 / 5.0, beta=0.75, k=1)
    net = {}
    net["data"] = InputLayer(shape=input_shape)
    net["conv1"] = Conv2DLayer(net["data"], num_filters=c(96), filter_size=(11, 11), stride=4,
                               nonlinearity=lasagne.nonlinearities.rectify)
    net["pool1"] = MaxPool2DLayer(net["conv1"], pool_size=(3, 3), stride=2)
    net["norm1"] = LocalResponseNormalization2DLayer(net["pool1"], **lrn)
    grouped_conv(net, "conv2", net["norm1"], c(256), (5, 5), 2)
    net["pool2"] = MaxPool2DLayer(net["conv2"], pool_size=(3, 3), stride=2)
    net["norm2"] = LocalResponseNormalization2DLayer(net["pool2"], **lrn)
    net["conv3"] = Conv2DLayer(net["norm2"], num_filters=c(384), filter_size=(3, 3), pad=1)
    grouped_conv(net, "conv4", net["conv3"], c(384), (3, 3), 1)
    grouped_conv(net, "conv5", net["conv4"], c(256), (3, 3), 1)
    net["pool5"] = MaxPool2DLayer(net["conv5"], pool_size=(3, 3), stride=2)
    net["fc6"] = DenseLayer(net["pool5"], num_units=fc_units, nonlinearity=lasagne.nonlinearities.rectify)
    net["fc7"] = DenseLayer(net["fc6"], num_units=fc_units, nonlinearity=lasagne.nonlinearities.rectify)
    net["fc8"] = DenseLayer(net["fc7"], num_units=num_classes, nonlinearity=lasagne.nonlinearities.softmax)
    return net
