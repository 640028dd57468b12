"""One small network per layer type and option (the issue's list of core layers)."""
from . import case


def _name(*parts):
    return "_".join(str(p).replace("(", "").replace(")", "").replace(", ", "x").replace("-", "m") for p in parts)


def _input(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


# -- convolutions ----------------------------------------------------------------------------------------
for _pad in ("valid", "full", "same", 1, (2, 0)):
    for _stride in (1, 2):
        for _flip in (True, False):
            def _conv2d(pad=_pad, stride=_stride, flip=_flip):
                from lasagne.layers import Conv2DLayer

                return Conv2DLayer(_input((2, 3, 9, 8)), 4, (3, 2) if pad != "same" else 3, stride=stride,
                                   pad=pad, flip_filters=flip, name="conv")

            case({"input": (2, 3, 9, 8)}, needs_02=not _flip, name=_name("conv2d", _pad, "s", _stride, "flip", _flip))(_conv2d)


@case({"input": (2, 3, 8, 8)}, tags=("lasagne-0.1-only",))  # Lasagne 0.2 refuses 'same' with even filters
def conv2d_same_even_filter():
    from lasagne.layers import Conv2DLayer

    return Conv2DLayer(_input((2, 3, 8, 8)), 2, 4, pad="same", nonlinearity=None)


@case({"input": (2, 3, 7, 7)})
def conv2d_untied_bias_tanh():
    import lasagne
    from lasagne.layers import Conv2DLayer

    return Conv2DLayer(_input((2, 3, 7, 7)), 5, 3, untie_biases=True, nonlinearity=lasagne.nonlinearities.tanh)


@case({"input": (2, 3, 7, 7)})
def conv2d_no_bias():
    from lasagne.layers import Conv2DLayer

    return Conv2DLayer(_input((2, 3, 7, 7)), 5, 3, b=None, pad=1)


@case({"input": (2, 3, 10, 10)}, needs_02=True)
def conv2d_dnn_and_mm():
    from lasagne.layers import corrmm, dnn

    l = dnn.Conv2DDNNLayer(_input((2, 3, 10, 10)), 4, 3, pad=1, name="dnn")
    l = corrmm.Conv2DMMLayer(l, 4, 3, stride=2, name="mm")
    return dnn.Conv2DDNNLayer(l, 3, 3, flip_filters=True, name="dnn_flipped")


for _pad in ("valid", "full", "same", 2):
    for _stride in (1, 3):
        def _conv1d(pad=_pad, stride=_stride):
            from lasagne.layers import Conv1DLayer

            return Conv1DLayer(_input((2, 3, 17)), 4, 3, stride=stride, pad=pad, name="conv1d")

        case({"input": (2, 3, 17)}, name=_name("conv1d", _pad, "s", _stride))(_conv1d)


@case({"input": (2, 3, 17)}, needs_02=True)
def conv1d_cross_correlation_untied():
    from lasagne.layers import Conv1DLayer

    l = Conv1DLayer(_input((2, 3, 17)), 4, 4, stride=2, pad="full", flip_filters=False, name="xcorr")
    return Conv1DLayer(l, 2, 3, untie_biases=True, b=None, name="no_bias")


@case({"input": (2, 3, 5, 5)})
def nin_layer():
    from lasagne.layers import NINLayer

    l = NINLayer(_input((2, 3, 5, 5)), 6, name="nin")
    return NINLayer(l, 2, untie_biases=True, name="nin_untied")


# -- dense -------------------------------------------------------------------------------------------------
@case({"input": (3, 4, 5, 2)})
def dense_flattens_trailing_axes():
    import lasagne
    from lasagne.layers import DenseLayer

    l = DenseLayer(_input((3, 4, 5, 2)), 7, name="fc1")
    l = DenseLayer(l, 5, b=None, nonlinearity=lasagne.nonlinearities.sigmoid, name="fc2")
    return DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="prob")


@case({"input": (2, 3, 4, 5)}, needs_02=True)
def dense_num_leading_axes():
    from lasagne.layers import DenseLayer

    l = DenseLayer(_input((2, 3, 4, 5)), 6, num_leading_axes=2, name="per_position")
    return DenseLayer(l, 4, num_leading_axes=-1, nonlinearity=None, name="last_axis")


