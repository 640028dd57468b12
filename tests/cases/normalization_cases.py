"""StandardizationLayer (every axes form), instance_norm / layer_norm (with their Scale/Bias/moved
nonlinearity), RandomizedRectifierLayer / rrelu at inference."""
from . import case


def _inp(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer(shape, name=name)


@case({"input": (2, 3, 5, 4)}, needs_02=True)
def standardization_axes_forms():
    from lasagne.layers import StandardizationLayer

    l = _inp((None, 3, None, 4))
    return [StandardizationLayer(l, name="auto"), StandardizationLayer(l, axes="features", name="features"),
            StandardizationLayer(l, axes=(1, 3), epsilon=0.5, name="channels_cols"),
            StandardizationLayer(l, axes=-1, epsilon=1e-6, name="last")]


@case({"input": (4, 7)}, needs_02=True)
def standardization_2d_auto():
    from lasagne.layers import DenseLayer, StandardizationLayer

    return StandardizationLayer(DenseLayer(_inp((None, 7)), 6, name="fc"), epsilon=2.0, name="std")


@case({"input": (2, 3, 6, 5)}, needs_02=True)
def instance_norm_conv():
    import lasagne
    from lasagne.layers import Conv2DLayer, instance_norm

    l = instance_norm(Conv2DLayer(_inp((None, 3, 6, 5)), 4, 3, pad=1, name="conv"))
    return instance_norm(Conv2DLayer(l, 2, 1, nonlinearity=lasagne.nonlinearities.tanh, name="conv2"),
                         learn_scale=False, epsilon=1e-2)


@case({"input": (3, 4, 5)}, needs_02=True)
def layer_norm_dense_and_conv():
    from lasagne.layers import Conv1DLayer, DenseLayer, layer_norm

    l = layer_norm(Conv1DLayer(_inp((None, 4, 5)), 3, 2, name="conv"))
    return layer_norm(DenseLayer(l, 6, name="fc"), epsilon=1e-3)


@case({"input": (3, 4, 5, 5)}, needs_02=True)
def rrelu_inference():
    from lasagne.layers import Conv2DLayer, RandomizedRectifierLayer, rrelu

    l = rrelu(Conv2DLayer(_inp((None, 4, 5, 5)), 3, 3, name="conv"))
    l = RandomizedRectifierLayer(l, lower=0.1, upper=0.25, shared_axes="all", name="rrelu_narrow")
    return RandomizedRectifierLayer(l, lower=0.5, upper=0.5, name="rrelu_fixed")
