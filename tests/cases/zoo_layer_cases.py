"""One small network per model-zoo layer and option: LRN, Slice, Pad (real Lasagne 0.1), and the
Lasagne 0.2 layers back-ported in tests/legacy/backport_extra.py (transposed / dilated / 3-D
convolutions, 3-D pooling, upscaling, PReLU, concatenation with cropping)."""
from . import case


def _input(shape, name="input", spatial_known=True):
    from lasagne.layers import InputLayer

    dims = tuple(shape[1:]) if spatial_known else (shape[1],) + (None,) * (len(shape) - 2)
    return InputLayer((None,) + dims, name=name)


# -- local response normalisation (Lasagne 0.1 has it) --------------------------------------------------------
_LRN = {
    "defaults": {},
    "googlenet": {"alpha": 0.00002, "k": 1},
    "caffenet": {"alpha": 0.0001 / 5.0, "k": 1, "beta": 0.75, "n": 5},
    "strong": {"alpha": 0.5, "k": 1, "beta": 0.75, "n": 3},
    "wide_window": {"alpha": 0.3, "k": 0.5, "beta": 1.5, "n": 9},  # window wider than the 6 channels
}
for _key, _kw in _LRN.items():
    def _lrn(kw=_kw):
        from lasagne.layers import Conv2DLayer, LocalResponseNormalization2DLayer

        l = Conv2DLayer(_input((2, 3, 7, 7)), 6, 3, pad=1, name="conv")  # rectified, channel-varying input
        return LocalResponseNormalization2DLayer(l, name="lrn", **kw)

    case({"input": (2, 3, 7, 7)}, name=f"lrn_{_key}")(_lrn)


@case({"input": (2, 5, 4, 6)})
def lrn_on_signed_input():
    from lasagne.layers import LocalResponseNormalization2DLayer

    return LocalResponseNormalization2DLayer(_input((2, 5, 4, 6)), alpha=0.2, k=1.5, beta=0.6, n=5, name="lrn")


# -- SliceLayer (0.1) ------------------------------------------------------------------------------------------------
_SLICES = {
    "range_axis1": ("slice(0, 2)", 1), "int_axis1": ("1", 1), "int_last_negative": ("-1", -1),
    "step2": ("slice(1, None, 2)", 2), "tail": ("slice(-3, None)", -1), "reverse": ("slice(None, None, -1)", 3),
    "reverse_step": ("slice(5, 1, -2)", 3), "negative_stop": ("slice(None, -2)", 2), "int_batch_axis": ("0", 0),
}
for _key, (_expr, _axis) in _SLICES.items():
    def _slice(expr=_expr, axis=_axis):
        from lasagne.layers import DenseLayer, FlattenLayer, SliceLayer

        l = SliceLayer(_input((3, 4, 5, 7)), eval(expr), axis=axis, name="slice")
        return DenseLayer(FlattenLayer(l, name="flat"), 3, name="fc")  # the slice feeds a real computation

    case({"input": (3, 4, 5, 7)}, name=f"slice_{_key}")(_slice)


@case({"input": (2, 6, 5, 5)})
def slice_grouped_conv_caffenet_style():
    from lasagne.layers import Conv2DLayer, SliceLayer, concat

    x = _input((2, 6, 5, 5))
    a = Conv2DLayer(SliceLayer(x, indices=slice(0, 3), axis=1, name="half1"), 4, 3, pad=1, name="conv_a")
    b = Conv2DLayer(SliceLayer(x, indices=slice(3, 6), axis=1, name="half2"), 4, 3, pad=1, name="conv_b")
    return concat((a, b), axis=1, name="cat")


