"""Users' own Theano ops, written the way BinaryNet / XNOR-net / QNN code writes them: a scalar op
(``theano.scalar.UnaryScalarOp`` with ``impl`` and a one-call ``c_code``) wrapped in
``theano.tensor.Elemwise``, applied to weights (binarised in a layer subclass) and to activations
(``binary_tanh_unit``); a ``theano.Op`` with ``make_node`` + ``perform`` applied to weights; a
``theano.scalar.BinaryScalarOp``.  Real Theano runs them (its C code where the op has one, else the
Python code); the Theano-free tracer traces the same Python code (tests/test_compat_matches_real.py).
"""
from . import case

TRACED = ("traced",)


def _input(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


@case({"input": (3, 10)}, tags=TRACED)
def binarynet_dense():
    """BinaryNet's DenseLayer: W binarised by round3(hard_sigmoid(W / H)) in get_output_for, and
    binary_tanh_unit (2 * round3(hard_sigmoid(x)) - 1) as the nonlinearity."""
    import numpy as np
    import theano.tensor as T
    from lasagne.layers import DenseLayer, ExpressionLayer

    from ._user_ops import round3

    def hard_sigmoid(x):
        return T.clip((x + 1.) / 2., 0, 1)

    def binary_tanh_unit(x):
        return 2. * round3(hard_sigmoid(x)) - 1.

    class BinaryDenseLayer(DenseLayer):
        def __init__(self, incoming, num_units, H=1., **kwargs):
            self.H = H
            super(BinaryDenseLayer, self).__init__(incoming, num_units, **kwargs)

        def get_output_for(self, input, **kwargs):
            Wb = T.switch(round3(hard_sigmoid(self.W / self.H)), self.H, -self.H).astype("float32")
            Wr = self.W
            self.W = Wb
            out = super(BinaryDenseLayer, self).get_output_for(input, **kwargs)
            self.W = Wr
            return out

    l = BinaryDenseLayer(_input((3, 10)), 8, H=0.5, nonlinearity=binary_tanh_unit, name="bin1")
    l = BinaryDenseLayer(l, 6, nonlinearity=None, name="bin2")
    # halves (k / 2): compiled Theano runs round3's C code, round() -- halves away from zero, not numpy's
    l = ExpressionLayer(l, lambda x: round3(T.floor(x * 2.) / 2.), name="ties")

    def near_ties(x):  # where x + 0.5 rounds in float32: C's round gives 0, -3 and 2**23 + 1 exactly
        def at(v):
            return round3(T.switch(T.gt(x, -1e30), np.float32(v), x))

        return at(0.49999997) + at(-2.5) + (at(8388609.0) - np.float32(8388609.0))

    return ExpressionLayer(l, near_ties, name="near_ties")


@case({"input": (2, 3, 6, 6)}, tags=TRACED)
def xnor_conv_perform_op():
    """XNOR-net style: a theano.Op whose perform binarises (numpy.where) applied to the filters,
    scaled by their mean absolute value; a BinaryScalarOp (impl) in an ExpressionLayer."""
    import numpy as np
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, ExpressionLayer

    from ._user_ops import SignBinarize, shifted_clip

    binarize = SignBinarize()

    class XnorConv2DLayer(Conv2DLayer):
        def get_output_for(self, input, **kwargs):
            alpha = T.mean(abs(self.W), axis=(1, 2, 3)).dimshuffle(0, "x", "x", "x")
            Wr = self.W
            self.W = binarize(self.W) * alpha
            out = super(XnorConv2DLayer, self).get_output_for(input, **kwargs)
            self.W = Wr
            return out

    l = XnorConv2DLayer(_input((2, 3, 6, 6)), 4, 3, pad=1, name="xnor1")
    l = ExpressionLayer(l, lambda x: shifted_clip(x, 0.25), name="shifted")
    # on a literal: the op's own perform runs (here, and in Theano)
    return ExpressionLayer(l, lambda x: x * binarize(np.float32(-0.75)), name="negated")


@case({"input": (2, 4)}, expect_error="the Theano op SignIf (_user_ops.py:57) (at user_op_cases.py:98)")
def user_op_not_traceable_on_activations():
    """A scalar op whose impl branches on its value (``if x > 0``) cannot be traced: refused, naming
    the class, where it is defined and the line applying it."""
    from lasagne.layers import DenseLayer, ExpressionLayer

    from ._user_ops import sign_if

    l = DenseLayer(_input((2, 4)), 3, name="dense")
    return ExpressionLayer(l, lambda x: sign_if(x) * 2., name="sign")
