"""A user's own layer class, for the cases that check it is refused (not a case module)."""


def _layer_base():
    from lasagne.layers import Layer

    return Layer


def Inverting(incoming):
    """``x . inverse(I)``: a custom layer whose op (``T.nlinalg.matrix_inverse``) neither front end traces."""
    base = _layer_base()

    class Inverting(base):
        def get_output_for(self, input, **kwargs):
            import theano.tensor as T

            return T.dot(input, T.nlinalg.matrix_inverse(T.eye(input.shape[1])))

    return Inverting(incoming)
