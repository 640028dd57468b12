"""Small whole networks in the styles people actually trained."""
from . import case


@case({"input": (2, 3, 32, 32)})
def vgg_like_stack():
    import lasagne
    from lasagne.layers import Conv2DLayer, DenseLayer, DropoutLayer, InputLayer, MaxPool2DLayer

    net = InputLayer((None, 3, 32, 32), name="input")
    for block, (n, width) in enumerate([(2, 8), (2, 16), (3, 16)]):
        for i in range(n):
            net = Conv2DLayer(net, width, 3, pad=1, name=f"conv{block + 1}_{i + 1}")
        net = MaxPool2DLayer(net, 2, name=f"pool{block + 1}")
    net = DenseLayer(net, 32, name="fc6")
    net = DropoutLayer(net, p=0.5, name="fc6_dropout")
    net = DenseLayer(net, 32, name="fc7")
    net = DropoutLayer(net, p=0.5, name="fc7_dropout")
    net = DenseLayer(net, 10, nonlinearity=None, name="fc8")
    return lasagne.layers.NonlinearityLayer(net, lasagne.nonlinearities.softmax, name="prob")


@case({"input": (2, 3, 16, 16)}, needs_02=True)
def resnet_like_blocks():
    import lasagne
    from lasagne.layers import (Conv2DLayer, DenseLayer, ElemwiseSumLayer, GlobalPoolLayer, InputLayer,
                                NonlinearityLayer, batch_norm)

    rectify = lasagne.nonlinearities.rectify

    def residual(x, width, stride, name):
        y = batch_norm(Conv2DLayer(x, width, 3, stride=stride, pad=1, nonlinearity=rectify, name=name + "_a"))
        y = batch_norm(Conv2DLayer(y, width, 3, pad=1, nonlinearity=None, name=name + "_b"))
        if stride != 1 or x.output_shape[1] != width:
            x = batch_norm(Conv2DLayer(x, width, 1, stride=stride, nonlinearity=None, b=None, name=name + "_proj"))
        return NonlinearityLayer(ElemwiseSumLayer([y, x], name=name + "_sum"), rectify, name=name + "_out")

    net = InputLayer((None, 3, 16, 16), name="input")
    net = batch_norm(Conv2DLayer(net, 8, 3, pad=1, name="conv1"))
    net = residual(net, 8, 1, "res2a")
    net = residual(net, 16, 2, "res3a")
    net = residual(net, 16, 1, "res3b")
    net = GlobalPoolLayer(net, name="pool")
    return DenseLayer(net, 5, nonlinearity=lasagne.nonlinearities.softmax, name="prob")


@case({"signal": (2, 1, 20)})
def conv1d_sequence_net():
    import lasagne
    from lasagne.layers import (Conv1DLayer, DenseLayer, DimshuffleLayer, FlattenLayer, InputLayer,
                                MaxPool1DLayer, ReshapeLayer)

    net = InputLayer((None, 1, 20), name="signal")
    net = Conv1DLayer(net, 6, 5, pad="same", name="c1")
    net = MaxPool1DLayer(net, 2, name="p1")
    net = Conv1DLayer(net, 4, 3, nonlinearity=lasagne.nonlinearities.leaky_rectify, name="c2")
    net = DimshuffleLayer(net, (0, 2, 1), name="time_major")
    net = ReshapeLayer(net, ([0], -1), name="flat_r")
    net = FlattenLayer(net, name="flat")
    return DenseLayer(net, 3, nonlinearity=lasagne.nonlinearities.tanh, name="out")