# -- PadLayer (0.1) ----------------------------------------------------------------------------------------------------
_PADS = {
    "int": ({"width": 1}, (2, 3, 4, 5)),
    "per_axis": ({"width": (1, 2)}, (2, 3, 4, 5)),
    "before_after": ({"width": [(0, 1), (2, 0)]}, (2, 3, 4, 5)),
    "value": ({"width": 2, "val": 1.5}, (2, 3, 4, 5)),
    "batch_ndim1": ({"width": [(1, 0), (0, 2)], "batch_ndim": 1}, (2, 3, 4)),
    "first_axis_only": ({"width": [3]}, (2, 3, 4, 5)),
    "c3d_5d": ({"width": [(0, 1), (0, 1)], "batch_ndim": 3}, (2, 3, 2, 4, 5)),
}
for _key, (_kw, _shape) in _PADS.items():
    def _pad(kw=_kw, shape=_shape):
        from lasagne.layers import PadLayer

        return PadLayer(_input(shape), name="pad", **kw)

    case({"input": _shape}, name=f"pad_{_key}")(_pad)


@case({"input": (2, 3, 6, 6)})
def pad_then_pool():
    from lasagne.layers import MaxPool2DLayer, PadLayer

    l = PadLayer(_input((2, 3, 6, 6)), width=[(0, 1), (0, 1)], val=-3.0, name="pad")
    return MaxPool2DLayer(l, 2, name="pool")


# -- transposed convolution (0.2, back-ported) ------------------------------------------------------------------------------
_TCONV = {
    "default": dict(num_filters=4, filter_size=3),
    "stride2": dict(num_filters=4, filter_size=3, stride=2),
    "flip_true": dict(num_filters=4, filter_size=3, stride=2, flip_filters=True),
    "crop1_stride2": dict(num_filters=3, filter_size=4, stride=2, crop=1),
    "crop_full": dict(num_filters=3, filter_size=3, crop="full"),
    "crop_same": dict(num_filters=3, filter_size=(3, 5), crop="same"),
    "crop_valid_unet": dict(num_filters=5, filter_size=2, stride=2, crop="valid"),
    "asym": dict(num_filters=3, filter_size=(3, 2), stride=(2, 1), crop=(1, 0)),
    "output_size": dict(num_filters=3, filter_size=3, stride=3, output_size=(17, 19)),
    "untied_no_nonlin": dict(num_filters=2, filter_size=3, stride=2, untie_biases=True, nonlinearity=None),
    "no_bias": dict(num_filters=2, filter_size=3, stride=2, b=None),
}
for _key, _kw in _TCONV.items():
    def _tconv(kw=_kw):
        from lasagne.layers import TransposedConv2DLayer

        return TransposedConv2DLayer(_input((2, 3, 5, 6)), name="tconv", **kw)

    case({"input": (2, 3, 5, 6)}, needs_02=True, name=f"transposed_conv2d_{_key}")(_tconv)


@case({"input": (2, 3, 4, 4)}, needs_02=True)
def deconv2d_alias_inverts_conv():
    from lasagne.layers import Conv2DLayer, Deconv2DLayer

    conv = Conv2DLayer(_input((2, 3, 4, 4)), 5, 3, stride=2, pad=1, name="conv")
    return Deconv2DLayer(conv, 3, 3, stride=2, crop=1, output_size=(4, 4), name="deconv")


@case({"input": (2, 2, 3, 4, 3)}, needs_02=True)
def transposed_conv3d():
    from lasagne.layers import TransposedConv3DLayer

    l = TransposedConv3DLayer(_input((2, 2, 3, 4, 3)), 3, (2, 3, 2), stride=(2, 1, 2), crop=(0, 1, 0), name="t3d")
    return TransposedConv3DLayer(l, 2, 3, flip_filters=True, name="t3d_flip")


# -- dilated convolution (0.2, back-ported) ----------------------------------------------------------------------------------
for _key, _kw in {"d2": dict(dilation=2), "d1x3": dict(dilation=(1, 3), filter_size=(3, 2)),
                  "untied": dict(dilation=(2, 1), untie_biases=True, nonlinearity=None)}.items():
    def _dilated(kw=_kw):
        from lasagne.layers import DilatedConv2DLayer

        kw = dict(kw)
        fs = kw.pop("filter_size", 3)
        return DilatedConv2DLayer(_input((2, 3, 9, 10)), 4, fs, name="dilated", **kw)

    case({"input": (2, 3, 9, 10)}, needs_02=True, name=f"dilated_conv2d_{_key}")(_dilated)


