"""EmbeddingLayer: integer inputs (int32, int64, int8), negative indices (Theano counts them from the
end), a shared embedding matrix, and the refusal of float indices."""
from . import case

VOCAB, DIM = 11, 4


@case({"words": (3, 5)}, int_inputs={"words": ("int32", -VOCAB, VOCAB)})
def embedding_int32_negative_indices():
    import theano.tensor as T
    from lasagne.layers import DenseLayer, EmbeddingLayer, InputLayer

    l = InputLayer((None, 5), input_var=T.imatrix("words"), name="words")
    l = EmbeddingLayer(l, VOCAB, DIM, name="embed")
    return DenseLayer(l, 3, name="dense")


@case({"ids": (2, 3, 2)}, int_inputs={"ids": ("int64", 0, VOCAB)})
def embedding_int64_3d():
    import theano.tensor as T
    from lasagne.layers import EmbeddingLayer, InputLayer

    l = InputLayer((None, 3, 2), input_var=T.ltensor3("ids"), name="ids")
    return EmbeddingLayer(l, VOCAB, DIM, name="embed")


@case({"chars": (4, 6)}, int_inputs={"chars": ("int8", -7, 7)})
def embedding_int8_cast():
    import theano.tensor as T
    from lasagne.layers import EmbeddingLayer, InputLayer

    l = InputLayer((None, 6), input_var=T.bmatrix("chars"), name="chars")
    return EmbeddingLayer(l, 7, 3, name="embed")


@case({"left": (2, 4), "right": (2, 4)}, int_inputs={"left": ("int32", 0, VOCAB), "right": ("int32", 0, VOCAB)})
def embedding_shared_weights_two_inputs():
    import theano.tensor as T
    from lasagne.layers import ConcatLayer, EmbeddingLayer, InputLayer

    left = InputLayer((None, 4), input_var=T.imatrix("left"), name="left")
    right = InputLayer((None, 4), input_var=T.imatrix("right"), name="right")
    a = EmbeddingLayer(left, VOCAB, DIM, name="embed_left")
    b = EmbeddingLayer(right, VOCAB, DIM, W=a.W, name="embed_right")
    return ConcatLayer([a, b], axis=2, name="both")


@case({"input": (2, 5)}, expect_error="EmbeddingLayer needs integer indices")
def embedding_float_input_refused():
    from lasagne.layers import EmbeddingLayer, InputLayer

    return EmbeddingLayer(InputLayer((None, 5), name="input"), VOCAB, DIM, name="embed")
