"""InverseLayer of dense, convolution (strided, padded, flipped or not), NIN, pooling (max with tied
maxima after a rectifier, partial windows, average) and nonlinearity layers: tied-weight decoders."""
from . import case


def _inp(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


@case({"input": (2, 4, 3, 3)}, needs_02=True)
def inverse_dense():
    import lasagne
    from lasagne.layers import DenseLayer, InverseLayer

    l = _inp((2, 4, 3, 3))
    enc = DenseLayer(l, 6, nonlinearity=lasagne.nonlinearities.tanh, name="enc")
    code = DenseLayer(enc, 3, nonlinearity=lasagne.nonlinearities.sigmoid, name="code")
    dec = InverseLayer(code, code, name="dec_code")
    return InverseLayer(dec, enc, name="dec_enc")


@case({"input": (2, 2, 9, 8)}, needs_02=True)
def inverse_conv_maxpool():
    from lasagne.layers import Conv2DLayer, InverseLayer, MaxPool2DLayer, NINLayer

    l = _inp((2, 2, 9, 8))
    conv = Conv2DLayer(l, 3, 3, stride=2, pad=1, name="conv")  # rectify: zeros tie for each window's maximum
    pool = MaxPool2DLayer(conv, 2, name="pool")  # 5x4 -> 2x2: the last row is in no window
    partial = MaxPool2DLayer(conv, 2, ignore_border=False, name="pool_partial")  # 5x4 -> 3x2
    # unpool values that are not the maxima themselves, so tied zero maxima get non-zero values
    unpool = InverseLayer(NINLayer(pool, 3, nonlinearity=None, name="mix"), pool, name="unpool")
    unpool_partial = InverseLayer(NINLayer(partial, 3, nonlinearity=None, name="mix_partial"), partial,
                                  name="unpool_partial")
    return [InverseLayer(unpool, conv, name="deconv"), unpool_partial]


@case({"input": (2, 3, 8, 6)}, needs_02=True)
def inverse_conv_variants():
    import lasagne
    from lasagne.layers import (Conv1DLayer, Conv2DLayer, InverseLayer, NINLayer, NonlinearityLayer, Pool2DLayer,
                                ReshapeLayer)

    l = _inp((2, 3, 8, 6))
    xcorr = Conv2DLayer(l, 4, (3, 2), pad="full", flip_filters=False, nonlinearity=None, name="xcorr")
    nin = NINLayer(xcorr, 2, nonlinearity=lasagne.nonlinearities.leaky_rectify, name="nin")
    avg = Pool2DLayer(nin, 2, mode="average_exc_pad", name="avg")
    leaky = NonlinearityLayer(avg, lasagne.nonlinearities.LeakyRectify(0.2), name="leaky")
    back = InverseLayer(InverseLayer(InverseLayer(leaky, leaky, name="inv_leaky"), avg, name="inv_avg"), nin,
                        name="inv_nin")
    seq = ReshapeLayer(l, ([0], 3, 48), name="seq")
    conv1d = Conv1DLayer(seq, 2, 5, stride=3, pad=2, name="conv1d")
    return [InverseLayer(back, xcorr, name="inv_xcorr"), InverseLayer(conv1d, conv1d, name="inv_conv1d")]