# -- 3-D convolution and pooling (0.2, back-ported) ------------------------------------------------------------------------------
_CONV3D = {
    "same": dict(filter_size=3, pad="same"), "stride2_noflip": dict(filter_size=3, stride=2, pad=1, flip_filters=False),
    "full": dict(filter_size=(2, 3, 2), pad="full"), "valid_asym": dict(filter_size=(1, 3, 2), pad=(0, 1, 2)),
    "untied": dict(filter_size=2, untie_biases=True),
}
for _key, _kw in _CONV3D.items():
    def _conv3d(kw=_kw):
        from lasagne.layers import Conv3DLayer

        return Conv3DLayer(_input((2, 3, 5, 6, 4)), 4, name="conv3d", **kw)

    case({"input": (2, 3, 5, 6, 4)}, needs_02=True, name=f"conv3d_{_key}")(_conv3d)


@case({"input": (2, 3, 4, 6, 6)}, needs_02=True)
def conv3d_dnn_and_pool3d_dnn():
    from lasagne.layers import dnn

    l = dnn.Conv3DDNNLayer(_input((2, 3, 4, 6, 6)), 4, 3, pad=1, name="conv3d_dnn")
    l = dnn.MaxPool3DDNNLayer(l, (1, 2, 2), stride=(1, 2, 2), name="pool_dnn")
    l = dnn.Conv3DDNNLayer(l, 4, 3, pad=1, flip_filters=True, name="conv3d_dnn_flipped")
    return dnn.Pool3DDNNLayer(l, 2, mode="average_inc_pad", pad=1, name="avg_dnn")


_POOL3D = {
    "max": dict(pool_size=2), "max_ib_false": dict(pool_size=(2, 3, 2), ignore_border=False),
    "max_stride_pad": dict(pool_size=3, stride=2, pad=1), "avg_inc_pad": dict(pool_size=3, stride=2, pad=1, mode="average_inc_pad"),
    "avg_exc_pad": dict(pool_size=3, stride=2, pad=1, mode="average_exc_pad"),
    "avg_exc_ib_false": dict(pool_size=2, stride=(1, 2, 2), ignore_border=False, mode="average_exc_pad"),
}
for _key, _kw in _POOL3D.items():
    def _pool3d(kw=_kw):
        from lasagne.layers import Pool3DLayer

        return Pool3DLayer(_input((2, 3, 5, 7, 6)), name="pool3d", **kw)

    case({"input": (2, 3, 5, 7, 6)}, needs_02=True, name=f"pool3d_{_key}")(_pool3d)


@case({"input": (2, 3, 4, 5, 5)}, needs_02=True)
def maxpool3d_layer():
    from lasagne.layers import MaxPool3DLayer

    l = MaxPool3DLayer(_input((2, 3, 4, 5, 5)), (1, 2, 2), stride=(1, 2, 2), name="pool_a")
    return MaxPool3DLayer(l, 2, ignore_border=False, name="pool_b")


# -- upscaling (0.2, back-ported) ---------------------------------------------------------------------------------------------------
for _mode in ("repeat", "dilate"):
    for _factor in (2, (2, 3), (1, 3)):
        def _upscale2d(mode=_mode, factor=_factor):
            from lasagne.layers import Upscale2DLayer

            return Upscale2DLayer(_input((2, 3, 4, 5)), factor, mode=mode, name="up")

        _f = "x".join(str(v) for v in (_factor if isinstance(_factor, tuple) else (_factor,)))
        case({"input": (2, 3, 4, 5)}, needs_02=True, name=f"upscale2d_{_mode}_{_f}")(_upscale2d)


@case({"input": (2, 3, 4, 5)}, needs_02=True)
def upscale2d_unknown_spatial_size():
    from lasagne.layers import Conv2DLayer, Upscale2DLayer

    l = Upscale2DLayer(_input((2, 3, 4, 5), spatial_known=False), (3, 2), name="up_repeat")
    l = Conv2DLayer(l, 2, 3, pad=1, name="conv")
    return Upscale2DLayer(l, 2, mode="dilate", name="up_dilate")


