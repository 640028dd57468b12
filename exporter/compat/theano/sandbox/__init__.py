"""``theano.sandbox`` stand-in: ``rng_mrg`` (random streams); any other name is a stand-in."""
from .._standin import module_getattr
from . import rng_mrg  # noqa: F401

__getattr__ = module_getattr(globals())
