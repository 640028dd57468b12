"""Custom computation written the way research code writes it: layers of the user's own, Lasagne
layers subclassed, ExpressionLayer lambdas, arbitrary nonlinearities and merge functions, Theano ops
in ``__init__``, and a build function that also prepares training.

Cases tagged ``traced`` hold layers without a converter: the reference worker's capture on the real
Lasagne reads them from Theano's own graphs (exporter/frontends/theano_graph.py), the Theano-free
API's tracer captures the same build code, and both exports are compared with Theano on every layer
(tests/test_parity_theano.py, tests/test_compat_matches_real.py).
"""
from . import case

TRACED = ("traced",)


def _input(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


@case({"input": (3, 10)}, tags=TRACED)
def weight_norm_dense():
    """Weight normalisation (Salimans & Kingma): the norm built in __init__ from the symbolic W."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer

    class WeightNormDenseLayer(DenseLayer):
        def __init__(self, incoming, num_units, g=lasagne.init.Uniform((0.5, 1.5)), **kwargs):
            super(WeightNormDenseLayer, self).__init__(incoming, num_units, **kwargs)
            self.g = self.add_param(g, (num_units,), name="g")
            self.W_norm = T.sqrt(T.sum(T.square(self.W), axis=0))

        def get_output_for(self, input, **kwargs):
            if input.ndim > 2:
                input = input.flatten(2)
            W = self.W * (self.g / self.W_norm).dimshuffle("x", 0)
            activation = T.dot(input, W) + self.b.dimshuffle("x", 0)
            return self.nonlinearity(activation)

    l = WeightNormDenseLayer(_input((3, 10)), 8, name="wn1")
    return WeightNormDenseLayer(l, 4, nonlinearity=lasagne.nonlinearities.tanh, name="wn2")


@case({"input": (2, 3, 8, 8)}, tags=TRACED)
def weight_norm_conv():
    """Weight-normalised convolution: the norm over (in, rows, cols) computed in get_output_for."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, GlobalPoolLayer

    class WeightNormConv2DLayer(Conv2DLayer):
        def __init__(self, incoming, num_filters, filter_size, **kwargs):
            super(WeightNormConv2DLayer, self).__init__(incoming, num_filters, filter_size, pad="same", **kwargs)
            self.g = self.add_param(lasagne.init.Uniform((0.5, 1.5)), (num_filters,), name="g")

        def get_output_for(self, input, **kwargs):
            norm = T.sqrt(T.sum(T.sqr(self.W), axis=(1, 2, 3)))
            W = self.W * (self.g / norm).dimshuffle(0, "x", "x", "x")
            conved = T.nnet.conv2d(input, W, border_mode="half", subsample=self.stride)
            return self.nonlinearity(conved + self.b.dimshuffle("x", 0, "x", "x"))

    l = WeightNormConv2DLayer(_input((2, 3, 8, 8)), 5, 3, name="wn_conv1")
    l = WeightNormConv2DLayer(l, 4, 3, stride=2, nonlinearity=lasagne.nonlinearities.elu, name="wn_conv2")
    return GlobalPoolLayer(l, name="gap")


def _weight_norm(layer, axes):
    """openai/improved-gan's weight normalisation: ``layer.W`` becomes an expression of the parameter."""
    import theano.tensor as T

    layer.W_param = layer.W
    layer.W = layer.W_param / T.sqrt(1e-6 + T.sum(T.square(layer.W_param), axis=axes, keepdims=True))
    return layer


@case({"input": (2, 3, 8, 8)}, needs_02=True, tags=TRACED)
def weight_norm_dnn_conv():
    """Weight normalisation on cuDNN convolutions (cross-correlation by default; 'same' padding, a
    stride, flip_filters=True): the layer's own convolution with ``layer.W`` replaced."""
    from lasagne.layers import GlobalPoolLayer, dnn

    l = _weight_norm(dnn.Conv2DDNNLayer(_input((2, 3, 8, 8)), 4, 3, pad=1, name="wn_dnn1"), (1, 2, 3))
    l = _weight_norm(dnn.Conv2DDNNLayer(l, 5, 3, pad="same", stride=2, name="wn_dnn2"), (1, 2, 3))
    l = _weight_norm(dnn.Conv2DDNNLayer(l, 3, (2, 3), flip_filters=True, name="wn_dnn_flipped"), (1, 2, 3))
    return GlobalPoolLayer(l, name="gap")


@case({"input": (2, 4, 8, 8)}, needs_02=True, tags=TRACED)
def resnet_option_a_shortcut():
    """The CIFAR-10 ResNet of Lasagne/Recipes: an increase in width takes the identity shortcut
    subsampled by an ExpressionLayer and zero-padded in channels by a PadLayer (option A)."""
    import lasagne
    from lasagne.layers import (Conv2DLayer, ElemwiseSumLayer, ExpressionLayer, NonlinearityLayer, PadLayer,
                                batch_norm)

    rectify = lasagne.nonlinearities.rectify
    l = batch_norm(Conv2DLayer(_input((2, 4, 8, 8)), 4, 3, pad="same", nonlinearity=rectify, name="conv0"))
    out_filters = 8
    stack_1 = batch_norm(Conv2DLayer(l, out_filters, 3, stride=(2, 2), pad="same", nonlinearity=rectify,
                                     name="res_a"))
    stack_2 = batch_norm(Conv2DLayer(stack_1, out_filters, 3, pad="same", nonlinearity=None, name="res_b"))
    identity = ExpressionLayer(l, lambda X: X[:, :, ::2, ::2], lambda s: (s[0], s[1], s[2] // 2, s[3] // 2),
                               name="shortcut_subsample")
    padding = PadLayer(identity, [out_filters // 4, 0, 0], batch_ndim=1, name="shortcut_pad")
    return NonlinearityLayer(ElemwiseSumLayer([stack_2, padding], name="res_sum"), rectify, name="res_out")


@case({"input": (3, 6)}, tags=TRACED)
def vae_gaussian_sampling():
    """A VAE's reparameterised sampling layer: random while training, the mean when deterministic."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer, MergeLayer
    from theano.tensor.shared_randomstreams import RandomStreams

    class GaussianSampleLayer(MergeLayer):
        def __init__(self, mu, logsigma, rng=None, **kwargs):
            self.rng = rng if rng else RandomStreams(lasagne.random.get_rng().randint(1, 2147462579))
            super(GaussianSampleLayer, self).__init__([mu, logsigma], **kwargs)

        def get_output_shape_for(self, input_shapes):
            return input_shapes[0]

        def get_output_for(self, inputs, deterministic=False, **kwargs):
            mu, logsigma = inputs
            shape = (self.input_shapes[0][0] or inputs[0].shape[0], self.input_shapes[0][1] or inputs[0].shape[1])
            if deterministic:
                return mu
            return mu + T.exp(logsigma) * self.rng.normal(shape)

    enc = DenseLayer(_input((3, 6)), 8, nonlinearity=lasagne.nonlinearities.tanh, name="enc")
    mu = DenseLayer(enc, 2, nonlinearity=None, name="mu")
    logsigma = DenseLayer(enc, 2, nonlinearity=None, name="logsigma")
    z = GaussianSampleLayer(mu, logsigma, name="z")
    return DenseLayer(z, 6, nonlinearity=lasagne.nonlinearities.sigmoid, name="dec")


@case({"input": (2, 2, 7, 7)}, tags=TRACED)
def masked_convolution():
    """PixelCNN's masked convolution: a fixed mask (a shared variable, not a parameter) on the kernel."""
    import numpy as np
    import theano
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer

    class MaskedConv2DLayer(Conv2DLayer):
        def __init__(self, incoming, num_filters, filter_size, mask_type="A", **kwargs):
            super(MaskedConv2DLayer, self).__init__(incoming, num_filters, filter_size, pad="same", **kwargs)
            fh, fw = self.filter_size
            mask = np.ones(self.get_W_shape(), dtype=theano.config.floatX)
            mask[:, :, fh // 2, fw // 2 + (mask_type == "B"):] = 0
            mask[:, :, fh // 2 + 1:, :] = 0
            self.mask = theano.shared(mask, name="mask")

        def get_output_for(self, input, **kwargs):
            conved = T.nnet.conv2d(input, self.W * self.mask, border_mode="half", filter_flip=False)
            return self.nonlinearity(conved + self.b.dimshuffle("x", 0, "x", "x"))

    l = MaskedConv2DLayer(_input((2, 2, 7, 7)), 4, 5, mask_type="A", name="masked_a")
    return MaskedConv2DLayer(l, 3, 3, mask_type="B", name="masked_b")


@case({"enc": (2, 5, 6), "query": (2, 4)}, tags=TRACED)
def attention():
    """Additive attention over the time steps of an encoder, as in attention decoders."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer, MergeLayer

    class AttentionLayer(MergeLayer):
        def __init__(self, encoder, query, num_units, W=lasagne.init.GlorotUniform(), **kwargs):
            super(AttentionLayer, self).__init__([encoder, query], **kwargs)
            enc_units, q_units = self.input_shapes[0][2], self.input_shapes[1][1]
            self.W = self.add_param(W, (enc_units + q_units, num_units), name="W")
            self.v = self.add_param(lasagne.init.GlorotUniform(), (num_units, 1), name="v")

        def get_output_shape_for(self, input_shapes):
            return (input_shapes[0][0], input_shapes[0][2] + input_shapes[1][1])

        def get_output_for(self, inputs, **kwargs):
            enc, q = inputs
            n_steps = enc.shape[1]
            q_rep = T.repeat(q.dimshuffle(0, "x", 1), n_steps, axis=1)
            feats = T.concatenate([enc, q_rep], axis=2)
            scores = T.dot(T.tanh(T.dot(feats, self.W)), self.v)
            weights = T.nnet.softmax(scores.reshape((enc.shape[0], n_steps)))  # softmax over time
            context = T.batched_dot(weights, enc)
            return T.concatenate([context, q], axis=1)

    enc = _input((2, 5, 6), "enc")
    query = DenseLayer(_input((2, 4), "query"), 4, nonlinearity=lasagne.nonlinearities.tanh, name="q")
    att = AttentionLayer(enc, query, 7, name="attention")
    return DenseLayer(att, 3, nonlinearity=lasagne.nonlinearities.softmax, name="out")


@case({"input": (2, 3, 6, 6)}, tags=TRACED)
def custom_nonlinearities():
    """Nonlinearities Lasagne does not name: a leaky lambda, T.exp, T.abs_, hard_sigmoid."""
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, DenseLayer, NonlinearityLayer

    l = Conv2DLayer(_input((2, 3, 6, 6)), 4, 3, nonlinearity=lambda x: T.maximum(x, 0.1 * x), name="conv_leaky")
    l = Conv2DLayer(l, 4, 3, nonlinearity=T.abs_, name="conv_abs")
    l = NonlinearityLayer(l, T.nnet.hard_sigmoid, name="hard_sig")
    l = DenseLayer(l, 5, nonlinearity=lambda x: T.exp(-x * x), name="gauss")
    return DenseLayer(l, 3, nonlinearity=T.exp, name="exp_out")


@case({"input": (2, 6)}, tags=TRACED)
def elemwise_merge_true_div_and_lambda():
    """ElemwiseMergeLayer with T.true_div and with a gating lambda."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer, ElemwiseMergeLayer, ExpressionLayer

    x = _input((2, 6))
    a = DenseLayer(x, 5, nonlinearity=None, name="a")
    b = DenseLayer(x, 5, nonlinearity=lasagne.nonlinearities.sigmoid, name="b")
    den = ExpressionLayer(b, lambda v: v + 1.5, name="denominator")
    ratio = ElemwiseMergeLayer([a, den], T.true_div, name="ratio")
    return ElemwiseMergeLayer([ratio, b], lambda u, v: u * T.nnet.sigmoid(v), name="gated")


@case({"input": (2, 3, 6, 5)}, tags=TRACED)
def reshape_by_symbolic_batch():
    """X.reshape((X.shape[0], -1)) in an ExpressionLayer, and an input.shape[0]-reading layer."""
    import numpy as np
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, DenseLayer, ExpressionLayer, Layer

    class SplitChannels(Layer):
        """Moves half the channels into the batch axis and back (reads input.shape[0])."""

        def get_output_for(self, input, **kwargs):
            batch = input.shape[0]
            halves = input.reshape((batch * 2, input.shape[1] // 2, input.shape[2], input.shape[3]))
            return T.maximum(halves, 0).reshape((batch, -1, input.shape[2], input.shape[3]))

    l = Conv2DLayer(_input((2, 3, 6, 5)), 4, 3, name="conv")
    l = SplitChannels(l, name="split")
    flat = ExpressionLayer(l, lambda X: X.reshape((X.shape[0], -1)),
                           output_shape=lambda s: (s[0], int(np.prod(s[1:]))), name="flat")
    return DenseLayer(flat, 3, name="fc")


@case({"input": (3, 6)})
def build_also_compiles_training():
    """A build function that also builds the loss, Adam updates and Theano functions for training."""
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import DenseLayer, DropoutLayer, InputLayer

    l_in = InputLayer((None, 6), name="input")
    l = DropoutLayer(DenseLayer(l_in, 8, name="fc1"), p=0.5, name="drop")
    out = DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="out")
    X, y = l_in.input_var, T.ivector("y")
    prediction = lasagne.layers.get_output(out)
    loss = lasagne.objectives.categorical_crossentropy(prediction, y).mean()
    loss = loss + 1e-4 * lasagne.regularization.regularize_network_params(out, lasagne.regularization.l2)
    params = lasagne.layers.get_all_params(out, trainable=True)
    updates = lasagne.updates.adam(loss, params, learning_rate=1e-3)
    train_fn = theano.function([X, y], loss, updates=updates)
    test_prediction = lasagne.layers.get_output(out, deterministic=True)
    accuracy = T.mean(T.eq(T.argmax(test_prediction, axis=1), y), dtype=theano.config.floatX)
    val_fn = theano.function([X, y], [loss, accuracy])
    out.train_fn, out.val_fn = train_fn, val_fn  # as scripts keep them around
    return out


@case({"input": (2, 5)}, tags=TRACED)
def reimplemented_under_lasagne_name():
    """A layer class of the user's that carries a Lasagne class name (not a subclass)."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import Layer

    class DenseLayer(Layer):  # the user's own DenseLayer: tanh, and a learnt output scale
        def __init__(self, incoming, num_units, **kwargs):
            super(DenseLayer, self).__init__(incoming, **kwargs)
            self.num_units = num_units
            self.W = self.add_param(lasagne.init.GlorotUniform(), (self.input_shape[1], num_units), name="W")
            self.b = self.add_param(lasagne.init.Constant(0.), (num_units,), name="b", regularizable=False)
            self.scales = self.add_param(lasagne.init.Constant(2.), (num_units,), name="scales")

        def get_output_shape_for(self, input_shape):
            return (input_shape[0], self.num_units)

        def get_output_for(self, input, **kwargs):
            return self.scales * T.tanh(T.dot(input, self.W) + self.b)

    return DenseLayer(DenseLayer(_input((2, 5)), 4, name="mine1"), 3, name="mine2")


@case({"input": (2, 5, 3)}, tags=TRACED)
def gru_custom_nonlinearity():
    """A recurrent layer whose hidden update uses a nonlinearity Lasagne does not name."""
    import theano.tensor as T
    from lasagne.layers import Gate, GRULayer

    hidden_update = Gate(W_cell=None, nonlinearity=lambda x: T.tanh(x) * 0.9 + 0.1 * x)
    return GRULayer(_input((2, 5, 3)), 4, hidden_update=hidden_update, name="gru")


@case({"input": (2, 6, 4, 4)}, tags=TRACED)
def maxout_and_winner_take_all():
    """Lasagne layers without a converter of their own, traced from Lasagne's formulas: maxout
    (FeaturePoolLayer, also with a pool function of the user's) and FeatureWTALayer."""
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, DenseLayer, FeaturePoolLayer, FeatureWTALayer

    l = Conv2DLayer(_input((2, 6, 4, 4)), 8, 3, pad=1, nonlinearity=None, name="conv")
    l = FeaturePoolLayer(l, 2, name="maxout")
    l = FeatureWTALayer(l, 2, name="wta")
    l = DenseLayer(l, 6, nonlinearity=None, name="fc")
    return FeaturePoolLayer(l, 3, axis=1, pool_function=lambda x, axis: T.sqrt(T.mean(T.sqr(x), axis=axis)),
                            name="rms_pool")


def _subclass(cls):
    """A subclass of a Lasagne class that changes nothing: it is traced (not trusted by name), so its
    output comes from the Theano-free API's version of Lasagne's get_output_for."""
    return type("My" + cls.__name__, (cls,), {})


@case({"input": (2, 3, 8, 8)}, needs_02=True, tags=TRACED)
def subclassed_conv_pool_norm_layers():
    import lasagne
    from lasagne import layers as L

    l = _subclass(L.Conv2DLayer)(_input((2, 3, 8, 8)), 4, 3, pad="same", stride=2, untie_biases=True, name="conv")
    l = _subclass(L.Conv2DLayer)(l, 5, (2, 3), pad="full", flip_filters=False,
                                 nonlinearity=lasagne.nonlinearities.leaky_rectify, name="conv_full")
    l = _subclass(L.MaxPool2DLayer)(l, 3, stride=2, ignore_border=False, name="pool_partial")
    l = _subclass(L.Pool2DLayer)(l, 2, stride=1, pad=1, mode="average_exc_pad", name="avg_pad")
    l = _subclass(L.BatchNormLayer)(l, name="bn")
    l = _subclass(L.LocalResponseNormalization2DLayer)(l, n=3, name="lrn")
    l = _subclass(L.Upscale2DLayer)(l, 2, name="upscale")
    l = _subclass(L.NINLayer)(l, 3, name="nin")
    l = _subclass(L.ParametricRectifierLayer)(l, name="prelu")
    return _subclass(L.GlobalPoolLayer)(l, name="gap")


@case({"input": (2, 3, 6, 6)}, needs_02=True, tags=TRACED)
def subclassed_shape_merge_layers():
    import lasagne
    import theano.tensor as T
    from lasagne import layers as L

    x = _input((2, 3, 6, 6))
    a = _subclass(L.DimshuffleLayer)(x, (0, 2, 3, 1), name="nhwc")
    a = _subclass(L.ReshapeLayer)(a, ([0], [1], -1), name="reshape")
    a = _subclass(L.SliceLayer)(a, slice(1, None, 2), axis=1, name="slice")
    b = _subclass(L.PadLayer)(x, [(1, 0), 2], val=0.5, name="pad")
    b = _subclass(L.SliceLayer)(b, -1, axis=2, name="slice_int")
    b = _subclass(L.FlattenLayer)(b, outdim=3, name="flatten")
    b = _subclass(L.DimshuffleLayer)(b, (0, 2, 1), name="swap")
    s = _subclass(L.ElemwiseSumLayer)([a, b], coeffs=[0.5, -2], cropping=[None, "center", "lower"], name="sum")
    m = _subclass(L.ElemwiseMergeLayer)([a, s], T.maximum, cropping=[None, "upper", "upper"], name="max")
    c = _subclass(L.ConcatLayer)([m, s], axis=2, cropping=[None, "lower", None], name="concat")
    c = _subclass(L.BiasLayer)(c, name="bias")
    c = _subclass(L.ScaleLayer)(c, name="scale")
    c = _subclass(L.NonlinearityLayer)(c, lasagne.nonlinearities.elu, name="elu")
    return _subclass(L.DenseLayer)(c, 4, num_leading_axes=2, name="dense")


def _deconv2d_layer_class():
    """A transposed-convolution layer as GAN code of the improved-gan era writes it: the forward
    convolution's gradient op applied directly, its W laid out (in_ch, out_ch, k, k)."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import Layer

    class Deconv2DLayer(Layer):
        def __init__(self, incoming, target_shape, filter_size, stride=(2, 2), W=lasagne.init.Normal(0.05),
                     b=lasagne.init.Constant(0.), nonlinearity=lasagne.nonlinearities.rectify, **kwargs):
            super(Deconv2DLayer, self).__init__(incoming, **kwargs)
            self.target_shape = target_shape
            self.filter_size = filter_size
            self.stride = stride
            self.nonlinearity = nonlinearity if nonlinearity is not None else lasagne.nonlinearities.identity
            self.W_shape = (self.input_shape[1], target_shape[1], filter_size, filter_size)
            self.W = self.add_param(W, self.W_shape, name="W")
            self.b = None if b is None else self.add_param(b, (target_shape[1],), name="b")

        def get_output_shape_for(self, input_shape):
            return (input_shape[0],) + tuple(self.target_shape[1:])

        def get_output_for(self, input, **kwargs):
            k = self.filter_size
            op = T.nnet.abstract_conv.AbstractConv2d_gradInputs(imshp=self.target_shape, kshp=self.W_shape,
                                                                 subsample=self.stride, border_mode=(k // 2, k // 2))
            activation = op(self.W, input, self.target_shape[2:])
            if self.b is not None:
                activation = activation + self.b.dimshuffle("x", 0, "x", "x")
            return self.nonlinearity(activation)

    return Deconv2DLayer


@case({"noise": (2, 6)}, tags=TRACED)
def gan_generator_deconv():
    """A DCGAN-style generator: noise -> DenseLayer -> ReshapeLayer -> two stride-2 transposed
    convolutions (AbstractConv2d_gradInputs applied by a layer of the user's; 5x5 kernels padded by 2,
    so each output keeps one row and column more than the stride alone gives)."""
    import lasagne
    from lasagne.layers import DenseLayer, ReshapeLayer

    Deconv2DLayer = _deconv2d_layer_class()
    l = DenseLayer(_input((2, 6), "noise"), 8 * 4 * 4, name="project")
    l = ReshapeLayer(l, ([0], 8, 4, 4), name="to_maps")
    l = Deconv2DLayer(l, (None, 5, 8, 8), 5, name="deconv1")
    return Deconv2DLayer(l, (None, 3, 16, 16), 5, nonlinearity=lasagne.nonlinearities.tanh, name="deconv2")


@case({"noise": (2, 5)}, tags=TRACED)
def gan_generator_weight_norm_deconv():
    """improved-gan's weight-normalised generator: a wrapping layer replaces the deconvolution's W by
    W * g / ||W|| (norms over axes 0, 2, 3: one per output channel, g a parameter of the wrapper) and
    applies the bias and nonlinearity after the bare transposed convolution."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer, Layer, ReshapeLayer

    class WeightNormLayer(Layer):
        def __init__(self, incoming, b=lasagne.init.Constant(0.), g=lasagne.init.Uniform((0.5, 1.5)),
                     nonlinearity=lasagne.nonlinearities.rectify, **kwargs):
            super(WeightNormLayer, self).__init__(incoming, **kwargs)
            self.nonlinearity = nonlinearity
            channels = self.input_shape[1]
            self.b = self.add_param(b, (channels,), name="b")
            self.g = self.add_param(g, (channels,), name="g")
            incoming.W_param = incoming.W
            norm = T.sqrt(T.sum(T.square(incoming.W_param), axis=(0, 2, 3)))
            incoming.W = incoming.W_param * (self.g / norm).dimshuffle("x", 0, "x", "x")

        def get_output_for(self, input, **kwargs):
            return self.nonlinearity(input + self.b.dimshuffle("x", 0, "x", "x"))

    Deconv2DLayer = _deconv2d_layer_class()
    l = DenseLayer(_input((2, 5), "noise"), 6 * 3 * 3, name="project")
    l = ReshapeLayer(l, ([0], 6, 3, 3), name="to_maps")
    l = WeightNormLayer(Deconv2DLayer(l, (None, 4, 6, 6), 5, b=None, nonlinearity=None, name="deconv1"), name="wn1")
    l = Deconv2DLayer(l, (None, 2, 12, 12), 3, b=None, nonlinearity=None, name="deconv2")
    return WeightNormLayer(l, nonlinearity=lasagne.nonlinearities.sigmoid, name="wn2")


@case({"input": (2, 3, 8, 8)}, tags=TRACED)
def unet_bilinear_decoder():
    """A U-Net decoder step in the cyclegan-lasagne style: Theano's bilinear_upsampling inside an
    ExpressionLayer, concatenated with the encoder's skip connection, then a convolution."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import ConcatLayer, Conv2DLayer, ExpressionLayer, MaxPool2DLayer

    def upsample_shape(s):
        return (s[0], s[1], None if s[2] is None else 2 * s[2], None if s[3] is None else 2 * s[3])

    leaky = lasagne.nonlinearities.LeakyRectify(0.2)
    enc1 = Conv2DLayer(_input((2, 3, 8, 8)), 4, 3, pad="same", nonlinearity=leaky, name="enc1")
    enc2 = Conv2DLayer(MaxPool2DLayer(enc1, 2, name="down"), 6, 3, pad="same", nonlinearity=leaky, name="enc2")
    up = ExpressionLayer(enc2, lambda X: T.nnet.abstract_conv.bilinear_upsampling(X, ratio=2),
                         output_shape=upsample_shape, name="up")
    merged = ConcatLayer([up, enc1], axis=1, name="skip")
    return Conv2DLayer(merged, 3, 3, pad="same", nonlinearity=lasagne.nonlinearities.tanh, name="dec")


@case({"input": (3, 1, 8, 8)}, tags=TRACED)
def gan_discriminator_minibatch():
    """A discriminator with improved-gan-style minibatch discrimination: features from a tensor
    parameter (tensordot), L1 distances between every pair of examples by dimshuffle broadcasting,
    each example's distance to itself masked by 1e6 * T.eye(batch), exp(-d) summed over the batch and
    concatenated to the features; then a DenseLayer."""
    import lasagne
    import numpy as np
    import theano.tensor as T
    from lasagne.layers import Conv2DLayer, DenseLayer, Layer

    class MinibatchLayer(Layer):
        def __init__(self, incoming, num_kernels, dim_per_kernel=4, theta=lasagne.init.Normal(0.05),
                     log_weight_scale=lasagne.init.Constant(0.), b=lasagne.init.Constant(-1.), **kwargs):
            super(MinibatchLayer, self).__init__(incoming, **kwargs)
            self.num_kernels = num_kernels
            num_inputs = int(np.prod(self.input_shape[1:]))
            self.theta = self.add_param(theta, (num_inputs, num_kernels, dim_per_kernel), name="theta")
            self.log_weight_scale = self.add_param(log_weight_scale, (num_kernels, dim_per_kernel),
                                                   name="log_weight_scale")
            scale = T.exp(self.log_weight_scale) / T.sqrt(T.sum(T.square(self.theta), axis=0))
            self.W = self.theta * scale.dimshuffle("x", 0, 1)
            self.b = self.add_param(b, (num_kernels,), name="b", regularizable=False)

        def get_output_shape_for(self, input_shape):
            return (input_shape[0], int(np.prod(input_shape[1:])) + self.num_kernels)

        def get_output_for(self, input, **kwargs):
            if input.ndim > 2:
                input = input.flatten(2)
            activation = T.tensordot(input, self.W, [[1], [0]])  # (batch, kernels, dims)
            differences = activation.dimshuffle(0, 1, 2, "x") - activation.dimshuffle("x", 1, 2, 0)
            distances = T.sum(abs(differences), axis=2) + 1e6 * T.eye(input.shape[0]).dimshuffle(0, "x", 1)
            closeness = T.sum(T.exp(-distances), axis=2)
            return T.concatenate([input, closeness + self.b.dimshuffle("x", 0)], axis=1)

    leaky = lasagne.nonlinearities.LeakyRectify(0.2)
    l = Conv2DLayer(_input((3, 1, 8, 8)), 4, 3, stride=2, pad=1, nonlinearity=leaky, name="conv1")
    l = Conv2DLayer(l, 4, 3, stride=2, pad=1, nonlinearity=leaky, name="conv2")
    l = MinibatchLayer(l, 5, name="minibatch")
    return DenseLayer(l, 1, nonlinearity=lasagne.nonlinearities.sigmoid, name="realness")


@case({"input": (3, 6)}, tags=TRACED)
def erfinv_expression():
    """Gaussianising a bounded activation, ``T.erfinv`` (ONNX has none: Giles' polynomials) read from both
    front ends."""
    import theano.tensor as T
    from lasagne.layers import DenseLayer, ExpressionLayer

    l = DenseLayer(_input((3, 6)), 5, name="dense")
    return ExpressionLayer(l, lambda x: T.erfinv(T.tanh(x) * 0.99), name="gaussianise")


@case({"input": (3, 6)}, tags=TRACED)
def diag_layer():
    """``T.diag`` of a parameter (a diagonal weight matrix) and ``T.diagonal`` of an activation (the diagonal
    of each example's outer product), read from both front ends (AllocDiag, ExtractDiag)."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import Layer

    class DiagonalLayer(Layer):
        def __init__(self, incoming, **kwargs):
            super(DiagonalLayer, self).__init__(incoming, **kwargs)
            self.d = self.add_param(lasagne.init.Normal(1.0), (self.input_shape[1],), name="d")

        def get_output_for(self, input, **kwargs):
            scaled = T.dot(input, T.diag(self.d))
            outer = scaled.dimshuffle(0, 1, "x") * input.dimshuffle(0, "x", 1)
            return T.diagonal(outer, 0, 1, 2) + T.diag(T.diag(self.d), 0).dimshuffle("x", 0)

    return DiagonalLayer(_input((3, 6)), name="diagonal")


@case({"input": (3, 6)}, needs_02=True, tags=TRACED)
def params_given_as_expressions():
    """Lasagne 0.2's parameters given as Theano expressions: ``W=W_shared * 2`` (the layer's parameter is the
    shared variable inside) and a tied decoder ``W=encoder.W.T`` (the same shared variable, counted once)."""
    import lasagne
    import numpy as np
    import theano
    from lasagne.layers import DenseLayer

    W = theano.shared(lasagne.init.Normal(0.5)((6, 4)).astype(theano.config.floatX), name="W")
    encoder = DenseLayer(_input((3, 6)), 4, W=W * np.float32(2), name="encoder")
    return DenseLayer(encoder, 6, W=encoder.W.T, nonlinearity=lasagne.nonlinearities.tanh, name="decoder")
