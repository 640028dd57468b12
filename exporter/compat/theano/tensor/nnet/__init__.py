"""``theano.tensor.nnet`` stand-in: activation and convolution functions (graph nodes while tracing,
refused otherwise).  Any other public name (``bn``, ``abstract_conv`` ...) is a stand-in (``theano._standin``)."""
from lasagne._shared import theano_op

from ..._standin import install_builders, module_getattr

for _name in ("sigmoid softmax relu softplus elu selu hard_sigmoid ultra_fast_sigmoid binary_crossentropy "
              "categorical_crossentropy conv2d conv3d conv2d_transpose conv2d_grad_wrt_inputs").split():
    globals()[_name] = theano_op(f"theano.tensor.nnet.{_name}")
from lasagne.layers.conv import _conv2d as conv2d, _conv3d as conv3d  # noqa: E402  (the compat layers' defaults)
install_builders(globals(), "theano.tensor.nnet.")


__getattr__ = module_getattr(globals())
