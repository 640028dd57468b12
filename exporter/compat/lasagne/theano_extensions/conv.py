"""``lasagne.theano_extensions.conv``: 1-D convolution implementations (passed as ``convolution=``
to Conv1DLayer; calling them needs Theano)."""
from .._shared import theano_op

__all__ = ["conv1d_sc", "conv1d_mc0", "conv1d_mc1", "conv1d_unstrided", "conv1d_sd", "conv1d_md"]

for _name in __all__:
    globals()[_name] = theano_op(f"lasagne.theano_extensions.conv.{_name}", _name)
