"""VGG (Simonyan & Zisserman 2014) as the Lasagne Recipes zoo builds it: cuDNN convolutions that
cross-correlate (flip_filters=False, the Caffe weights are used unflipped), 3x3 pad 1, 2x2 max pools,
two 4096-unit dense layers with dropout, a linear 1000-way layer and a softmax."""
from lasagne.layers import DenseLayer, DropoutLayer, InputLayer, NonlinearityLayer
from lasagne.layers import Pool2DLayer as PoolLayer
from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
from lasagne.nonlinearities import softmax

from . import channels


def build_vgg(convs_per_block, input_shape=(None, 3, 224, 224), channel_divisor=1, fc_units=4096, num_classes=1000):
    net = {}
    net["input"] = layer = InputLayer(input_shape)
    for block, (count, width) in enumerate(zip(convs_per_block, (64, 128, 256, 512, 512)), start=1):
        for i in range(1, count + 1):
            net["conv%d_%d" % (block, i)] = layer = ConvLayer(
                layer, channels(width, channel_divisor), 3, pad=1, flip_filters=False)
        net["pool%d" % block] = layer = PoolLayer(layer, 2)
    net["fc6"] = DenseLayer(layer, num_units=fc_units)
    net["fc6_dropout"] = DropoutLayer(net["fc6"], p=0.5)
    net["fc7"] = DenseLayer(net["fc6_dropout"], num_units=fc_units)
    net["fc7_dropout"] = DropoutLayer(net["fc7"], p=0.5)
    net["fc8"] = DenseLayer(net["fc7_dropout"], num_units=num_classes, nonlinearity=None)
    net["prob"] = NonlinearityLayer(net["fc8"], softmax)
    return net
