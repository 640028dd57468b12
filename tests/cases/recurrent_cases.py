"""Recurrent layers: LSTMLayer, GRULayer, RecurrentLayer and CustomRecurrentLayer.

The reference worker randomises only parameters named like ``b``/``W``..., so gate biases, peepholes
and the initial states ``hid_init`` / ``cell_init`` get explicit random initialisers here: with
Lasagne's zero defaults a wrong bias or initial state could not fail the comparison.  Masks are fed
the worker's Gaussian inputs like any InputLayer: Lasagne's ``h*m + h_prev*(1-m)`` holds for any value.
"""

from . import case

T, F, H = 5, 4, 6


def _inp(shape=(None, T, F), name="input"):
    from lasagne.layers import InputLayer

    return InputLayer(shape, name=name)


def _gate(nonlinearity="sigmoid", cell=True):
    import lasagne
    from lasagne.init import Normal
    from lasagne.layers import Gate

    nl = getattr(lasagne.nonlinearities, nonlinearity) if isinstance(nonlinearity, str) else nonlinearity
    return Gate(W_in=Normal(0.3), W_hid=Normal(0.3), W_cell=Normal(0.5) if cell else None, b=Normal(0.5),
                nonlinearity=nl)


def _inits():
    from lasagne.init import Normal

    return {"hid_init": Normal(0.5), "cell_init": Normal(0.5)}


def _lstm(incoming, gates=("sigmoid", "sigmoid", "tanh", "sigmoid"), **kwargs):
    from lasagne.layers import LSTMLayer

    i, f, c, o = gates
    kwargs = {**_inits(), **kwargs}
    return LSTMLayer(incoming, H, ingate=_gate(i), forgetgate=_gate(f), cell=_gate(c, cell=False),
                     outgate=_gate(o), name=kwargs.pop("name", "lstm"), **kwargs)


def _gru(incoming, gates=("sigmoid", "sigmoid", "tanh"), **kwargs):
    from lasagne.init import Normal
    from lasagne.layers import GRULayer

    r, u, c = gates
    kwargs = {"hid_init": Normal(0.5), **kwargs}
    return GRULayer(incoming, H, resetgate=_gate(r, cell=False), updategate=_gate(u, cell=False),
                    hidden_update=_gate(c, cell=False), name="gru", **kwargs)


def _rnn(incoming, **kwargs):
    from lasagne.init import Normal
    from lasagne.layers import RecurrentLayer

    kwargs = {"hid_init": Normal(0.5), **kwargs}
    return RecurrentLayer(incoming, H, W_in_to_hid=Normal(0.4), W_hid_to_hid=Normal(0.4),
                          name="rnn", **kwargs)


# -- LSTM ---------------------------------------------------------------------------------------------------
@case({"input": (2, 7, F)})
def lstm_peepholes_forward():
    """Lasagne's default LSTM (peepholes, 0.1's output gate), unknown sequence length."""
    return _lstm(_inp((None, None, F)))


@case({"input": (3, T, 3, 2)})
def lstm_peepholes_backwards_4d_input():
    return _lstm(_inp((None, T, 3, 2)), backwards=True)


@case({"input": (2, T, F)})
def lstm_no_peepholes_learn_init_rectify():
    """The ONNX LSTM op: no peepholes, learnable initial states, rectify output nonlinearity."""
    import lasagne

    return _lstm(_inp(), peepholes=False, learn_init=True, nonlinearity=lasagne.nonlinearities.rectify)


@case({"input": (2, T, F)})
def lstm_no_peepholes_backwards():
    return _lstm(_inp(), peepholes=False, backwards=True)


@case({"input": (2, T, F)})
def lstm_linear_cell_leaky_output():
    """Gate nonlinearities ONNX's LSTM cannot name (None = linear, leaky rectify): the Scan form."""
    import lasagne

    return _lstm(_inp(), gates=("sigmoid", "sigmoid", None, "sigmoid"), peepholes=False,
                 nonlinearity=lasagne.nonlinearities.LeakyRectify(0.2))


@case({"input": (2, T, F), "mask": (2, T)})
def lstm_mask_backwards():
    return _lstm(_inp(), mask_input=_inp((None, T), name="mask"), backwards=True)


@case({"input": (3, 7, 5)})
def char_rnn_lstm_slice_dense():
    """A char-rnn: two stacked LSTMs, the last step's hidden state, a softmax over the vocabulary."""
    import lasagne
    from lasagne.layers import DenseLayer, SliceLayer

    l = _lstm(_inp((None, 7, 5)), name="lstm1")
    l = _lstm(l, peepholes=False, name="lstm2")
    l = SliceLayer(l, indices=-1, axis=1, name="last")
    return DenseLayer(l, 5, nonlinearity=lasagne.nonlinearities.softmax, name="softmax")


