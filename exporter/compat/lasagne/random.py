"""``lasagne.random``: the numpy random number generator Lasagne's initializers draw from."""
import numpy as np

__all__ = ["get_rng", "set_rng"]

_rng = np.random


def get_rng():
    """The current random generator (``numpy.random`` itself by default, as in Lasagne)."""
    return _rng


def set_rng(new_rng):
    """Set the random generator used by initializers and noise layers."""
    global _rng
    _rng = new_rng
