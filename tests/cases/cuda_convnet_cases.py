"""cuda-convnet layers (Lasagne's GPU-only ``lasagne.layers.cuda_convnet``; their Theano reference is
the CPU stand-in of tests/legacy/backport_layers.py): bc01 (dimshuffle=True) and c01b layouts, flips,
padding modes, strides, untied biases, partial pooling windows, NINLayer_c01b."""
from . import case


@case({"input": (2, 3, 9, 9)}, needs_02=True)
def cuda_convnet_bc01():
    from lasagne.layers import DenseLayer, InputLayer
    from lasagne.layers.cuda_convnet import Conv2DCCLayer, MaxPool2DCCLayer

    l = InputLayer((None, 3, 9, 9), name="input")
    l = Conv2DCCLayer(l, 16, 3, pad="same", name="conv1")
    l = MaxPool2DCCLayer(l, 3, stride=2, name="pool1")  # 9 -> 4, the last window partial
    l = Conv2DCCLayer(l, 16, 3, stride=2, pad=1, flip_filters=True, untie_biases=True, name="conv2")
    return DenseLayer(l, 5, name="fc")


@case({"input": (2, 3, 8, 8)}, needs_02=True)
def cuda_convnet_c01b():
    import lasagne
    from lasagne.layers import InputLayer
    from lasagne.layers.cuda_convnet import (Conv2DCCLayer, MaxPool2DCCLayer, NINLayer_c01b, ShuffleBC01ToC01BLayer,
                                             ShuffleC01BToBC01Layer)

    # a known batch size: Lasagne 0.2 sizes c01b untied biases only after a first try with output_shape[2:]
    l = ShuffleBC01ToC01BLayer(InputLayer((2, 3, 8, 8), name="input"), name="to_c01b")
    l = Conv2DCCLayer(l, 16, 3, pad=1, dimshuffle=False, name="conv1")
    l = MaxPool2DCCLayer(l, 2, dimshuffle=False, name="pool1")
    l = NINLayer_c01b(l, 8, nonlinearity=lasagne.nonlinearities.tanh, name="nin")
    l = Conv2DCCLayer(l, 16, 3, pad="full", flip_filters=True, untie_biases=True, dimshuffle=False, name="conv2")
    return ShuffleC01BToBC01Layer(l, name="to_bc01")


@case({"input": (4, 6, 6, 2)}, needs_02=True)
def cuda_convnet_c01b_input_untied_nin():
    """A c01b network input (batch last); NINLayer_c01b's untied biases (which 0.2 on Python 3 cannot
    compute: ``range(...) + ['x']``; its Python 2 formula is exported)."""
    from lasagne.layers import InputLayer
    from lasagne.layers.cuda_convnet import Conv2DCCLayer, NINLayer_c01b

    l = InputLayer((4, 6, 6, None), name="input")
    l = Conv2DCCLayer(l, 16, 3, dimshuffle=False, b=None, name="conv")
    return NINLayer_c01b(l, 3, untie_biases=True, nonlinearity=None, name="nin_untied")
