"""``lasagne.layers.special``: nonlinearity, bias, scale, expression, inverse, spatial transformers,
parametric and randomized rectifiers."""
import numpy as np

from .. import init
from .. import nonlinearities
from .._shared import require_theano
from .._symbolic import elemwise as E
from .._symbolic.lazy import random_sample
from ..random import get_rng
from ..utils import as_tuple, floatX, int_types
from .base import Layer, MergeLayer, symbolic

__all__ = ["NonlinearityLayer", "BiasLayer", "ScaleLayer", "standardize", "ExpressionLayer", "InverseLayer",
           "TransformerLayer", "TPSTransformerLayer", "ParametricRectifierLayer", "prelu",
           "RandomizedRectifierLayer", "rrelu"]


def _param_shape(layer, shared_axes, what):
    shape = [size for axis, size in enumerate(layer.input_shape) if axis not in shared_axes]
    if any(size is None for size in shape):
        raise ValueError("%s needs specified input sizes for all axes that %s are not shared over."
                         % (type(layer).__name__, what))
    return shape


def _auto_shared_axes(shared_axes, rank, allow_all=False):
    if shared_axes == "auto":
        return (0,) + tuple(range(2, rank))
    if allow_all and shared_axes == "all":
        return tuple(range(rank))
    if isinstance(shared_axes, int_types):
        return (shared_axes,)
    return shared_axes