@case({"input": (2, 3, 4)}, needs_02=True)
def upscale1d_and_3d():
    from lasagne.layers import DimshuffleLayer, Upscale1DLayer, Upscale3DLayer

    l = Upscale1DLayer(_input((2, 3, 4)), 3, name="up1d")  # (N, 3, 12)
    l = DimshuffleLayer(l, (0, 1, "x", 2, "x"), name="to5d")  # (N, 3, 1, 12, 1)
    l = Upscale3DLayer(l, (2, 1, 3), name="up3d_repeat")
    return Upscale3DLayer(l, (1, 2, 2), mode="dilate", name="up3d_dilate")


# -- parametric rectifier (0.2, back-ported) ------------------------------------------------------------------------------------------
for _key, _shared in {"auto": "auto", "all": "all", "per_position": (0, 1), "per_row": (0, 1, 3)}.items():
    def _prelu(shared=_shared):
        from lasagne.layers import ParametricRectifierLayer

        return ParametricRectifierLayer(_input((2, 3, 4, 5)), shared_axes=shared, name="prelu")

    case({"input": (2, 3, 4, 5)}, needs_02=True, name=f"prelu_{_key}")(_prelu)


@case({"input": (3, 6)}, needs_02=True)
def prelu_helper_on_dense():
    from lasagne.layers import DenseLayer, prelu

    return prelu(DenseLayer(_input((3, 6)), 5, name="fc"), name="prelu")


# -- concatenation with cropping (0.2, back-ported) ------------------------------------------------------------------------------------
@case({"a": (2, 3, 8, 9), "b": (2, 2, 5, 6), "c": (2, 4, 7, 4)}, needs_02=True)
def concat_cropping_modes():
    from lasagne.layers import ConcatLayer, InputLayer

    a = InputLayer((None, 3, 8, 9), name="a")
    b = InputLayer((None, 2, 5, 6), name="b")
    c = InputLayer((None, 4, 7, 4), name="c")
    lower_upper = ConcatLayer([a, b, c], cropping=(None, None, "lower", "upper"), name="cat_lower_upper")
    center = ConcatLayer([a, b, c], cropping=[None, None, "center", "center"], name="cat_center")
    return ConcatLayer([lower_upper, center], axis=1, name="cat_both")


@case({"a": (2, 3, 6, 5), "b": (2, 3, 4, 4)}, needs_02=True)
def concat_cropping_last_axis():
    from lasagne.layers import ConcatLayer, InputLayer

    a = InputLayer((None, 3, 6, 5), name="a")
    b = InputLayer((None, 3, 4, 4), name="b")
    return ConcatLayer([a, b], axis=-1, cropping=(None, None, "center", None), name="cat")


@case({"input": (2, 3, 9, 9)}, needs_02=True)
def unet_style_skip_connection():
    from lasagne.layers import ConcatLayer, Conv2DLayer, Deconv2DLayer, MaxPool2DLayer, batch_norm

    x = _input((2, 3, 9, 9))
    c1 = Conv2DLayer(x, 4, 3, name="c1")  # 7x7
    p = MaxPool2DLayer(c1, 2, name="pool")  # 3x3
    up = batch_norm(Deconv2DLayer(p, 4, 2, 2, crop="valid", name="up"))  # 6x6
    return ConcatLayer([up, c1], cropping=(None, None, "center", "center"), name="cat")


@case({"a": (2, 3, 7, 6), "b": (2, 3, 5, 8)}, needs_02=True)
def elemwise_sum_and_merge_cropping():
    import theano.tensor as T
    from lasagne.layers import ElemwiseMergeLayer, ElemwiseSumLayer, InputLayer

    a = InputLayer((None, 3, 7, 6), name="a")
    b = InputLayer((None, 3, 5, 8), name="b")
    s = ElemwiseSumLayer([a, b], coeffs=[1.0, -0.5], cropping=(None, None, "center", "upper"), name="sum")
    m = ElemwiseMergeLayer([a, b], T.maximum, cropping=(None, None, "lower", "lower"), name="max")
    return ElemwiseSumLayer([s, m], name="total")
