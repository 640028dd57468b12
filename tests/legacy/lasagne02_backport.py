"""Lasagne 0.2 pieces that PyPI's Lasagne 0.1 lacks, written here as Theano expressions of their
documented formulas, so the parity tests have a Theano reference for them.

Runs only in the legacy test environment (Theano 1.0.5 + Lasagne 0.1).  ``install()`` adds the
classes to ``lasagne.layers`` / ``lasagne.nonlinearities`` and registers CPU stand-ins for the
cuDNN / corrmm modules (``lasagne.layers.dnn``, ``lasagne.layers.corrmm``), whose real versions
need a GPU.  Classes that exist in 0.1 are used as they are, except where 0.2 added an argument
(Conv2DLayer.flip_filters, DenseLayer.num_leading_axes): there a subclass of the real 0.1 class adds
it and defers to the real code for the 0.1 behaviour.
"""
import functools
import sys
import types

import numpy as np
import theano
import theano.tensor as T

import lasagne
from lasagne import init, nonlinearities
from lasagne.layers import Layer
from lasagne.utils import as_tuple
from theano.tensor.signal import pool as theano_pool

L01 = lasagne.layers


# -- nonlinearities (lasagne/nonlinearities.py of 0.2) ---------------------------------------------
def elu(x):
    return T.switch(x > 0, x, T.expm1(x))


def softplus(x):
    return T.nnet.softplus(x)


class SELU(object):
    def __init__(self, scale=1, scale_neg=1):
        self.scale, self.scale_neg = scale, scale_neg

    def __call__(self, x):
        return self.scale * T.switch(x > 0.0, x, self.scale_neg * T.expm1(x))


selu = SELU(scale=1.0507009873554804934193349852946, scale_neg=1.6732632423543772848170429916717)


class ScaledTanH(object):
    def __init__(self, scale_in=1, scale_out=1):
        self.scale_in, self.scale_out = scale_in, scale_out

    def __call__(self, x):
        return T.tanh(x * self.scale_in) * self.scale_out


ScaledTanh = ScaledTanH


# -- helpers -----------------------------------------------------------------------------------------
def _broadcast_pattern(ndim, kept_axes):
    """dimshuffle pattern placing a parameter's axes at ``kept_axes`` and 'x' elsewhere."""
    it = iter(range(len(kept_axes)))
    return tuple(next(it) if ax in kept_axes else "x" for ax in range(ndim))


# -- normalisation -------------------------------------------------------------------------------------
class BatchNormLayer(Layer):
    """0.2: at inference ``(x - mean) * (gamma * inv_std) + beta``, params beta, gamma, mean, inv_std."""

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
                 gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1), **kwargs):
        super(BatchNormLayer, self).__init__(incoming, **kwargs)
        if axes == "auto":
            axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = axes
        self.epsilon, self.alpha = epsilon, alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        self.beta = None if beta is None else self.add_param(beta, shape, "beta", trainable=True, regularizable=False)
        self.gamma = None if gamma is None else self.add_param(gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False, regularizable=False)

    def get_output_for(self, input, deterministic=False, **kwargs):
        assert deterministic, "reference outputs are deterministic"
        kept = [ax for ax in range(input.ndim) if ax not in self.axes]
        pattern = _broadcast_pattern(input.ndim, kept)
        beta = 0 if self.beta is None else self.beta.dimshuffle(pattern)
        gamma = 1 if self.gamma is None else self.gamma.dimshuffle(pattern)
        return (input - self.mean.dimshuffle(pattern)) * (gamma * self.inv_std.dimshuffle(pattern)) + beta


class BatchNormDNNLayer(BatchNormLayer):
    """0.2's cuDNN batch normalisation: at inference the same formula (lasagne/layers/dnn.py)."""


def batch_norm_dnn(layer, **kwargs):
    return batch_norm(layer, bn_class=BatchNormDNNLayer, **kwargs)


