"""TransformerLayer and TPSTransformerLayer: every border mode (the localisation networks' random
weights move many sampling points outside the image), integer and fractional downsample factors,
precomputed and graph-built TPS grids."""
from . import case

IMAGE = (2, 3, 7, 8)


def _image(shape=IMAGE):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name="image")


def _loc(l, units, name="loc"):
    from lasagne.layers import DenseLayer

    return DenseLayer(l, units, nonlinearity=None, name=name)


@case({"image": IMAGE}, needs_02=True)
def transformer_border_modes():
    from lasagne.layers import TransformerLayer

    l = _image()
    loc = _loc(l, 6)
    return [TransformerLayer(l, loc, border_mode=m, name=m) for m in ("nearest", "mirror", "wrap")]


@case({"image": IMAGE}, needs_02=True)
def transformer_downsample_factors():
    import numpy as np
    from lasagne.init import Constant
    from lasagne.layers import DenseLayer, TransformerLayer

    l = _image()
    near_identity = DenseLayer(l, 6, W=Constant(0.0), b=np.float32([1, 0, 0, 0, 1, 0]), nonlinearity=None,
                               name="near_identity")  # the worker adds noise to b
    return [TransformerLayer(l, near_identity, downsample_factor=2, name="half"),
            TransformerLayer(l, _loc(l, 6), downsample_factor=(0.5, 1.5), border_mode="wrap", name="fractional")]


@case({"image": IMAGE}, needs_02=True)
def tps_transformer_precomputed():
    """16 control points moved by offsets of a realistic size (a trained STN moves them by a fraction of the
    image) over a smoothed image, 4 control points moved far outside the raw one.

    With 16 points Lasagne's float32 L_inv differs in its last bits between LAPACK builds (the reference
    machine's numpy 1.23 and numpy 2 disagree), and the output moves with it: 7.5e-6 (relative) on the
    raw white-noise image, 3.4e-6 once it is smoothed like a natural image."""
    from lasagne.init import Normal
    from lasagne.layers import DenseLayer, Pool2DLayer, TPSTransformerLayer

    l = _image()
    smooth = Pool2DLayer(l, 3, stride=1, pad=1, mode="average_inc_pad", name="smooth")
    small = DenseLayer(l, 32, W=Normal(0.02), nonlinearity=None, name="loc16")
    return [TPSTransformerLayer(smooth, small, control_points=16, border_mode="mirror", name="tps16"),
            TPSTransformerLayer(l, _loc(l, 8, "loc4"), control_points=4, downsample_factor=2, name="tps4")]


@case({"image": IMAGE}, needs_02=True)
def tps_transformer_graph_grid():
    """precompute_grid=False: Lasagne builds the grid in the graph (its U terms come out zero)."""
    from lasagne.init import Normal
    from lasagne.layers import DenseLayer, TPSTransformerLayer

    l = _image()
    offsets = DenseLayer(l, 18, W=Normal(0.05), nonlinearity=None, name="loc")
    return TPSTransformerLayer(l, offsets, control_points=9, precompute_grid=False, border_mode="wrap", name="tps9")


@case({"image": (2, 1, 5, 6)}, needs_02=True, expect_error="needs the input's height and width")
def transformer_unknown_size_refused():
    from lasagne.layers import DenseLayer, GlobalPoolLayer, InputLayer, TransformerLayer

    l = InputLayer((None, 1, None, None), name="image")
    return TransformerLayer(l, DenseLayer(GlobalPoolLayer(l), 6), name="st")
