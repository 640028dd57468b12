"""``theano.scalar.basic`` stand-in: the names of ``theano.scalar`` (where Theano defines them)."""
from . import *  # noqa: F401,F403
from .._standin import module_getattr

__getattr__ = module_getattr(globals())
