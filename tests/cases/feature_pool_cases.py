"""FeaturePoolLayer (maxout and the other theano.tensor reductions, any axis) and FeatureWTALayer."""
from . import case


def _inp(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer(shape, name=name)


@case({"input": (3, 12)})
def feature_pool_maxout_dense():
    from lasagne.layers import DenseLayer, FeaturePoolLayer

    l = DenseLayer(_inp((None, 12)), 12, nonlinearity=None, name="fc")
    return FeaturePoolLayer(l, 3, name="maxout")


@case({"input": (2, 6, 5, 4)})
def feature_pool_functions_conv():
    """Every reduction of theano.tensor, over channels and over a spatial axis of unknown size."""
    import theano.tensor as T
    from lasagne.layers import FeaturePoolLayer

    l = _inp((None, 6, None, 4))
    outs = [FeaturePoolLayer(l, 2, pool_function=fn, name=f"pool_{name}")
            for name, fn in (("max", T.max), ("min", T.min), ("mean", T.mean), ("sum", T.sum), ("prod", T.prod))]
    return outs + [FeaturePoolLayer(l, 2, axis=3, pool_function=T.mean, name="pool_axis3")]


@case({"input": (2, 3, 5, 6)})
def feature_pool_unknown_trailing_sizes():
    import theano.tensor as T
    from lasagne.layers import FeaturePoolLayer

    return FeaturePoolLayer(_inp((None, 3, None, None)), 3, axis=1, pool_function=T.sum, name="pool")


@case({"input": (2, 8, 3, 3)})
def feature_wta_conv():
    from lasagne.layers import Conv2DLayer, FeatureWTALayer

    l = Conv2DLayer(_inp((None, 8, 3, 3)), 8, 1, name="conv")
    l = FeatureWTALayer(l, 4, name="wta")  # rectify gives ties at zero: the first maximum wins
    return FeatureWTALayer(l, 3, axis=2, name="wta_rows")


@case({"input": (2, 9)})
def feature_wta_dense_unknown_batch():
    from lasagne.layers import FeatureWTALayer

    return FeatureWTALayer(_inp((None, 9)), 3, name="wta")


@case({"input": (3, 4)})
def feature_wta_ties_first_wins():
    """Each feature twice in a row ([a0 a0 a1 a1 ...]): Theano's argmax keeps the first of tied maxima."""
    from lasagne.layers import ConcatLayer, FeatureWTALayer, ReshapeLayer

    r = ReshapeLayer(_inp((None, 4)), ([0], 4, 1), name="column")
    twice = ReshapeLayer(ConcatLayer([r, r], axis=2, name="pairs"), ([0], 8), name="twice")
    return FeatureWTALayer(twice, 2, name="wta")


@case({"input": (2, 6)}, expect_error="Lasagne's reshape for a negative")
def feature_pool_negative_axis_refused():
    from lasagne.layers import FeaturePoolLayer

    return FeaturePoolLayer(_inp((None, 6)), 2, axis=-1, name="pool")
