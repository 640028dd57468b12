"""SpatialPyramidPoolingLayer ('fast' and 'kaiming', every mode, known and unknown input sizes) and
SpatialPyramidPoolingDNNLayer; a size where Lasagne's 'fast' windows do not give its declared bins is
refused."""
from . import case


def _inp(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer(shape, name=name)


@case({"input": (2, 3, 9, 12)}, needs_02=True)
def spp_fast_known_sizes():
    from lasagne.layers import Conv2DLayer, SpatialPyramidPoolingLayer

    l = Conv2DLayer(_inp((None, 3, 9, 12)), 2, 1, name="conv")
    return [SpatialPyramidPoolingLayer(l, name="max421"),
            SpatialPyramidPoolingLayer(l, [2, 1], mode="average_inc_pad", name="avg_inc"),
            SpatialPyramidPoolingLayer(l, [4], mode="average_exc_pad", name="avg_exc")]


@case({"input": (2, 3, 9, 5)}, needs_02=True)
def spp_kaiming_known_sizes():
    """Height 9 in thirds: Theano's float32 1/3 makes the first bin end at row 4 (ceil(3.0000001))."""
    from lasagne.layers import SpatialPyramidPoolingLayer

    l = _inp((None, 3, 9, 5))
    return [SpatialPyramidPoolingLayer(l, [3, 2, 1], implementation="kaiming", name="max"),
            SpatialPyramidPoolingLayer(l, [6, 4], mode="average_exc_pad", implementation="kaiming", name="avg")]


@case({"input": (2, 2, 9, 12)}, needs_02=True)
def spp_unknown_sizes_then_dense():
    """The point of SPP: any image size gives a fixed number of features for the dense layers."""
    from lasagne.layers import ConcatLayer, DenseLayer, SpatialPyramidPoolingLayer

    l = _inp((None, 2, None, None))
    fast = SpatialPyramidPoolingLayer(l, [4, 2, 1], name="fast")
    kaiming = SpatialPyramidPoolingLayer(l, [3, 1], mode="average_inc_pad", implementation="kaiming", name="kaiming")
    return DenseLayer(ConcatLayer([fast, kaiming], axis=2, name="features"), 5, name="fc")


@case({"input": (2, 3, 8, 8), "free_height": (2, 3, 5, 8)}, needs_02=True)
def spp_dnn():
    from lasagne.layers import InputLayer
    from lasagne.layers.dnn import SpatialPyramidPoolingDNNLayer

    known = SpatialPyramidPoolingDNNLayer(_inp((None, 3, 8, 8)), name="known")
    unknown = SpatialPyramidPoolingDNNLayer(InputLayer((None, 3, None, 8), name="free_height"), [2, 1],
                                            mode="average_exc_pad", name="unknown")
    return [known, unknown]


@case({"input": (2, 3, 7, 8)}, needs_02=True, expect_error="does not give 4 bins")
def spp_fast_wrong_bins_refused():
    from lasagne.layers import SpatialPyramidPoolingLayer

    return SpatialPyramidPoolingLayer(_inp((None, 3, 7, 8)), [4, 2, 1], name="spp")
