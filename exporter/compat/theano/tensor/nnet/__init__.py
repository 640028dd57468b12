"""``theano.tensor.nnet`` stand-in: activation and convolution functions that raise when called."""
from lasagne._shared import theano_op

for _name in ("sigmoid softmax relu softplus elu selu hard_sigmoid ultra_fast_sigmoid binary_crossentropy "
              "categorical_crossentropy conv2d conv3d conv2d_transpose bn").split():
    globals()[_name] = theano_op(f"theano.tensor.nnet.{_name}")


def __getattr__(name):
    raise AttributeError(f"theano.tensor.nnet.{name} is not available in lasagne2onnx's Theano stand-in")