def batch_norm(layer, bn_class=BatchNormLayer, **kwargs):
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if getattr(layer, "b", None) is not None:
        del layer.params[layer.b]
        layer.b = None
    bn_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_bn")
    layer = bn_class(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        layer = L01.NonlinearityLayer(layer, nonlinearity, name=bn_name and bn_name + "_nonlin")
    return layer


# -- special -----------------------------------------------------------------------------------------------
class _SharedAxesLayer(Layer):
    def _shared(self, shared_axes):
        if shared_axes == "auto":
            shared_axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(shared_axes, int):
            shared_axes = (shared_axes,)
        self.shared_axes = shared_axes
        return [size for axis, size in enumerate(self.input_shape) if axis not in shared_axes]

    def _param(self, p, ndim):
        kept = [ax for ax in range(ndim) if ax not in self.shared_axes]
        return p.dimshuffle(_broadcast_pattern(ndim, kept))


class BiasLayer(_SharedAxesLayer):
    def __init__(self, incoming, b=init.Constant(0), shared_axes="auto", **kwargs):
        super(BiasLayer, self).__init__(incoming, **kwargs)
        shape = self._shared(shared_axes)
        self.b = None if b is None else self.add_param(b, shape, "b", regularizable=False)

    def get_output_for(self, input, **kwargs):
        return input if self.b is None else input + self._param(self.b, input.ndim)


class ScaleLayer(_SharedAxesLayer):
    def __init__(self, incoming, scales=init.Constant(1), shared_axes="auto", **kwargs):
        super(ScaleLayer, self).__init__(incoming, **kwargs)
        shape = self._shared(shared_axes)
        self.scales = self.add_param(scales, shape, "scales")

    def get_output_for(self, input, **kwargs):
        return input * self._param(self.scales, input.ndim)


# -- 0.2 arguments on 0.1 classes ---------------------------------------------------------------------------
class DenseLayer(L01.DenseLayer):
    """0.2 DenseLayer: ``num_leading_axes`` (0.1 behaves as num_leading_axes=1)."""

    def __init__(self, incoming, num_units, W=init.GlorotUniform(), b=init.Constant(0.),
                 nonlinearity=nonlinearities.rectify, num_leading_axes=1, **kwargs):
        Layer.__init__(self, incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.num_units = num_units
        if num_leading_axes < 0:
            num_leading_axes += len(self.input_shape)
        self.num_leading_axes = num_leading_axes
        num_inputs = int(np.prod(self.input_shape[num_leading_axes:]))
        self.W = self.add_param(W, (num_inputs, num_units), name="W")
        self.b = None if b is None else self.add_param(b, (num_units,), name="b", regularizable=False)

    def get_output_shape_for(self, input_shape):
        return input_shape[:self.num_leading_axes] + (self.num_units,)

    def get_output_for(self, input, **kwargs):
        if self.num_leading_axes == 1:
            return super(DenseLayer, self).get_output_for(input, **kwargs)
        if input.ndim > self.num_leading_axes + 1:
            input = input.flatten(self.num_leading_axes + 1)
        activation = T.dot(input, self.W)
        if self.b is not None:
            activation = activation + self.b
        return self.nonlinearity(activation)


def _flip_kwarg_conv(base, default_flip):
    """A subclass of a 0.1 conv class that takes 0.2's ``flip_filters`` (Theano's filter_flip)."""

    class Conv(base):
        def __init__(self, *args, **kwargs):
            self.flip_filters = kwargs.pop("flip_filters", default_flip)
            if not self.flip_filters:
                kwargs["convolution"] = functools.partial(T.nnet.conv2d, filter_flip=False)
            super(Conv, self).__init__(*args, **kwargs)

    return Conv


def conv1d_mc0(input, filters, image_shape=None, filter_shape=None, border_mode="valid", subsample=(1,),
               filter_flip=True):
    """0.2's lasagne.theano_extensions.conv.conv1d_mc0: 0.1's (conv2d over a unit height) plus the
    ``filter_flip`` argument 0.2 added."""
    conved = T.nnet.conv2d(input.dimshuffle(0, 1, "x", 2), filters.dimshuffle(0, 1, "x", 2),
                           border_mode=border_mode,
                           subsample=(1, subsample[0]), filter_flip=filter_flip)
    return conved[:, :, 0, :]


class Conv1DLayer(L01.Conv1DLayer):
    """0.2's Conv1DLayer argument ``flip_filters`` on the 0.1 class (True = 0.1's own convolution)."""

    def __init__(self, *args, **kwargs):
        self.flip_filters = kwargs.pop("flip_filters", True)
        if not self.flip_filters:
            kwargs["convolution"] = functools.partial(conv1d_mc0, filter_flip=False)
        super(Conv1DLayer, self).__init__(*args, **kwargs)


Conv2DLayer = _flip_kwarg_conv(L01.Conv2DLayer, True)
Conv2DLayer.__name__ = "Conv2DLayer"
Conv2DDNNLayer = _flip_kwarg_conv(L01.Conv2DLayer, False)
Conv2DDNNLayer.__name__ = "Conv2DDNNLayer"
Conv2DMMLayer = _flip_kwarg_conv(L01.Conv2DLayer, False)
Conv2DMMLayer.__name__ = "Conv2DMMLayer"


class Pool2DDNNLayer(L01.Pool2DLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, mode="max", **kwargs):
        assert ignore_border, "cuDNN pooling ignores borders"
        super(Pool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad, True, mode, **kwargs)


class MaxPool2DDNNLayer(Pool2DDNNLayer):
    def __init__(self, incoming, pool_size, stride=None, pad=(0, 0), ignore_border=True, **kwargs):
        super(MaxPool2DDNNLayer, self).__init__(incoming, pool_size, stride, pad, ignore_border, "max", **kwargs)


class Pool1DLayer(Layer):
    """0.2: pooling over the last axis of a 3-D input (via pool_2d on a trailing unit axis)."""

    def __init__(self, incoming, pool_size, stride=None, pad=0, ignore_border=True, mode="max", **kwargs):
        super(Pool1DLayer, self).__init__(incoming, **kwargs)
        self.pool_size = as_tuple(pool_size, 1)
        self.stride = self.pool_size if stride is None else as_tuple(stride, 1)
        self.pad = as_tuple(pad, 1)
        self.ignore_border = ignore_border
        self.mode = mode

    def get_output_shape_for(self, input_shape):
        from lasagne.layers.pool import pool_output_length

        out = list(input_shape)
        out[-1] = pool_output_length(input_shape[-1], self.pool_size[0], self.stride[0], self.pad[0], self.ignore_border)
        return tuple(out)

    def get_output_for(self, input, **kwargs):
        pooled = theano_pool.pool_2d(T.shape_padright(input, 1), ws=(self.pool_size[0], 1),
                                     stride=(self.stride[0], 1), ignore_border=self.ignore_border,
                                     pad=(self.pad[0], 0), mode=self.mode)
        return pooled[:, :, :, 0]


# -- recurrent layers: 0.2's only_return_final and initial states given as layers ---------------------------
def _final_step_option(base, inits=("hid_init",)):
    """0.2's ``only_return_final`` on a 0.1 recurrent class: the last step the scan computed, i.e.
    ``hid_out[-1]`` of the scan output (time step 0 when ``backwards``), of shape (batch, units).  And 0.2's
    ``hid_init`` / ``cell_init`` given as a layer: one more incoming (after the input and the mask), whose
    (batch, units) output 0.1's code takes as it takes a (batch, units) Theano variable for the initial state."""

    class Recurrent(base):
        def __init__(self, *args, **kwargs):
            self.only_return_final = kwargs.pop("only_return_final", False)
            init_layers = [(role, kwargs[role]) for role in inits if isinstance(kwargs.get(role), Layer)]
            for role, _ in init_layers:
                kwargs[role] = T.matrix(role)  # replaced by the layer's output in get_output_for
            super(Recurrent, self).__init__(*args, **kwargs)
            self.mask_incoming_index = 1 if len(self.input_layers) > 1 else -1
            self.hid_init_incoming_index = self.cell_init_incoming_index = -1
            self._n_base_inputs = len(self.input_layers)
            for role, layer in init_layers:
                self.input_layers.append(layer)
                self.input_shapes.append(layer.output_shape)
                setattr(self, role + "_incoming_index", len(self.input_layers) - 1)

        def get_output_shape_for(self, input_shapes):
            shape = super(Recurrent, self).get_output_shape_for(input_shapes)
            return (shape[0], shape[-1]) if self.only_return_final else shape

        def get_output_for(self, inputs, **kwargs):
            inputs, saved = list(inputs), {}
            for role in inits:
                index = getattr(self, role + "_incoming_index", -1)
                if index > 0:
                    saved[role] = getattr(self, role)
                    setattr(self, role, inputs[index])
            try:
                out = super(Recurrent, self).get_output_for(inputs[:self._n_base_inputs], **kwargs)
            finally:
                for role, value in saved.items():
                    setattr(self, role, value)
            return out[:, 0 if self.backwards else -1] if self.only_return_final else out

    Recurrent.__name__ = base.__name__
    return Recurrent


LSTMLayer = _final_step_option(L01.LSTMLayer, ("hid_init", "cell_init"))
GRULayer = _final_step_option(L01.GRULayer)
RecurrentLayer = _final_step_option(L01.RecurrentLayer)


# -- parameters given as Theano expressions (0.2's create_param, collect_shared_vars, get_params) ------------
def collect_shared_vars(expressions):
    """0.2's: the shared variables the expressions are computed from, in ``theano.gof.graph.inputs`` order."""
    if isinstance(expressions, theano.Variable):
        expressions = [expressions]
    return [v for v in theano.gof.graph.inputs(reversed(expressions)) if isinstance(v, theano.compile.SharedVariable)]


def _create_param_02(original):
    def create_param(spec, shape, name=None):
        """0.2: a Theano expression is the parameter as it is (its dimensions checked, named if unnamed)."""
        if isinstance(spec, theano.Variable) and not isinstance(spec, theano.compile.SharedVariable):
            if spec.ndim != len(shape):
                raise ValueError("cannot initialize parameter %s: the provided Theano variable has %d dimensions, "
                                 "should be %d" % (name, spec.ndim, len(shape)))
            if not spec.name:
                spec.name = name
            return spec
        return original(spec, shape, name)

    return create_param


def _get_params_02(original):
    def get_params(self, unwrap_shared=True, **tags):
        """0.2: a parameter given as an expression is its shared variables (``unwrap_shared``)."""
        result = original(self, **tags)
        return collect_shared_vars(result) if unwrap_shared else result

    return get_params


def adopt(module, name, obj):
    """``module.name = obj``, and the class or function becomes the module's own (its ``__module__``):
    these stand for Lasagne 0.2's, and the exporter trusts only Lasagne's own classes and functions."""
    if isinstance(obj, (type, types.FunctionType)):
        obj.__module__ = module.__name__
    setattr(module, name, obj)


def install():
    """Add the 0.2 pieces to the imported Lasagne 0.1 (idempotent)."""
    if getattr(lasagne, "_backport_installed", False):
        return
    for name in ("elu", "softplus", "SELU", "selu", "ScaledTanH", "ScaledTanh"):
        adopt(nonlinearities, name, globals()[name])
    lasagne.utils.collect_shared_vars = collect_shared_vars
    lasagne.utils.create_param = _create_param_02(lasagne.utils.create_param)
    Layer.get_params = _get_params_02(Layer.get_params)
    for name in ("BatchNormLayer", "batch_norm", "BiasLayer", "ScaleLayer", "DenseLayer", "Conv2DLayer", "Conv1DLayer",
                 "Pool1DLayer", "LSTMLayer", "GRULayer", "RecurrentLayer"):
        adopt(L01, name, globals()[name])
    import lasagne.theano_extensions.conv as conv_ext
    adopt(conv_ext, "conv1d_mc0", conv1d_mc0)
    dnn = types.ModuleType("lasagne.layers.dnn")
    for name in ("Conv2DDNNLayer", "Pool2DDNNLayer", "MaxPool2DDNNLayer", "BatchNormDNNLayer", "batch_norm_dnn"):
        adopt(dnn, name, globals()[name])
    corrmm = types.ModuleType("lasagne.layers.corrmm")
    adopt(corrmm, "Conv2DMMLayer", Conv2DMMLayer)
    sys.modules["lasagne.layers.dnn"], sys.modules["lasagne.layers.corrmm"] = dnn, corrmm
    L01.dnn, L01.corrmm = dnn, corrmm
    from . import backport_extra; backport_extra.install()  # noqa: E702  (zoo layers)
    from . import backport_layers; backport_layers.install()  # noqa: E702  (issue 12's layers)
    lasagne._backport_installed = True
