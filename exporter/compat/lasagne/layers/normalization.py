"""``lasagne.layers.normalization``: local response normalization, batch normalization and the
standardization helpers (instance_norm, layer_norm)."""
from .. import init
from .. import nonlinearities
from .._symbolic import elemwise as E, reduce as R, shape as S
from ..utils import int_types
from .base import Layer, symbolic

__all__ = ["LocalResponseNormalization2DLayer", "BatchNormLayer", "batch_norm", "StandardizationLayer",
           "instance_norm", "layer_norm"]


class LocalResponseNormalization2DLayer(Layer):
    """Cross-channel normalization ``x / (k + alpha * sum_{n neighbours} x^2) ** beta`` (n odd)."""

    def __init__(self, incoming, alpha=1e-4, k=2, beta=0.75, n=5, **kwargs):
        super(LocalResponseNormalization2DLayer, self).__init__(incoming, **kwargs)
        self.alpha = alpha
        self.k = k
        self.beta = beta
        self.n = n
        if n % 2 == 0:
            raise NotImplementedError("Only works with odd n")

    def get_output_shape_for(self, input_shape):
        return input_shape

    @symbolic
    def get_output_for(self, input, **kwargs):
        """Lasagne 0.2's formula: ``input / (k + alpha * sum of the squares of n neighbouring channels) ** beta``."""
        half_n = self.n // 2
        input_sqr = E.sqr(input)
        b, ch, r, c = input.shape
        extra_channels = S.alloc(0.0, b, E.add(ch, 2 * half_n), r, c)
        input_sqr = S.set_subtensor(extra_channels[:, half_n:E.add(half_n, ch), :, :], input_sqr)
        scale = self.k
        for i in range(self.n):
            scale = E.add(scale, E.mul(self.alpha, input_sqr[:, i:E.add(i, ch), :, :]))
        scale = E.pow(scale, self.beta)
        return E.true_div(input, scale)


class BatchNormLayer(Layer):
    """Batch normalization over ``axes`` ('auto': all but axis 1).

    Parameters, in order: beta, gamma (either may be None), mean, inv_std (running statistics,
    tagged ``trainable=False``, ``batch_norm_stat=True``).
    """

    def __init__(self, incoming, axes="auto", epsilon=1e-4, alpha=0.1, beta=init.Constant(0),
                 gamma=init.Constant(1), mean=init.Constant(0), inv_std=init.Constant(1), **kwargs):
        super(BatchNormLayer, self).__init__(incoming, **kwargs)
        if axes == "auto":
            axes = (0,) + tuple(range(2, len(self.input_shape)))
        elif isinstance(axes, int_types):
            axes = (axes,)
        self.axes = axes
        self.epsilon = epsilon
        self.alpha = alpha
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        if any(size is None for size in shape):
            raise ValueError("BatchNormLayer needs specified input sizes for all axes not normalized over.")
        if beta is None:
            self.beta = None
        else:
            self.beta = self.add_param(beta, shape, "beta", trainable=True, regularizable=False)
        if gamma is None:
            self.gamma = None
        else:
            self.gamma = self.add_param(gamma, shape, "gamma", trainable=True, regularizable=True)
        self.mean = self.add_param(mean, shape, "mean", trainable=False, regularizable=False, batch_norm_stat=True)
        self.inv_std = self.add_param(inv_std, shape, "inv_std", trainable=False, regularizable=False,
                                      batch_norm_stat=True)

    @symbolic
    def get_output_for(self, input, deterministic=False, batch_norm_use_averages=None,
                       batch_norm_update_averages=None, **kwargs):
        """Lasagne 0.2's formula ``(input - mean) * (gamma * inv_std) + beta``: the stored averages when
        deterministic, the batch's statistics otherwise (the running-average updates are not built)."""
        if batch_norm_use_averages is None:
            batch_norm_use_averages = deterministic
        if batch_norm_use_averages:
            mean, inv_std = self.mean, self.inv_std
        else:
            mean = input.mean(self.axes)
            inv_std = E.inv(E.sqrt(E.add(input.var(self.axes), self.epsilon)))
        param_axes = iter(range(input.ndim - len(self.axes)))
        pattern = ["x" if input_axis in self.axes else next(param_axes) for input_axis in range(input.ndim)]
        beta = 0 if self.beta is None else self.beta.dimshuffle(pattern)
        gamma = 1 if self.gamma is None else self.gamma.dimshuffle(pattern)
        mean = mean.dimshuffle(pattern)
        inv_std = inv_std.dimshuffle(pattern)
        return E.add(E.mul(E.sub(input, mean), E.mul(gamma, inv_std)), beta)