# -- nonlinearities --------------------------------------------------------------------------------------------
_NONLIN = {
    "rectify": "nonlinearities.rectify", "leaky_rectify": "nonlinearities.leaky_rectify",
    "very_leaky_rectify": "nonlinearities.very_leaky_rectify", "leaky_0_2": "nonlinearities.LeakyRectify(0.2)",
    "sigmoid": "nonlinearities.sigmoid", "tanh": "nonlinearities.tanh", "linear": "nonlinearities.linear",
    "identity": "nonlinearities.identity", "softmax": "nonlinearities.softmax",
}
_NONLIN_02 = {
    "elu": "nonlinearities.elu", "selu": "nonlinearities.selu", "softplus": "nonlinearities.softplus",
    "scaled_tanh": "nonlinearities.ScaledTanH(scale_in=0.5, scale_out=2.4)",
    "selu_custom": "nonlinearities.SELU(scale=2.0, scale_neg=0.5)",
}
for _key, _expr in list(_NONLIN.items()) + list(_NONLIN_02.items()):
    def _nonlin(expr=_expr):
        import lasagne  # noqa: F401  (used by eval)
        from lasagne import nonlinearities  # noqa: F401
        from lasagne.layers import DenseLayer, NonlinearityLayer

        l = DenseLayer(_input((4, 6)), 5, nonlinearity=None, name="fc")
        return NonlinearityLayer(l, eval(expr), name="act")

    case({"input": (4, 6)}, needs_02=_key in _NONLIN_02, name=_name("nonlinearity", _key))(_nonlin)


# -- batch normalisation ----------------------------------------------------------------------------------------
@case({"input": (4, 3, 5, 5)}, needs_02=True)
def batchnorm_conv():
    from lasagne.layers import BatchNormLayer, Conv2DLayer

    l = Conv2DLayer(_input((4, 3, 5, 5)), 6, 3, pad=1, nonlinearity=None, name="conv")
    return BatchNormLayer(l, name="bn")


@case({"input": (4, 7)}, needs_02=True)
def batchnorm_dense_custom_eps():
    from lasagne.layers import BatchNormLayer, DenseLayer

    l = DenseLayer(_input((4, 7)), 5, nonlinearity=None, name="fc")
    return BatchNormLayer(l, epsilon=1e-3, alpha=0.3, name="bn")


@case({"input": (4, 3, 5, 6)}, needs_02=True)
def batchnorm_other_axes():
    from lasagne.layers import BatchNormLayer

    return BatchNormLayer(_input((4, 3, 5, 6)), axes=(0, 1), name="bn_per_position")


@case({"input": (4, 3, 6, 6)}, needs_02=True)
def batch_norm_helper_stack():
    from lasagne.layers import Conv2DLayer, DenseLayer, batch_norm

    l = batch_norm(Conv2DLayer(_input((4, 3, 6, 6)), 4, 3, name="conv"))
    return batch_norm(DenseLayer(l, 5, name="fc"))


@case({"input": (4, 3, 5, 5)})
def batchnorm_community_std_form():
    from lasagne.layers import Conv2DLayer

    from tests.cases._community_bn import BatchNormLayer

    l = Conv2DLayer(_input((4, 3, 5, 5)), 4, 3, nonlinearity=None, name="conv")
    return BatchNormLayer(l, name="bn_std")


# -- pooling -------------------------------------------------------------------------------------------------------
for _mode in ("max", "average_inc_pad", "average_exc_pad"):
    for _size, _stride, _pad, _ib in ((2, None, 0, True), (3, 2, 1, True), (3, 2, 0, False), (2, 3, 0, False),
                                      (3, 1, 0, False), (2, None, 0, False)):
        def _pool2d(mode=_mode, size=_size, stride=_stride, pad=_pad, ib=_ib):
            from lasagne.layers import Pool2DLayer

            return Pool2DLayer(_input((2, 3, 9, 8)), size, stride=stride, pad=pad, ignore_border=ib, mode=mode, name="pool")

        case({"input": (2, 3, 9, 8)}, name=_name("pool2d", _mode, "k", _size, "s", _stride, "p", _pad, "ib", _ib))(_pool2d)


@case({"input": (2, 3, 11, 11)})
def maxpool2d_layer():
    from lasagne.layers import MaxPool2DLayer

    l = MaxPool2DLayer(_input((2, 3, 11, 11)), 3, stride=2, ignore_border=False, name="pool1")
    return MaxPool2DLayer(l, 2, name="pool2")


@case({"input": (2, 3, 10, 10)}, needs_02=True)
def pool2d_dnn():
    from lasagne.layers import dnn

    l = dnn.MaxPool2DDNNLayer(_input((2, 3, 10, 10)), 3, stride=2, pad=1, name="pool_dnn")
    return dnn.Pool2DDNNLayer(l, 2, mode="average_exc_pad", name="avg_dnn")


@case({"input": (2, 3, 13)})
def maxpool1d_layer():
    from lasagne.layers import MaxPool1DLayer

    l = MaxPool1DLayer(_input((2, 3, 13)), 3, ignore_border=False, name="pool1")
    return MaxPool1DLayer(l, 2, stride=1, pad=1, name="pool2")


