"""Layers whose ``get_output_for`` loops with ``theano.scan``, written the way research code writes
them: a hand-made LSTM over a masked sequence, read backwards; an attention decoder that feeds back its
previous output and reads the encoder sequence as a non-sequence; a diagonal recurrence over a skewed
image; a long sequence read with two taps.  Both front ends trace them (the real Theano's Scan node
read by exporter/frontends/theano_graph_reader.py, the stand-in's scan by the tracer) and every layer
is compared with Theano."""
from . import case

TRACED = ("traced",)


def _input(shape, name="input"):
    from lasagne.layers import InputLayer

    return InputLayer((None,) + tuple(shape[1:]), name=name)


@case({"input": (2, 6, 3), "mask": (2, 6)}, int_inputs={"mask": ("float32", 0, 2)}, tags=TRACED)
def scan_lstm_masked_backwards():
    """An LSTM written with theano.scan: W, U, b; the mask keeps the previous state (T.switch); read
    backwards, its outputs flipped back to time order; two fed-back states."""
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import DenseLayer, MergeLayer

    class ScanLSTM(MergeLayer):
        def __init__(self, incoming, mask, num_units, **kwargs):
            super(ScanLSTM, self).__init__([incoming, mask], **kwargs)
            n_in = self.input_shapes[0][2]
            self.num_units = num_units
            self.W = self.add_param(lasagne.init.Normal(0.4), (n_in, 4 * num_units), name="W")
            self.U = self.add_param(lasagne.init.Normal(0.4), (num_units, 4 * num_units), name="U")
            self.b = self.add_param(lasagne.init.Normal(0.2), (4 * num_units,), name="b")

        def get_output_shape_for(self, input_shapes):
            return input_shapes[0][0], input_shapes[0][1], self.num_units

        def get_output_for(self, inputs, **kwargs):
            x, mask = inputs
            n = self.num_units

            def step(x_t, m_t, h_prev, c_prev, U):
                gates = T.dot(x_t, self.W) + T.dot(h_prev, U) + self.b
                i = T.nnet.sigmoid(gates[:, :n])
                f = T.nnet.sigmoid(gates[:, n:2 * n])
                o = T.nnet.sigmoid(gates[:, 2 * n:3 * n])
                c = f * c_prev + i * T.tanh(gates[:, 3 * n:])
                h = o * T.tanh(c)
                keep = m_t.dimshuffle(0, "x")
                return T.switch(keep, h, h_prev), T.switch(keep, c, c_prev)

            h0 = T.zeros((x.shape[0], n))
            (hs, cs), _ = theano.scan(step, sequences=[x.dimshuffle(1, 0, 2), mask.dimshuffle(1, 0)],
                                      outputs_info=[h0, h0], non_sequences=[self.U], go_backwards=True)
            return hs[::-1].dimshuffle(1, 0, 2) + 0.5 * cs[::-1].dimshuffle(1, 0, 2)

    lstm = ScanLSTM(_input((2, 6, 3)), _input((2, 6), "mask"), 4, name="lstm")
    return DenseLayer(lstm, 3, num_leading_axes=2, name="out")


@case({"enc": (2, 5, 6)}, tags=TRACED)
def scan_attention_decoder():
    """An attention decoder: n_steps steps without sequences, its previous output fed back, the encoder
    sequence and its projection (computed before the loop) read as non-sequences; a second output (the
    attention weights) is not fed back."""
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import Layer

    class AttentionDecoder(Layer):
        def __init__(self, incoming, num_units, num_attention, n_steps, **kwargs):
            super(AttentionDecoder, self).__init__(incoming, **kwargs)
            n_enc = self.input_shape[2]
            self.num_units, self.n_steps = num_units, n_steps
            self.W_init = self.add_param(lasagne.init.Normal(0.5), (n_enc, num_units), name="W_init")
            self.W_a = self.add_param(lasagne.init.Normal(0.5), (n_enc, num_attention), name="W_a")
            self.U_a = self.add_param(lasagne.init.Normal(0.5), (num_units, num_attention), name="U_a")
            self.v = self.add_param(lasagne.init.Normal(0.5), (num_attention,), name="v")
            self.W_o = self.add_param(lasagne.init.Normal(0.5), (n_enc, num_units), name="W_o")
            self.U_o = self.add_param(lasagne.init.Normal(0.5), (num_units, num_units), name="U_o")

        def get_output_shape_for(self, input_shape):
            return input_shape[0], self.n_steps, self.num_units + input_shape[1]

        def get_output_for(self, enc, **kwargs):
            enc_proj = T.dot(enc, self.W_a)  # (batch, time, attention), once

            def step(y_prev, enc, enc_proj):
                e = T.dot(T.tanh(enc_proj + T.dot(y_prev, self.U_a).dimshuffle(0, "x", 1)), self.v)
                alpha = T.nnet.softmax(e)
                context = T.sum(enc * alpha.dimshuffle(0, 1, "x"), axis=1)
                y = T.tanh(T.dot(context, self.W_o) + T.dot(y_prev, self.U_o))
                return y, alpha

            y0 = T.tanh(T.dot(enc.mean(axis=1), self.W_init))
            (ys, alphas), _ = theano.scan(step, outputs_info=[y0, None], non_sequences=[enc, enc_proj],
                                          n_steps=self.n_steps)
            return T.concatenate([ys, alphas], axis=2).dimshuffle(1, 0, 2)

    return AttentionDecoder(_input((2, 5, 6), "enc"), 4, 3, 4, name="decoder")


