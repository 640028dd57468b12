"""The older community BatchNormLayer (before Lasagne 0.2 had one), as people copied it into their
projects: parameters mean, std, beta, gamma; at inference ``(x - mean) * gamma / (std + epsilon) + beta``
(epsilon added to the std, not the variance), defaults epsilon=0.01, alpha=0.5.

Not a case module itself: cases import it.  Works on the real Lasagne and the Theano-free API
(``get_output_for`` imports Theano only when it runs).
"""
from lasagne import init, nonlinearities
from lasagne.layers import Layer


class BatchNormLayer(Layer):
    def __init__(self, incoming, axes=None, epsilon=0.01, alpha=0.5, nonlinearity=None, **kwargs):
        super(BatchNormLayer, self).__init__(incoming, **kwargs)
        if axes is None:
            axes = (0,) + tuple(range(2, len(self.input_shape)))
        self.axes = axes
        self.epsilon, self.alpha = epsilon, alpha
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        shape = [size for axis, size in enumerate(self.input_shape) if axis not in self.axes]
        self.mean = self.add_param(init.Constant(0), shape, "mean", trainable=False, regularizable=False)
        self.std = self.add_param(init.Constant(1), shape, "std", trainable=False, regularizable=False)
        self.beta = self.add_param(init.Constant(0), shape, "beta", trainable=True, regularizable=True)
        self.gamma = self.add_param(init.Constant(1), shape, "gamma", trainable=True, regularizable=False)

    def get_output_for(self, input, deterministic=False, **kwargs):
        assert deterministic
        it = iter(range(input.ndim - len(self.axes)))
        pattern = tuple("x" if ax in self.axes else next(it) for ax in range(input.ndim))
        mean, std = self.mean.dimshuffle(pattern), self.std.dimshuffle(pattern) + self.epsilon
        normalized = (input - mean) * (self.gamma.dimshuffle(pattern) / std) + self.beta.dimshuffle(pattern)
        return self.nonlinearity(normalized)