def _strip_nonlinearity_and_bias(layer):
    """What batch_norm & co. do to the wrapped layer: take its nonlinearity out (returned) and
    remove its bias parameter."""
    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    if hasattr(layer, "b") and layer.b is not None:
        del layer.params[layer.b]
        layer.b = None
    return nonlinearity


def batch_norm(layer, **kwargs):
    """Insert a BatchNormLayer after ``layer`` (dropping its bias) and move its nonlinearity into a
    NonlinearityLayer after the normalization.  Names: '<name>_bn', '<name>_bn_nonlin'."""
    nonlinearity = _strip_nonlinearity_and_bias(layer)
    bn_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_bn")
    layer = BatchNormLayer(layer, name=bn_name, **kwargs)
    if nonlinearity is not None:
        from .special import NonlinearityLayer
        nonlin_name = bn_name and bn_name + "_nonlin"
        layer = NonlinearityLayer(layer, nonlinearity, name=nonlin_name)
    return layer


class StandardizationLayer(Layer):
    """Subtract the mean and divide by the standard deviation over ``axes`` (no parameters)."""

    def __init__(self, incoming, axes="auto", epsilon=1e-4, **kwargs):
        super(StandardizationLayer, self).__init__(incoming, **kwargs)
        if axes == "auto":
            axes = (1,) if len(self.input_shape) == 2 else tuple(range(2, len(self.input_shape)))
        elif axes == "spatial":
            axes = tuple(range(2, len(self.input_shape)))
        elif axes == "features":
            axes = tuple(range(1, len(self.input_shape)))
        elif isinstance(axes, int):
            axes = (axes,)
        self.axes = axes
        self.epsilon = epsilon

    @symbolic
    def get_output_for(self, input, **kwargs):
        mean = input.mean(self.axes, keepdims=True)
        std = E.sqrt(E.add(input.var(self.axes, keepdims=True), self.epsilon))
        return E.true_div(E.sub(input, mean), std)


def instance_norm(layer, learn_scale=True, learn_bias=True, **kwargs):
    """Standardize over the spatial axes, then optional ScaleLayer / BiasLayer and the moved nonlinearity."""
    from .special import BiasLayer, NonlinearityLayer, ScaleLayer

    nonlinearity = _strip_nonlinearity_and_bias(layer)
    in_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_in")
    layer = StandardizationLayer(layer, axes="spatial", name=in_name, **kwargs)
    if learn_scale:
        layer = ScaleLayer(layer, shared_axes="auto", name=in_name and in_name + "_scale")
    if learn_bias:
        layer = BiasLayer(layer, shared_axes="auto", name=in_name and in_name + "_bias")
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=in_name and in_name + "_nonlin")
    return layer


def layer_norm(layer, **kwargs):
    """Standardize over all but the batch axis, then ScaleLayer, BiasLayer and the moved nonlinearity."""
    from .special import BiasLayer, NonlinearityLayer, ScaleLayer

    nonlinearity = getattr(layer, "nonlinearity", None)
    if nonlinearity is not None:
        layer.nonlinearity = nonlinearities.identity
    ln_name = kwargs.pop("name", None) or (getattr(layer, "name", None) and layer.name + "_ln")
    if hasattr(layer, "b") and layer.b is not None:
        del layer.params[layer.b]
        layer.b = None
    layer = StandardizationLayer(layer, axes="features", name=ln_name, **kwargs)
    layer = ScaleLayer(layer, shared_axes="auto", name=ln_name and ln_name + "_scale")
    layer = BiasLayer(layer, shared_axes="auto", name=ln_name and ln_name + "_bias")
    if nonlinearity is not None:
        layer = NonlinearityLayer(layer, nonlinearity, name=ln_name and ln_name + "_nonlin")
    return layer