for _mode in ("max", "average_inc_pad", "average_exc_pad"):
    def _pool1d(mode=_mode):
        from lasagne.layers import Pool1DLayer

        l = Pool1DLayer(_input((2, 3, 14)), 3, stride=2, pad=1, mode=mode, name="pool_a")
        return Pool1DLayer(l, 2, ignore_border=False, mode=mode, name="pool_b")

    case({"input": (2, 3, 14)}, needs_02=True, name=_name("pool1d", _mode))(_pool1d)


@case({"input": (2, 4, 5, 6)})
def global_pool_mean_max():
    import theano.tensor as T
    from lasagne.layers import ConcatLayer, GlobalPoolLayer

    x = _input((2, 4, 5, 6))
    return ConcatLayer([GlobalPoolLayer(x, name="gap"), GlobalPoolLayer(x, T.max, name="gmp"),
                        GlobalPoolLayer(x, T.sum, name="gsp")], name="cat")


@case({"input": (2, 4, 9)})
def global_pool_1d():
    from lasagne.layers import GlobalPoolLayer

    return GlobalPoolLayer(_input((2, 4, 9)), name="gap")


# -- noise -------------------------------------------------------------------------------------------------------------
@case({"input": (3, 6)})
def dropout_and_noise_are_identities():
    from lasagne.layers import DenseLayer, DropoutLayer, GaussianNoiseLayer

    l = DropoutLayer(_input((3, 6)), p=0.3, name="drop_in")
    l = DenseLayer(l, 5, name="fc")
    l = GaussianNoiseLayer(l, sigma=0.5, name="noise")
    return DropoutLayer(l, p=0.5, name="drop_out")


# -- shape ------------------------------------------------------------------------------------------------------------------
@case({"input": (2, 3, 4, 5)})
def flatten_outdims():
    from lasagne.layers import FlattenLayer

    l = FlattenLayer(_input((2, 3, 4, 5)), outdim=3, name="flat3")
    return FlattenLayer(l, name="flat2")


@case({"input": (2, 3, 4, 5)})
def reshape_with_references():
    from lasagne.layers import ReshapeLayer

    l = ReshapeLayer(_input((2, 3, 4, 5)), ([0], [3], -1), name="r1")  # (N, 5, 12)
    l = ReshapeLayer(l, ([0], 3, [1], 4), name="r2")  # (N, 3, 5, 4)
    return ReshapeLayer(l, (-1, [2]), name="r3")  # (N*12, 5)


@case({"input": (2, 3, 1, 5)})
def dimshuffle_patterns():
    from lasagne.layers import DimshuffleLayer

    l = DimshuffleLayer(_input((2, 3, 1, 5)), (0, 3, 1), name="drop_axis2")  # (N, 5, 3)
    l = DimshuffleLayer(l, (0, "x", 2, 1), name="insert")  # (N, 1, 3, 5)
    return DimshuffleLayer(l, (1, 0, 3, 2), name="permute")


# -- merge ------------------------------------------------------------------------------------------------------------------
@case({"a": (2, 3, 4, 4), "b": (2, 5, 4, 4)})
def concat_two_inputs():
    from lasagne.layers import ConcatLayer, InputLayer

    a = InputLayer((None, 3, 4, 4), name="a")
    b = InputLayer((None, 5, 4, 4), name="b")
    return ConcatLayer([a, b], name="cat")


@case({"input": (2, 6)})
def concat_axis_last():
    from lasagne.layers import ConcatLayer, DenseLayer

    x = _input((2, 6))
    return ConcatLayer([DenseLayer(x, 3, name="d1"), DenseLayer(x, 4, name="d2")], axis=-1, name="cat")


@case({"input": (2, 3, 5, 5)})
def elemwise_sum_coeffs():
    from lasagne.layers import Conv2DLayer, ElemwiseSumLayer

    x = _input((2, 3, 5, 5))
    c1 = Conv2DLayer(x, 3, 3, pad=1, name="c1")
    c2 = Conv2DLayer(x, 3, 1, name="c2")
    s = ElemwiseSumLayer([c1, c2, x], name="sum")
    return ElemwiseSumLayer([s, c1], coeffs=[0.5, -2.0], name="weighted")


@case({"input": (2, 4)})
def elemwise_merge_functions():
    import theano.tensor as T
    from lasagne.layers import DenseLayer, ElemwiseMergeLayer

    x = _input((2, 4))
    a, b = DenseLayer(x, 3, name="a"), DenseLayer(x, 3, name="b")
    m = ElemwiseMergeLayer([a, b], T.mul, name="prod")
    return ElemwiseMergeLayer([m, a], T.maximum, name="max")