@case({"input": (1, 700, 2)}, tags=TRACED)
def scan_long_sequence_taps():
    """A recurrence over 700 time steps reading two taps of its sequence (x[t-1], x[t]); the number of
    steps is symbolic (n_steps=x.shape[0] - 1)."""
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import Layer

    class DeltaRNN(Layer):
        def __init__(self, incoming, num_units, **kwargs):
            super(DeltaRNN, self).__init__(incoming, **kwargs)
            self.num_units = num_units
            self.W = self.add_param(lasagne.init.Normal(0.3), (self.input_shape[2], num_units), name="W")
            self.U = self.add_param(lasagne.init.Normal(0.3), (num_units, num_units), name="U")

        def get_output_shape_for(self, input_shape):
            steps = None if input_shape[1] is None else input_shape[1] - 1
            return input_shape[0], steps, self.num_units

        def get_output_for(self, x, **kwargs):
            seq = x.dimshuffle(1, 0, 2)

            def step(x_prev, x_t, h_prev):
                return T.tanh(T.dot(x_t - x_prev, self.W) + T.dot(h_prev, self.U))

            hs, _ = theano.scan(step, sequences=dict(input=seq, taps=[-1, 0]),
                                outputs_info=T.zeros((x.shape[0], self.num_units)), n_steps=seq.shape[0] - 1)
            return hs.dimshuffle(1, 0, 2)

    return DeltaRNN(_input((1, 700, 2)), 4, name="delta_rnn")


@case({"input": (2, 2, 3, 4)}, tags=TRACED)
def scan_diagonal_rnn_skewed():
    """A diagonal recurrence over an image (PixelRNN's diagonal BiLSTM, as a tanh recurrence): each row
    skewed right by its index (set_subtensor), a scan over the columns whose state reads the cell above
    (the previous state shifted down), then unskewed."""
    import lasagne
    import theano
    import theano.tensor as T
    from lasagne.layers import Layer

    class DiagonalRNN(Layer):
        def __init__(self, incoming, num_units, **kwargs):
            super(DiagonalRNN, self).__init__(incoming, **kwargs)
            self.num_units = num_units
            channels = self.input_shape[1]
            self.W_is = self.add_param(lasagne.init.Normal(0.5), (channels, num_units), name="W_is")
            self.W_ss = self.add_param(lasagne.init.Normal(0.5), (2, num_units, num_units), name="W_ss")

        def get_output_shape_for(self, input_shape):
            return input_shape[0], self.num_units, input_shape[2], input_shape[3]

        def get_output_for(self, x, **kwargs):
            rows, cols = self.input_shape[2], self.input_shape[3]
            skewed = T.zeros((x.shape[0], x.shape[1], rows, rows + cols - 1))
            for r in range(rows):
                skewed = T.set_subtensor(skewed[:, :, r, r:r + cols], x[:, :, r, :])
            columns = skewed.dimshuffle(3, 0, 2, 1)  # (column, batch, row, channel)

            def step(x_col, h_prev):
                above = T.concatenate([T.zeros_like(h_prev[:, :1]), h_prev[:, :-1]], axis=1)
                return T.tanh(T.dot(x_col, self.W_is) + T.dot(h_prev, self.W_ss[0]) + T.dot(above, self.W_ss[1]))

            h0 = T.zeros((x.shape[0], rows, self.num_units))
            hs, _ = theano.scan(step, sequences=columns, outputs_info=h0)  # (column, batch, row, units)
            out = hs.dimshuffle(1, 3, 2, 0)  # (batch, units, row, column)
            return T.stack([out[:, :, r, r:r + cols] for r in range(rows)], axis=2)

    return DiagonalRNN(_input((2, 2, 3, 4)), 3, name="diagonal")


@case({"input": (2, 4, 3)}, tags=TRACED)
def scan_unrolled_with_lasagne_utils():
    """``lasagne.utils.unroll_scan`` (what ``unroll_scan=True`` runs): the step traced as a Python loop,
    backwards; no Scan in either front end's graph."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import Layer

    class UnrolledRNN(Layer):
        def __init__(self, incoming, num_units, **kwargs):
            super(UnrolledRNN, self).__init__(incoming, **kwargs)
            self.num_units = num_units
            self.W = self.add_param(lasagne.init.Normal(0.5), (self.input_shape[2], num_units), name="W")
            self.U = self.add_param(lasagne.init.Normal(0.5), (num_units, num_units), name="U")

        def get_output_shape_for(self, input_shape):
            return input_shape[0], input_shape[1], self.num_units

        def get_output_for(self, x, **kwargs):
            def step(x_t, h_prev, U):
                return T.tanh(T.dot(x_t, self.W) + T.dot(h_prev, U))

            h0 = T.zeros((x.shape[0], self.num_units))
            (hs,) = lasagne.utils.unroll_scan(step, [x.dimshuffle(1, 0, 2)], [h0], [self.U],
                                              self.input_shape[1], go_backwards=True)
            return hs.dimshuffle(1, 0, 2)

    return UnrolledRNN(_input((2, 4, 3)), 3, name="unrolled")
