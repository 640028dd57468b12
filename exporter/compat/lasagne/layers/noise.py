"""``lasagne.layers.noise``: dropout and Gaussian noise (identities at inference).

Like Lasagne, each layer draws one seed from ``lasagne.random.get_rng()`` when created, so the
random stream (and the initial values of later layers' parameters) matches real Lasagne's.
"""
from ..random import get_rng
from .._symbolic.lazy import random_sample
from .base import Layer, symbolic

__all__ = ["DropoutLayer", "dropout", "dropout_channels", "spatial_dropout", "dropout_locations",
           "GaussianNoiseLayer"]

_SEED_LIMIT = 2147462579  # MRG_RandomStreams' seed range, as Lasagne draws it


class DropoutLayer(Layer):
    """Dropout with probability ``p`` (rescaled by 1/(1-p) when ``rescale``); mask shared over ``shared_axes``."""

    def __init__(self, incoming, p=0.5, rescale=True, shared_axes=(), **kwargs):
        super(DropoutLayer, self).__init__(incoming, **kwargs)
        self._seed = get_rng().randint(1, _SEED_LIMIT)
        self.p = p
        self.rescale = rescale
        self.shared_axes = tuple(shared_axes)

    @symbolic
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.p == 0:
            return input
        return _noisy(self, input)


dropout = DropoutLayer


def dropout_channels(incoming, *args, **kwargs):
    """Dropout of whole channels (the mask is shared over all axes from 2 on)."""
    ndim = len(getattr(incoming, "output_shape", incoming))
    kwargs["shared_axes"] = tuple(range(2, ndim))
    return DropoutLayer(incoming, *args, **kwargs)


spatial_dropout = dropout_channels


def dropout_locations(incoming, *args, **kwargs):
    """Dropout of whole locations (the mask is shared over the channel axis)."""
    kwargs["shared_axes"] = (1,)
    return DropoutLayer(incoming, *args, **kwargs)


class GaussianNoiseLayer(Layer):
    """Adds Gaussian noise of standard deviation ``sigma`` during training."""

    def __init__(self, incoming, sigma=0.1, **kwargs):
        super(GaussianNoiseLayer, self).__init__(incoming, **kwargs)
        self._seed = get_rng().randint(1, _SEED_LIMIT)
        self.sigma = sigma

    @symbolic
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.sigma == 0:
            return input
        return _noisy(self, input)


def _noisy(layer, input):
    """The training-time output: random (refused if an exported layer depends on it)."""
    return random_sample("lasagne.layers.%s" % type(layer).__name__, input.shape, ndim=input.ndim, dtype=input.dtype)
