"""A small MNIST-style CNN written as ordinary Lasagne 0.2 code: the bundled example model.

    python -m exporter models/example/model.npz out/example.onnx

works without flags because model.npz carries this architecture as an embedded manifest; with
``--network models/example/build.py:build_model`` the build code itself runs (on the real Lasagne
if installed, otherwise on the Theano-free Lasagne API).
"""


def build_model(input_shape=(None, 1, 28, 28)):
    import lasagne
    from lasagne.layers import Conv2DLayer, DenseLayer, DropoutLayer, InputLayer, MaxPool2DLayer, batch_norm

    net = {}
    net["input"] = InputLayer(input_shape, name="input")
    net["conv1"] = batch_norm(Conv2DLayer(net["input"], 8, 3, pad="same", name="conv1"))
    net["pool1"] = MaxPool2DLayer(net["conv1"], 2, name="pool1")
    net["conv2"] = batch_norm(Conv2DLayer(net["pool1"], 16, 3, pad="same", name="conv2"))
    net["pool2"] = MaxPool2DLayer(net["conv2"], 2, ignore_border=False, name="pool2")
    net["drop"] = DropoutLayer(net["pool2"], p=0.5, name="drop")
    net["fc"] = DenseLayer(net["drop"], 32, name="fc")
    net["prob"] = DenseLayer(net["fc"], 10, nonlinearity=lasagne.nonlinearities.softmax, name="prob")
    return net