@case({"input": (2, T, F)})
def sequence_tagger_lstm_reshape_dense():
    """Lasagne's documented recipe: LSTM -> ReshapeLayer((-1, H)) -> DenseLayer -> back to (B, T, K)."""
    import lasagne
    from lasagne.layers import DenseLayer, ReshapeLayer

    l_in = _inp()
    l = _lstm(l_in)
    l = ReshapeLayer(l, (-1, H), name="flat")
    l = DenseLayer(l, 3, nonlinearity=lasagne.nonlinearities.softmax, name="tags")
    return ReshapeLayer(l, (-1, T, 3), name="per_step")


# -- GRU ---------------------------------------------------------------------------------------------------
@case({"input": (2, T, F)})
def gru_forward():
    return _gru(_inp())


@case({"input": (2, T, F)})
def gru_backwards():
    return _gru(_inp(), backwards=True)


@case({"input": (2, T, F)})
def gru_linear_hidden_update():
    """An update-gate / candidate nonlinearity ONNX's GRU cannot express: the Scan form."""
    return _gru(_inp(), gates=("sigmoid", "sigmoid", None))


@case({"input": (2, T, F), "mask": (2, T)})
def gru_mask():
    return _gru(_inp(), mask_input=_inp((None, T), name="mask"))


# -- RecurrentLayer ----------------------------------------------------------------------------------------
@case({"input": (2, T, F)})
def rnn_tanh():
    import lasagne

    return _rnn(_inp(), nonlinearity=lasagne.nonlinearities.tanh)


@case({"input": (2, T, F)})
def rnn_rectify_backwards_no_bias():
    return _rnn(_inp(), b=None, backwards=True)


@case({"input": (2, T, F), "mask": (2, T)})
def rnn_mask_linear():
    return _rnn(_inp(), nonlinearity=None, mask_input=_inp((None, T), name="mask"))


# -- 0.2's only_return_final (back-ported onto the 0.1 classes: tests/legacy/lasagne02_backport.py) ----------
@case({"input": (2, T, F), "mask": (2, T)}, needs_02=True)
def lstm_only_return_final_backwards_masked():
    """The last step the scan computes: time step 0 when backwards; with the 0.1 peephole gate (Scan)."""
    return _lstm(_inp(), backwards=True, only_return_final=True, mask_input=_inp((None, T), name="mask"))


@case({"input": (3, 7, 5)}, needs_02=True)
def char_rnn_only_return_final():
    """The 0.2 char-rnn recipe: LSTM(only_return_final=True) -> DenseLayer softmax, on the ONNX LSTM op."""
    import lasagne
    from lasagne.layers import DenseLayer

    l = _lstm(_inp((None, 7, 5)), peepholes=False, only_return_final=True)
    return DenseLayer(l, 5, nonlinearity=lasagne.nonlinearities.softmax, name="softmax")


@case({"input": (2, T, F)}, needs_02=True)
def gru_and_rnn_only_return_final():
    from lasagne.layers import ConcatLayer

    l_in = _inp()
    return ConcatLayer([_gru(l_in, backwards=True, only_return_final=True), _rnn(l_in, only_return_final=True)],
                       name="both")


# -- CustomRecurrentLayer ---------------------------------------------------------------------------------------
@case({"input": (2, T, F)})
def custom_recurrent_dense():
    from lasagne.init import Normal
    from lasagne.layers import CustomRecurrentLayer, DenseLayer, InputLayer

    i2h = DenseLayer(InputLayer((None, F)), H, W=Normal(0.4), nonlinearity=None, name="i2h")
    h2h = DenseLayer(InputLayer((None, H)), H, W=Normal(0.4), nonlinearity=None, name="h2h")
    return CustomRecurrentLayer(_inp(), i2h, h2h, hid_init=Normal(0.5), name="custom")


