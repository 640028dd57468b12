"""Sizes the network computes (issue 17): a ReshapeLayer given sizes read from the input variable
(``input_var.shape[0]``, ``T.shape(x)[i]``, ``l_in.input_var.shape``) and their arithmetic, as
sequence models fold time into the batch for a DenseLayer and unfold it after.  The layer is traced:
its sizes become ONNX shape arithmetic on the network's actual input, so the batch stays symbolic.
The references feed a batch (3) and a length (5) that appear nowhere in the code: a size baked in at
export would fail the comparison.
"""
from . import case

TRACED = ("traced",)


@case({"input": (3, 5, 4)}, tags=TRACED)
def reshape_symbolic_batch_times_time():
    """``batch_size, seq_len = input_var.shape[0], input_var.shape[1]``; fold time into the batch for a
    DenseLayer, unfold it after: ``(batch_size * seq_len, n)`` then ``(batch_size, seq_len, k)``."""
    import lasagne
    import theano.tensor as T
    from lasagne.layers import DenseLayer, InputLayer, ReshapeLayer

    input_var = T.tensor3("inputs")
    l_in = InputLayer((None, None, 4), input_var=input_var, name="input")
    batch_size, seq_len = input_var.shape[0], input_var.shape[1]
    l = ReshapeLayer(l_in, (batch_size * seq_len, 4), name="fold")
    l = DenseLayer(l, 6, nonlinearity=lasagne.nonlinearities.tanh, name="dense")
    return ReshapeLayer(l, (batch_size, seq_len, 6), name="unfold")


@case({"input": (3, 5, 4)}, tags=TRACED)
def reshape_symbolic_size_arithmetic():
    """Sizes from ``l_in.input_var.shape`` and ``T.shape(x)[i]`` combined with ``+``, ``*`` and ``//``,
    on a layer that is not the input layer."""
    import theano.tensor as T
    from lasagne.layers import DenseLayer, InputLayer, ReshapeLayer

    l_in = InputLayer((None, 5, 4), name="input")
    n = l_in.input_var.shape[0]
    t = T.shape(l_in.input_var)[1]
    l = ReshapeLayer(l_in, (n * t, 4), name="fold")
    l = DenseLayer(l, 6, name="dense")  # (n * t, 6)
    l = ReshapeLayer(l, (n, (t + 1) * 6 // 2 - 3, 2), name="pairs")  # (n, t * 3, 2)
    return ReshapeLayer(l, (n, [1], 2), name="copy_ref")


@case({"input": (3, 5, 4)}, tags=TRACED)
def tile_symbolic_repeats():
    """A seq2seq "repeat vector" layer: a (batch, units) summary tiled over the time axis of a sequence whose
    length is known only when the network runs, ``T.tile(h.dimshuffle(0, 'x', 1), (1, seq.shape[1], 1))``."""
    import theano.tensor as T
    from lasagne.layers import ConcatLayer, DenseLayer, ExpressionLayer, InputLayer, MergeLayer

    class RepeatOverTime(MergeLayer):
        def get_output_shape_for(self, input_shapes):
            (batch, units), (_, steps, _) = input_shapes
            return batch, steps, units

        def get_output_for(self, inputs, **kwargs):
            h, seq = inputs
            return T.tile(h.dimshuffle(0, "x", 1), (1, seq.shape[1], 1))

    l_in = InputLayer((None, None, 4), name="input")
    total = ExpressionLayer(l_in, lambda x: x.sum(axis=1), output_shape=(None, 4), name="total")
    summary = DenseLayer(total, 3, name="summary")  # (batch, 3) of the whole sequence
    repeated = RepeatOverTime([summary, l_in], name="repeat")
    return ConcatLayer([l_in, repeated], axis=2, name="concat")
