"""C3D (Tran et al. 2015, the Sports-1M release with 487 classes) as the Lasagne Recipes zoo builds it:
3x3x3 cuDNN 3-D convolutions (flip_filters=False) with pad 1, 3-D max pools (1x2x2 first, then
2x2x2), a PadLayer adding one row and one column at the end before pool5 (C3D's Caffe pooling rounds
up; batch_ndim=3 leaves the time axis alone), two 4096-unit dense layers and a softmax.
Input: 16 frames of 112x112."""
import lasagne
from lasagne.layers import DenseLayer, InputLayer, NonlinearityLayer
from lasagne.layers.dnn import Conv3DDNNLayer, MaxPool3DDNNLayer
from lasagne.layers.shape import PadLayer
from lasagne.nonlinearities import softmax

from . import channels


def build_model(input_shape=(None, 3, 16, 112, 112), channel_divisor=1, fc_units=4096, num_classes=487):
    c = lambda n: channels(n, channel_divisor)
    relu = lasagne.nonlinearities.rectify
    net = {}
    net["input"] = InputLayer(input_shape)
    net["conv1a"] = Conv3DDNNLayer(net["input"], c(64), (3, 3, 3), pad=1, nonlinearity=relu, flip_filters=False)
    net["pool1"] = MaxPool3DDNNLayer(net["conv1a"], pool_size=(1, 2, 2), stride=(1, 2, 2))
    net["conv2a"] = Conv3DDNNLayer(net["pool1"], c(128), (3, 3, 3), pad=1, nonlinearity=relu)
    net["pool2"] = MaxPool3DDNNLayer(net["conv2a"], pool_size=(2, 2, 2), stride=(2, 2, 2))
    net["conv3a"] = Conv3DDNNLayer(net["pool2"], c(256), (3, 3, 3), pad=1, nonlinearity=relu)
    net["conv3b"] = Conv3DDNNLayer(net["conv3a"], c(256), (3, 3, 3), pad=1, nonlinearity=relu)
    net["pool3"] = MaxPool3DDNNLayer(net["conv3b"], pool_size=(2, 2, 2), stride=(2, 2, 2))
    net["conv4a"] = Conv3DDNNLayer(net["pool3"], c(512), (3, 3, 3), pad=1, nonlinearity=relu)
    net["conv4b"] = Conv3DDNNLayer(net["conv4a"], c(512), (3, 3, 3), pad=1, nonlinearity=relu)
    net["pool4"] = MaxPool3DDNNLayer(net["conv4b"], pool_size=(2, 2, 2), stride=(2, 2, 2))
    net["conv5a"] = Conv3DDNNLayer(net["pool4"], c(512), (3, 3, 3), pad=1, nonlinearity=relu)
    net["conv5b"] = Conv3DDNNLayer(net["conv5a"], c(512), (3, 3, 3), pad=1, nonlinearity=relu)
    net["pad"] = PadLayer(net["conv5b"], width=[(0, 1), (0, 1)], batch_ndim=3)
    net["pool5"] = MaxPool3DDNNLayer(net["pad"], pool_size=(2, 2, 2), pad=(0, 0, 0), stride=(2, 2, 2))
    net["fc6-1"] = DenseLayer(net["pool5"], num_units=fc_units, nonlinearity=relu)
    net["fc7-1"] = DenseLayer(net["fc6-1"], num_units=fc_units, nonlinearity=relu)
    net["fc8-1"] = DenseLayer(net["fc7-1"], num_units=num_classes, nonlinearity=None)
    net["prob"] = NonlinearityLayer(net["fc8-1"], softmax)
    return net