@case({"input": (2, 4, 3, 3)}, needs_02=True)
def bias_and_scale():
    from lasagne.layers import BiasLayer, ScaleLayer

    l = ScaleLayer(_input((2, 4, 3, 3)), name="scale")
    l = BiasLayer(l, name="bias")
    l = BiasLayer(l, shared_axes=(0, 1), name="bias_spatial")
    return ScaleLayer(l, shared_axes=(0, 2, 3), name="scale_channels")


@case({"input": (2, 5)}, needs_02=True)
def bias_layer_2d():
    from lasagne.layers import BiasLayer

    return BiasLayer(_input((2, 5)), name="bias")


# -- errors ------------------------------------------------------------------------------------------------------------------
@case({"input": (2, 6)}, expect_error="unsupported layer 'bogus' (class BogusLayer, position 1")
def unsupported_layer_is_named():
    from lasagne.layers import Layer

    class BogusLayer(Layer):
        pass

    return BogusLayer(_input((2, 6)), name="bogus")


# -- what capture must refuse or read correctly, lest it compute something else silently --------------------------
@case({"input": (2, 3, 9, 8)}, tags=("lasagne-0.1-only",))  # 0.2's flip_filters overrides the partial's filter_flip
def conv2d_lasagne01_cross_correlation_partial():
    """Lasagne 0.1 had no flip_filters: a cross-correlation was a partial of Theano's conv2d."""
    import functools

    import theano.tensor as T
    from lasagne.layers import conv

    return conv.Conv2DLayer(_input((2, 3, 9, 8)), 4, (3, 2), pad=1, name="xcorr",
                            convolution=functools.partial(T.nnet.conv2d, filter_flip=False))


@case({"input": (2, 3, 7, 7)})
def conv2d_untied_bias_stride2_same():
    from lasagne.layers import Conv2DLayer

    return Conv2DLayer(_input((2, 3, 7, 7)), 4, 3, stride=2, pad="same", untie_biases=True, name="conv")


@case({"input": (2, 3, 17)}, needs_02=True)
def conv1d_untied_bias_both_flips():
    from lasagne.layers import Conv1DLayer

    l = Conv1DLayer(_input((2, 3, 17)), 4, 3, stride=2, pad="same", untie_biases=True, name="conv")
    return Conv1DLayer(l, 2, 2, untie_biases=True, flip_filters=False, name="xcorr")


@case({"input": (2, 3, 8, 8)}, tags=("traced",))  # was refused: now traced (issue 10)
def conv2d_custom_convolution_is_traced():
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer

    def my_conv(input, filters, *args, **kwargs):  # computes something else than Lasagne's convolution
        return T.nnet.conv2d(input, filters[:, :, ::-1], *args, **kwargs)

    return Conv2DLayer(_input((2, 3, 8, 8)), 4, 3, convolution=my_conv, name="conv")


@case({"input": (2, 6)}, tags=("traced",))  # was refused: now traced, not trusted by name (issue 10)
def same_name_subclass_is_traced():
    import lasagne

    class DenseLayer(lasagne.layers.DenseLayer):  # keeps the name, doubles the output
        def get_output_for(self, input, **kwargs):
            return 2 * super(DenseLayer, self).get_output_for(input, **kwargs)

    return DenseLayer(_input((2, 6)), 3, name="fc")


@case({"input": (2, 6)}, tags=("traced",))  # was refused: the nonlinearity is now traced (issue 10)
def lookalike_nonlinearity_is_traced():
    import theano.tensor as T
    from lasagne.layers import DenseLayer

    def tanh(x):  # named like Theano's tanh, computes 3 * tanh
        return 3 * T.tanh(x)

    return DenseLayer(_input((2, 6)), 3, nonlinearity=tanh, name="fc")


@case({"input": (2, 3, 4, 4)}, tags=("traced",))  # was refused: now traced (issue 10)
def lookalike_pool_function_is_traced():
    import theano.tensor as T
    from lasagne.layers import GlobalPoolLayer

    def mean(x, axis=None):  # named like T.mean, computes a sum
        return T.sum(x, axis=axis)

    return GlobalPoolLayer(_input((2, 3, 4, 4)), pool_function=mean, name="gap")


@case({"input": (4, 3, 6, 6)}, needs_02=True)
def batch_norm_dnn_stack():
    from lasagne.layers import dnn

    l = dnn.batch_norm_dnn(dnn.Conv2DDNNLayer(_input((4, 3, 6, 6)), 4, 3, name="conv"))
    return dnn.BatchNormDNNLayer(l, axes=(0,), name="bn_per_activation")
