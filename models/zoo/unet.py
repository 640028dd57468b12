"""U-Net (Ronneberger et al. 2015) as the Lasagne Recipes zoo builds it (Fabian Isensee's version):
'same'-padded 3x3 convolutions (cuDNN class where available) with ELU and HeNormal weights, each
wrapped in batch_norm; 2x2 pools; Deconv2DLayer 2x2 stride 2 (crop 'valid') up-convolutions, also
batch-normalised; skip connections by ConcatLayer with centre cropping; a 1x1 linear convolution
to the class scores, reshaped to (pixels, classes) and soft-maxed per pixel."""
from collections import OrderedDict

import lasagne
from lasagne.init import HeNormal
from lasagne.layers import (ConcatLayer, Deconv2DLayer, DimshuffleLayer, DropoutLayer, InputLayer,
                            NonlinearityLayer, Pool2DLayer, ReshapeLayer, batch_norm)

try:
    from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
except ImportError:
    from lasagne.layers import Conv2DLayer as ConvLayer


def build_model(input_shape=(None, 1, 128, 128), num_output_classes=2, pad="same",
                nonlinearity=lasagne.nonlinearities.elu, base_n_filters=64, do_dropout=False):
    def conv(incoming, n):
        return batch_norm(ConvLayer(incoming, n, 3, nonlinearity=nonlinearity, pad=pad, W=HeNormal(gain="relu")))

    def up(incoming, n):
        return batch_norm(Deconv2DLayer(incoming, n, 2, 2, crop="valid", nonlinearity=nonlinearity,
                                        W=HeNormal(gain="relu")))

    f = base_n_filters
    net = OrderedDict()
    net["input"] = InputLayer(input_shape)
    layer = net["input"]
    for depth in range(1, 5):
        net["contr_%d_1" % depth] = conv(layer, f * 2 ** (depth - 1))
        net["contr_%d_2" % depth] = conv(net["contr_%d_1" % depth], f * 2 ** (depth - 1))
        net["pool%d" % depth] = layer = Pool2DLayer(net["contr_%d_2" % depth], 2)
    if do_dropout:
        layer = DropoutLayer(layer, p=0.4)
    net["encode_1"] = conv(layer, f * 16)
    net["encode_2"] = layer = conv(net["encode_1"], f * 16)
    for step in range(1, 5):
        width = f * 2 ** (4 - step)
        net["upscale%d" % step] = up(layer, width * 2)
        net["concat%d" % step] = ConcatLayer([net["upscale%d" % step], net["contr_%d_2" % (5 - step)]],
                                             cropping=(None, None, "center", "center"))
        net["expand_%d_1" % step] = conv(net["concat%d" % step], width)
        net["expand_%d_2" % step] = layer = conv(net["expand_%d_1" % step], width)
    net["output_segmentation"] = ConvLayer(layer, num_output_classes, 1, nonlinearity=None)
    net["dimshuffle"] = DimshuffleLayer(net["output_segmentation"], (1, 0, 2, 3))
    net["reshapeSeg"] = ReshapeLayer(net["dimshuffle"], (num_output_classes, -1))
    net["dimshuffle2"] = DimshuffleLayer(net["reshapeSeg"], (1, 0))
    net["output_flattened"] = NonlinearityLayer(net["dimshuffle2"], nonlinearity=lasagne.nonlinearities.softmax)
    return net
