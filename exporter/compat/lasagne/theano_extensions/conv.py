"""``lasagne.theano_extensions.conv``: 1-D convolution implementations (passed as ``convolution=``
to Conv1DLayer).  While tracing, ``conv1d_mc0`` and ``conv1d_mc1`` are Lasagne's formulas (a 2-d
convolution with a singleton axis); the others need Theano."""
from .._shared import is_tracing, require_theano, theano_op
from .._symbolic import nnet as NN

__all__ = ["conv1d_sc", "conv1d_mc0", "conv1d_mc1", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]

for _name in ("conv1d_sc", "conv1d_unstrided", "conv1d_sd", "conv1d_md"):
    globals()[_name] = theano_op(f"lasagne.theano_extensions.conv.{_name}", _name)


def _conv1d(input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip, axis, name):
    if not is_tracing():
        require_theano(f"lasagne.theano_extensions.conv.{name}")
    if isinstance(border_mode, tuple):
        (border_mode,) = border_mode
    if axis == 2:  # mc0: (b, c, 1, i)
        pattern, stride = (0, 1, "x", 2), (1, subsample[0])
        border_mode = (0, border_mode) if isinstance(border_mode, int) else border_mode
    else:  # mc1: (b, c, i, 1)
        pattern, stride = (0, 1, 2, "x"), (subsample[0], 1)
        border_mode = (border_mode, 0) if isinstance(border_mode, int) else border_mode
    conved = NN.conv2d(input.dimshuffle(*pattern), filters.dimshuffle(*pattern), subsample=stride,
                       border_mode=border_mode, filter_flip=filter_flip)
    return conved[:, :, 0, :] if axis == 2 else conved[:, :, :, 0]


def conv1d_mc0(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
               filter_flip=True):
    return _conv1d(input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip, 2, "conv1d_mc0")


def conv1d_mc1(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
               filter_flip=True):
    return _conv1d(input, filters, image_shape, filter_shape, border_mode, subsample, filter_flip, 3, "conv1d_mc1")


for _f in (conv1d_mc0, conv1d_mc1):
    _f.lasagne2onnx_standin_for = f"lasagne.theano_extensions.conv.{_f.__name__}"
