"""LocallyConnected2DLayer: full and channelwise, flipped or not, tied / untied / no bias, square and
1-d filters (Lasagne's 'same' padding takes odd sizes only)."""
from . import case


def _inp(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


@case({"input": (2, 3, 5, 6)}, needs_02=True)
def locally_connected_full():
    import lasagne
    from lasagne.layers import LocallyConnected2DLayer

    l = _inp((2, 3, 5, 6))
    a = LocallyConnected2DLayer(l, 4, 3, name="lc3")
    b = LocallyConnected2DLayer(a, 2, (1, 3), untie_biases=True, flip_filters=False,
                                nonlinearity=lasagne.nonlinearities.tanh, name="lc13_untied_xcorr")
    return LocallyConnected2DLayer(b, 3, (3, 1), b=None, nonlinearity=None, name="lc31_no_bias")


@case({"input": (2, 3, 6, 5)}, needs_02=True)
def locally_connected_channelwise():
    from lasagne.layers import LocallyConnected2DLayer

    l = _inp((2, 3, 6, 5))
    a = LocallyConnected2DLayer(l, 3, 3, channelwise=True, name="cw3")
    return LocallyConnected2DLayer(a, 3, (5, 3), channelwise=True, untie_biases=True, flip_filters=False,
                                   nonlinearity=None, name="cw53_untied")
