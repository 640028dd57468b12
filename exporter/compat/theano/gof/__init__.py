"""``theano.gof`` stand-in: ``Op`` and ``Apply``, so that users' own ops define and apply
(``lasagne._symbolic.userops``); any other public name is a stand-in (``theano._standin``)."""
from lasagne._symbolic.graph import Constant, SymbolicVariable as Variable  # noqa: F401
from lasagne._symbolic.userops import COp, Apply, Op, PureOp  # noqa: F401

from .._standin import module_getattr
from . import graph, op  # noqa: E402,F401  (theano.gof.graph.Apply without importing the submodule)

__getattr__ = module_getattr(globals())
