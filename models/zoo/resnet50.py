"""ResNet-50 (He et al. 2015, the Caffe release) as the Lasagne Recipes zoo builds it: convolutions
without bias (except conv1) that cross-correlate (flip_filters=False), each followed by a
BatchNormLayer (default epsilon 1e-4) and a separate ReLU; projection shortcuts on the first block of
each stage; ElemwiseSumLayer merges; max pool 3/2 and the final 7x7 average pool (average_exc_pad)
with ignore_border=False.  Layer names follow the Caffe model (res2a_branch2a, bn2a_branch2a, ...)."""
from lasagne.layers import BatchNormLayer, DenseLayer, ElemwiseSumLayer, InputLayer, NonlinearityLayer
from lasagne.layers import Conv2DLayer as ConvLayer
from lasagne.layers import Pool2DLayer as PoolLayer
from lasagne.nonlinearities import rectify, softmax

from . import channels


def conv_bn(net, incoming, names, num_filters, filter_size, stride, pad, use_bias=False, nonlin=rectify):
    """conv -> batch norm -> (ReLU); returns the last layer."""
    conv_kwargs = {} if use_bias else {"b": None}
    net[names[0]] = layer = ConvLayer(incoming, num_filters, filter_size, stride, pad, flip_filters=False,
                                      nonlinearity=None, **conv_kwargs)
    net[names[1]] = layer = BatchNormLayer(layer)
    if nonlin is not None:
        net[names[2]] = layer = NonlinearityLayer(layer, nonlinearity=nonlin)
    return layer


def bottleneck(net, incoming, ix, width, stride, project):
    """1x1 (stride) -> 3x3 -> 1x1 x4 branch, plus identity or a projected shortcut, summed and rectified."""
    names = lambda branch, part: ["res%s_branch%d%s" % (ix, branch, part), "bn%s_branch%d%s" % (ix, branch, part),
                                  "res%s_branch%d%s_relu" % (ix, branch, part)]
    right = conv_bn(net, incoming, names(2, "a"), width, 1, stride, 0)
    right = conv_bn(net, right, names(2, "b"), width, 3, 1, 1)
    right = conv_bn(net, right, names(2, "c"), width * 4, 1, 1, 0, nonlin=None)
    left = incoming
    if project:
        left = conv_bn(net, incoming, names(1, ""), width * 4, 1, stride, 0, nonlin=None)
    net["res%s" % ix] = layer = ElemwiseSumLayer([left, right], coeffs=1)
    net["res%s_relu" % ix] = layer = NonlinearityLayer(layer, nonlinearity=rectify)
    return layer


def build_model(input_shape=(None, 3, 224, 224), channel_divisor=1, blocks=(3, 4, 6, 3), num_classes=1000,
                final_pool=7):
    net = {}
    net["input"] = InputLayer(input_shape)
    layer = conv_bn(net, net["input"], ["conv1", "bn_conv1", "conv1_relu"], channels(64, channel_divisor), 7, 2, 3,
                    use_bias=True)
    net["pool1"] = layer = PoolLayer(layer, pool_size=3, stride=2, pad=0, mode="max", ignore_border=False)
    for stage, (count, width) in enumerate(zip(blocks, (64, 128, 256, 512)), start=2):
        for i in range(count):
            stride = 2 if i == 0 and stage > 2 else 1
            layer = bottleneck(net, layer, "%d%s" % (stage, "abcdefghijklmnopqrstuvwxyz"[i]),
                               channels(width, channel_divisor), stride, project=i == 0)
    net["pool5"] = PoolLayer(layer, pool_size=final_pool, stride=1, pad=0, mode="average_exc_pad",
                             ignore_border=False)
    net["fc1000"] = DenseLayer(net["pool5"], num_units=num_classes, nonlinearity=None)
    net["prob"] = NonlinearityLayer(net["fc1000"], nonlinearity=softmax)
    return net
