"""``lasagne.theano_extensions.padding``: ``pad`` (needs Theano when called)."""
from .._shared import theano_op

__all__ = ["pad"]

pad = theano_op("lasagne.theano_extensions.padding.pad", "pad")