@case({"input": (2, 4, 2, 5, 5)}, needs_02=True)
def custom_recurrent_conv_backwards_final():
    """Convolutional input-to-hidden and hidden-to-hidden (a ConvRNN), backwards, in the Scan body
    (precompute_input=False), and 0.2's only_return_final."""
    import lasagne
    from lasagne.init import Normal
    from lasagne.layers import Conv2DLayer, CustomRecurrentLayer, InputLayer

    x = _inp((None, 4, 2, 5, 5))
    outs = []
    for name, kwargs in (("conv_rnn", {"backwards": True, "precompute_input": False}),
                         ("conv_rnn_final", {"only_return_final": True, "grad_clipping": 1.0})):
        i2h = Conv2DLayer(InputLayer((None, 2, 5, 5)), 3, 3, pad="same", W=Normal(0.3), nonlinearity=None)
        h2h = Conv2DLayer(InputLayer((None, 3, 5, 5)), 3, 3, pad="same", W=Normal(0.3), nonlinearity=None,
                          flip_filters=False, b=None)
        outs.append(CustomRecurrentLayer(x, i2h, h2h, nonlinearity=lasagne.nonlinearities.tanh,
                                         hid_init=Normal(0.5), name=name, **kwargs))
    return outs


@case({"input": (3, T, F), "mask": (3, T)})
def custom_recurrent_stacked_subnetworks_mask():
    """Sub-networks of several layers (Dense -> BatchNorm-free NonlinearityLayer -> Dense, a NIN-free
    Dense with its own nonlinearity), a mask, precompute_input=False, backwards."""
    import lasagne
    from lasagne.init import Normal
    from lasagne.layers import CustomRecurrentLayer, DenseLayer, InputLayer, NonlinearityLayer

    i2h = DenseLayer(InputLayer((None, F)), 5, W=Normal(0.4), nonlinearity=lasagne.nonlinearities.sigmoid)
    i2h = DenseLayer(i2h, H, W=Normal(0.4), nonlinearity=None)
    h2h = NonlinearityLayer(InputLayer((None, H)), lasagne.nonlinearities.tanh)
    h2h = DenseLayer(h2h, H, W=Normal(0.4), nonlinearity=None)
    mask = InputLayer((None, T), name="mask")
    return CustomRecurrentLayer(_inp(), i2h, h2h, mask_input=mask, hid_init=Normal(0.5), backwards=True,
                                precompute_input=False, nonlinearity=lasagne.nonlinearities.leaky_rectify,
                                name="custom")


@case({"input": (2, T, F)}, expect_error="its hidden_to_hidden sub-network holds unsupported layer")
def custom_recurrent_custom_sublayer_refused():
    from lasagne.layers import CustomRecurrentLayer, DenseLayer, InputLayer

    from ._custom_layers import Inverting

    # (a sub-layer the tracer can read would be traced with the whole recurrence, on the real Lasagne)
    i2h = DenseLayer(InputLayer((None, F)), H, nonlinearity=None)
    h2h = Inverting(DenseLayer(InputLayer((None, H)), H, nonlinearity=None))
    return CustomRecurrentLayer(_inp(), i2h, h2h, name="custom")


# -- initial states given as layers (Lasagne 0.2; seq2seq: a decoder starts from the encoder's final state) ----------
@case({"input": (3, T, F), "decoder_input": (3, 4, F)}, needs_02=True)
def lstm_hid_and_cell_init_layers():
    """An encoder LSTM's final step as the decoder's hid_init, a DenseLayer of it as its cell_init (no mask:
    ONNX's LSTM op with initial_h / initial_c from the graph)."""
    import lasagne
    from lasagne.layers import DenseLayer

    enc = _lstm(_inp(), only_return_final=True, name="encoder", peepholes=False)
    cell = DenseLayer(enc, H, nonlinearity=lasagne.nonlinearities.tanh, name="cell0")
    return _lstm(_inp((None, 4, F), name="decoder_input"), hid_init=enc, cell_init=cell, name="decoder",
                 peepholes=False)


@case({"input": (3, T, F), "mask": (3, T)}, needs_02=True, tags=("traced",))
def gru_hid_init_layer_mask():
    """A GRU with a mask (a Scan) whose hid_init is a DenseLayer of the mean input."""
    import lasagne
    from lasagne.layers import DenseLayer, ExpressionLayer

    l_in = _inp()
    mean = ExpressionLayer(l_in, lambda x: x.mean(axis=1), output_shape=(None, F), name="mean")
    h0 = DenseLayer(mean, H, nonlinearity=lasagne.nonlinearities.tanh, name="h0")
    return _gru(l_in, mask_input=_inp((None, T), name="mask"), hid_init=h0)


@case({"input": (3, T, F)}, needs_02=True)
def rnn_backwards_hid_init_layer():
    """A backwards RecurrentLayer whose hid_init is a DenseLayer of the input's first step."""
    from lasagne.layers import DenseLayer, SliceLayer

    l_in = _inp()
    h0 = DenseLayer(SliceLayer(l_in, 0, axis=1, name="first"), H, name="h0")
    return _rnn(l_in, hid_init=h0, backwards=True)
