"""``lasagne.layers.input``: InputLayer."""
from collections import OrderedDict

from .._shared import SymbolicVariable
from ..utils import float_x
from .base import Layer

__all__ = ["InputLayer"]


class InputLayer(Layer):
    """A network input of the given ``shape`` (``None`` for variable dimensions)."""

    def __init__(self, shape, input_var=None, name=None, **kwargs):
        self.shape = tuple(shape)
        if any(d is not None and d <= 0 for d in self.shape):
            raise ValueError("Cannot create InputLayer with a non-positive shape dimension. shape=%r, self.name=%r"
                             % (self.shape, name))
        ndim = len(self.shape)
        if input_var is None:
            var_name = "%s.input" % name if name is not None else "input"
            input_var = SymbolicVariable(var_name, dtype=float_x(), broadcastable=[s == 1 for s in self.shape],
                                         shape=self.shape)
        elif getattr(input_var, "ndim", ndim) != ndim:
            raise ValueError("shape has %d dimensions, but variable has %d" % (ndim, input_var.ndim))
        self.input_var = input_var
        self.name = name
        self.params = OrderedDict()

    @Layer.output_shape.getter
    def output_shape(self):
        return self.shape
