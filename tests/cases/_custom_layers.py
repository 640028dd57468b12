"""A user's own layer class, for the cases that check it is refused (not a case module)."""


def _layer_base():
    from lasagne.layers import Layer

    return Layer



def Doubling(incoming):
    """``2 * x``: a custom layer the exporter has no converter for."""
    base = _layer_base()

    class Doubling(base):
        def get_output_for(self, input, **kwargs):
            return 2 * input

    return Doubling(incoming)
