"""``theano.gof.graph`` stand-in: ``Apply`` and the variables (DANN's gradient-reversal op builds its node with
``theano.gof.graph.Apply``); any other public name is a stand-in (``theano._standin``)."""
from lasagne._symbolic.graph import Constant, SymbolicVariable as Variable  # noqa: F401
from lasagne._symbolic.userops import Apply  # noqa: F401

from .._standin import module_getattr

__getattr__ = module_getattr(globals())
