"""``theano.tensor.elemwise`` stand-in: ``Elemwise``, which applies a user's scalar op to tensors
(``lasagne._symbolic.userops``); any other public name is a stand-in (``theano._standin``)."""
from lasagne._symbolic.userops import Elemwise  # noqa: F401

from .._standin import module_getattr

__getattr__ = module_getattr(globals())
