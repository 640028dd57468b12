"""``theano.gof.op`` stand-in: the op base classes users subclass; any other public name is a stand-in."""
from lasagne._symbolic.userops import COp, Op, PureOp  # noqa: F401

from .._standin import module_getattr

__getattr__ = module_getattr(globals())
