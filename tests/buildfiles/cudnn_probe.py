"""Build code with the cuDNN probe of Lasagne Recipes' modelzoo/Unet.py: the cuDNN class where
``lasagne.layers.dnn`` imports (a GPU with cuDNN), the plain class where it does not (a CPU box).

conv1 and conv2 compute differently the two ways (Conv2DDNNLayer cross-correlates, Conv2DLayer
convolves); conv_fixed gives ``flip_filters`` itself and computes the same.  Used by
tests/test_cudnn_choice.py, and by tests/legacy/cudnn_worker.py in the Theano environment.
"""
import lasagne
from lasagne.layers import DenseLayer, InputLayer

try:
    from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
except ImportError:
    from lasagne.layers import Conv2DLayer as ConvLayer

INPUT_SHAPE = (2, 3, 7, 7)


def build():
    l = InputLayer((None,) + INPUT_SHAPE[1:], name="input")
    l = ConvLayer(l, 4, 3, pad=1, name="conv1")
    l = ConvLayer(l, 5, (3, 2), stride=2, nonlinearity=lasagne.nonlinearities.tanh, name="conv2")
    l = ConvLayer(l, 5, 2, flip_filters=True, name="conv_fixed")
    return DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="prob")


def build_lasagne01():
    """The same probe with Lasagne 0.1's arguments only (no flip_filters), for PyPI's Lasagne."""
    l = InputLayer((None,) + INPUT_SHAPE[1:], name="input")
    l = ConvLayer(l, 4, 3, pad=1, name="conv1")
    l = ConvLayer(l, 5, (3, 2), stride=2, nonlinearity=lasagne.nonlinearities.tanh, name="conv2")
    return DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="prob")
