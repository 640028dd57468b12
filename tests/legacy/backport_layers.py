"""Lasagne 0.2 layers of issue 12 for the legacy reference environment (Theano 1.0.5 + PyPI Lasagne 0.1).

Written here from Lasagne 0.2's documentation (formulas, shape rules, defaults) as Theano expressions,
so the parity tests of these layers have a Theano reference; each computes what the 0.2 docstring
describes, with Lasagne's own float32 rounding points (linspace grids, coordinate scaling) where
they matter:

* StandardizationLayer ((x - mean) / sqrt(var + epsilon) over ``axes``), ``instance_norm``, ``layer_norm``;
* RandomizedRectifierLayer / ``rrelu`` (deterministic: ``relu(x, (lower + upper) / 2)``).

``install()`` is called at the end of ``lasagne02_backport.install()``.
"""
import theano.tensor as T

import lasagne
from lasagne import nonlinearities
from lasagne.layers import Layer

L01 = lasagne.layers


# -- normalisation --------------------------------------------------------------------------------------
class StandardizationLayer(Layer):
    def __init__(self, incoming, axes="auto", epsilon=1e-4, **kwargs):
        super(StandardizationLayer, self).__init__(incoming, **kwargs)
        rank = len(self.input_shape)
        named = {"spatial": tuple(range(2, rank)), "features": tuple(range(1, rank)),
                 "auto": (1,) if rank == 2 else tuple(range(2, rank))}
        if isinstance(axes, str):
            axes = named[axes]
        self.axes = (axes,) if isinstance(axes, int) else tuple(axes)
        self.epsilon = epsilon

    def get_output_for(self, input, **kwargs):
        centered = input - input.mean(self.axes, keepdims=True)
        return centered / T.sqrt(T.var(input, self.axes, keepdims=True) + self.epsilon)


def _take_nonlinearity_and_bias(layer):
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def _normalize(layer, axes, suffix, scale, bias, kwargs):
    nonlinearity = _take_nonlinearity_and_bias(layer)
    name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + suffix)
    layer = StandardizationLayer(layer, axes=axes, name=name, **kwargs)
    if scale:
        layer = L01.ScaleLayer(layer, shared_axes="auto", name=name and name + "_scale")
    if bias:
        layer = L01.BiasLayer(layer, shared_axes="auto", name=name and name + "_bias")
    if nonlinearity is not None:
        layer = L01.NonlinearityLayer(layer, nonlinearity, name=name and name + "_nonlin")
    return layer


def instance_norm(layer, learn_scale=True, learn_bias=True, **kwargs):
    return _normalize(layer, "spatial", "_in", learn_scale, learn_bias, kwargs)


def layer_norm(layer, **kwargs):
    return _normalize(layer, "features", "_ln", True, True, kwargs)


# -- randomized rectifier -----------------------------------------------------------------------------------
class RandomizedRectifierLayer(Layer):
    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super(RandomizedRectifierLayer, self).__init__(incoming, **kwargs)
        lasagne.random.get_rng().randint(1, 2147462579)  # 0.2 seeds its random stream here
        self.lower, self.upper = lower, upper
        if lower > upper:
            raise ValueError("Upper bound for RandomizedRectifierLayer needs to be higher than lower bound.")
        rank = len(self.input_shape)
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, rank))
        elif shared_axes == "all":
            shared_axes = tuple(range(rank))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = shared_axes

    def get_output_for(self, input, deterministic=False, **kwargs):
        if not deterministic and self.upper != self.lower:
            raise NotImplementedError("the reference runs deterministic outputs only")
        return T.nnet.relu(input, (self.upper + self.lower) / 2.0)


def rrelu(layer, **kwargs):
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return RandomizedRectifierLayer(layer, **kwargs)


def install():
    from .lasagne02_backport import adopt

    for name in ("StandardizationLayer", "instance_norm", "layer_norm", "RandomizedRectifierLayer", "rrelu"):
        adopt(L01, name, globals()[name])