class NonlinearityLayer(Layer):
    """Applies ``nonlinearity`` elementwise (None means identity)."""

    def __init__(self, incoming, nonlinearity=nonlinearities.rectify, **kwargs):
        super(NonlinearityLayer, self).__init__(incoming, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity

    @symbolic
    def get_output_for(self, input, **kwargs):
        return self.nonlinearity(input)


def _param_pattern(param, shared_axes, ndim):
    """The dimshuffle pattern putting a parameter over the axes not in ``shared_axes``."""
    axes = iter(range(param.ndim))
    return ["x" if input_axis in shared_axes else next(axes) for input_axis in range(ndim)]


class BiasLayer(Layer):
    """Adds a learned bias ``b``, one value per position along the axes not in ``shared_axes``."""

    def __init__(self, incoming, b=init.Constant(0), shared_axes="auto", **kwargs):
        super(BiasLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = _auto_shared_axes(shared_axes, len(self.input_shape))
        if b is None:
            self.b = None
        else:
            shape = _param_shape(self, self.shared_axes, "biases")
            self.b = self.add_param(b, shape, "b", regularizable=False)

    @symbolic
    def get_output_for(self, input, **kwargs):
        if self.b is None:
            return input
        return E.add(input, self.b.dimshuffle(*_param_pattern(self.b, self.shared_axes, input.ndim)))


class ScaleLayer(Layer):
    """Multiplies by learned ``scales``, one value per position along the axes not in ``shared_axes``."""

    def __init__(self, incoming, scales=init.Constant(1), shared_axes="auto", **kwargs):
        super(ScaleLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = _auto_shared_axes(shared_axes, len(self.input_shape))
        shape = _param_shape(self, self.shared_axes, "scales")
        self.scales = self.add_param(scales, shape, "scales", regularizable=False)

    @symbolic
    def get_output_for(self, input, **kwargs):
        return E.mul(input, self.scales.dimshuffle(*_param_pattern(self.scales, self.shared_axes, input.ndim)))


def standardize(layer, offset, scale, shared_axes="auto"):
    """BiasLayer(-offset) then ScaleLayer(1/scale), both with non-trainable parameters."""
    layer = BiasLayer(layer, -offset, shared_axes)
    layer.params[layer.b].remove("trainable")
    layer = ScaleLayer(layer, floatX(1.) / scale, shared_axes)
    layer.params[layer.scales].remove("trainable")
    return layer


class ExpressionLayer(Layer):
    """Applies an arbitrary ``function``; ``output_shape`` is None (same as input), a tuple or a callable.

    ``output_shape='auto'``: Lasagne evaluates the function on zeros (a size of 0 for each unknown one) and
    reads the result's shape, sizes of 0 becoming None; here the function is traced on an input of those
    sizes and the result's static shape read the same way (a size the tracer cannot tell is None).
    """

    def __init__(self, incoming, function, output_shape=None, **kwargs):
        super(ExpressionLayer, self).__init__(incoming, **kwargs)
        if output_shape is None:
            self._output_shape = None
        elif output_shape == "auto":
            self._output_shape = "auto"
        elif hasattr(output_shape, "__call__"):
            self.get_output_shape_for = output_shape
        else:
            self._output_shape = tuple(output_shape)
        self.function = function

    def get_output_shape_for(self, input_shape):
        if self._output_shape is None:
            return input_shape
        if self._output_shape == "auto":
            return _auto_output_shape(self.function, input_shape)
        return self._output_shape

    @symbolic
    def get_output_for(self, input, **kwargs):
        return self.function(input)


def _auto_output_shape(function, input_shape):
    """Lasagne's ``output_shape='auto'``: the shape of ``function(alloc(0, *sizes))`` with 0 for each unknown
    size, each 0 of the result read as unknown."""
    from .._symbolic import NotTraceable, SymbolicVariable, tracing

    sizes = tuple(0 if s is None else s for s in input_shape)
    x = SymbolicVariable("x", dtype=floatX(np.zeros(0)).dtype, broadcastable=[False] * len(sizes), shape=sizes)
    try:
        with tracing():
            out = function(x)
        shape = tuple(getattr(out, "static_shape", None) or ())
    except (NotTraceable, ValueError, TypeError, IndexError) as e:
        require_theano(f"ExpressionLayer(output_shape='auto') (it evaluates the expression to find its shape; "
                       f"tracing it here: {e})")
    if len(shape) != getattr(out, "ndim", -1):
        require_theano("ExpressionLayer(output_shape='auto') (it evaluates the expression to find its shape, and "
                       "its result is not a tensor the tracer knows: give output_shape)")
    # a size the tracer leaves unknown is one the zeros decide (X.reshape((X.shape[0], -1)) of a 0-row input):
    # Lasagne's 0, read as None
    return tuple(None if not s else int(s) for s in shape)


class InverseLayer(MergeLayer):
    """The inverse (gradient) of ``layer``: output shape is ``layer``'s input shape."""

    def __init__(self, incoming, layer, **kwargs):
        super(InverseLayer, self).__init__([incoming, layer, layer.input_layer], **kwargs)

    def get_output_shape_for(self, input_shapes):
        return input_shapes[2]


class TransformerLayer(MergeLayer):
    """Affine spatial transformer; the localization network outputs (batch, 6)."""

    def __init__(self, incoming, localization_network, downsample_factor=1, border_mode="nearest", **kwargs):
        super(TransformerLayer, self).__init__([incoming, localization_network], **kwargs)
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.border_mode = border_mode
        input_shp, loc_shp = self.input_shapes
        if loc_shp[-1] != 6 or len(loc_shp) != 2:
            raise ValueError("The localization network must have output shape: (batch_size, 6)")
        if len(input_shp) != 4:
            raise ValueError("The input network must have a 4-dimensional output shape: "
                             "(batch_size, num_input_channels, input_rows, input_columns)")

    def get_output_shape_for(self, input_shapes):
        shape = input_shapes[0]
        factors = self.downsample_factor
        return tuple(shape[:2]) + tuple(None if s is None else int(s // f) for s, f in zip(shape[2:], factors))


class TPSTransformerLayer(MergeLayer):
    """Thin-plate-spline spatial transformer (shape rules only; the grid needs Theano)."""

    def __init__(self, incoming, localization_network, downsample_factor=1, control_points=16,
                 precompute_grid="auto", border_mode="nearest", **kwargs):
        super(TPSTransformerLayer, self).__init__([incoming, localization_network], **kwargs)
        self.border_mode = border_mode
        self.downsample_factor = as_tuple(downsample_factor, 2)
        self.control_points = control_points
        input_shp, loc_shp = self.input_shapes
        if loc_shp[-1] != 2 * control_points or len(loc_shp) != 2:
            raise ValueError("The localization network must have output shape: (batch_size, 2*control_points)")
        if round(np.sqrt(control_points)) != np.sqrt(control_points):
            raise ValueError("The number of control points must be a perfect square.")
        if len(input_shp) != 4:
            raise ValueError("The input network must have a 4-dimensional output shape: "
                             "(batch_size, num_input_channels, input_rows, input_columns)")
        can_precompute_grid = all(s is not None for s in input_shp[2:])
        if precompute_grid == "auto":
            precompute_grid = can_precompute_grid
        elif precompute_grid and not can_precompute_grid:
            raise ValueError("Grid can only be precomputed if the input height and width are pre-specified.")
        self.precompute_grid = precompute_grid

    get_output_shape_for = TransformerLayer.get_output_shape_for


class ParametricRectifierLayer(Layer):
    """Leaky rectifier with learned leakiness ``alpha`` (one per position along non-shared axes)."""

    def __init__(self, incoming, alpha=init.Constant(0.25), shared_axes="auto", **kwargs):
        super(ParametricRectifierLayer, self).__init__(incoming, **kwargs)
        self.shared_axes = _auto_shared_axes(shared_axes, len(self.input_shape), allow_all=True)
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.shared_axes]
        if any(size is None for size in shape):
            raise ValueError("ParametricRectifierLayer needs input sizes for all axes that alpha's are not "
                             "shared over.")
        self.alpha = self.add_param(alpha, shape, name="alpha", regularizable=False)

    @symbolic
    def get_output_for(self, input, **kwargs):
        return E.relu(input, self.alpha.dimshuffle(*_param_pattern(self.alpha, self.shared_axes, input.ndim)))


def prelu(layer, **kwargs):
    """Replace ``layer``'s nonlinearity by a ParametricRectifierLayer on top of it."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return ParametricRectifierLayer(layer, **kwargs)


class RandomizedRectifierLayer(Layer):
    """Leaky rectifier with random leakiness in [lower, upper] (mean leakiness at inference)."""

    def __init__(self, incoming, lower=0.3, upper=0.8, shared_axes="auto", **kwargs):
        super(RandomizedRectifierLayer, self).__init__(incoming, **kwargs)
        self._seed = get_rng().randint(1, 2147462579)
        self.lower = lower
        self.upper = upper
        if lower > upper:
            raise ValueError("Upper bound for RandomizedRectifierLayer needs to be higher than lower bound.")
        self.shared_axes = _auto_shared_axes(shared_axes, len(self.input_shape), allow_all=True)

    @symbolic
    def get_output_for(self, input, deterministic=False, **kwargs):
        if deterministic or self.upper == self.lower:
            return E.relu(input, (self.upper + self.lower) / 2.0)
        return random_sample("lasagne.layers.RandomizedRectifierLayer", input.shape, ndim=input.ndim,
                             dtype=input.dtype)


def rrelu(layer, **kwargs):
    """Replace ``layer``'s nonlinearity by a RandomizedRectifierLayer on top of it."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    return RandomizedRectifierLayer(layer, **kwargs)
