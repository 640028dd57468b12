"""``lasagne.layers.base``: Layer and MergeLayer."""
from collections import OrderedDict

from .. import utils
from .._shared import require_theano

__all__ = ["Layer", "MergeLayer"]


class Layer(object):
    """Base class of single-input layers.

    ``incoming`` is a layer or a shape tuple.  ``params`` maps each parameter to its set of tags,
    in the order the layer added them (the order ``get_all_params`` reports them in).
    """

    def __init__(self, incoming, name=None):
        if isinstance(incoming, tuple):
            self.input_shape = incoming
            self.input_layer = None
        else:
            if not hasattr(incoming, "output_shape"):
                raise TypeError("%s(name=%r): incoming must be a Lasagne layer or a shape tuple, got %s"
                                % (type(self).__name__, name, type(incoming).__name__))
            self.input_shape = incoming.output_shape
            self.input_layer = incoming
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []
        if any(d is not None and d <= 0 for d in self.input_shape):
            raise ValueError(
                "Cannot create Layer with a non-positive input_shape dimension. input_shape=%r, self.name=%r"
                % (self.input_shape, self.name))

    @property
    def output_shape(self):
        return self.get_output_shape_for(self.input_shape)

    def get_params(self, unwrap_shared=True, **tags):
        """Parameters of this layer, optionally filtered by tags (``trainable=True`` ...)."""
        result = list(self.params.keys())
        only = set(tag for tag, value in tags.items() if value)
        if only:
            result = [param for param in result if not (only - self.params[param])]
        exclude = set(tag for tag, value in tags.items() if not value)
        if exclude:
            result = [param for param in result if not (self.params[param] & exclude)]
        if unwrap_shared:
            return utils.collect_shared_vars(result)
        return result

    def get_output_shape_for(self, input_shape):
        return input_shape

    def get_output_for(self, input, **kwargs):
        require_theano("%s.get_output_for" % type(self).__name__)

    def add_param(self, spec, shape, name=None, **tags):
        """Create a parameter from ``spec`` (see ``lasagne.utils.create_param``) and register it.

        A named layer prefixes the parameter name with its own: ``'<layer name>.<name>'``.
        """
        if name is not None and self.name is not None:
            name = "%s.%s" % (self.name, name)
        param = utils.create_param(spec, shape, name)
        tags["trainable"] = tags.get("trainable", True)
        tags["regularizable"] = tags.get("regularizable", True)
        self.params[param] = set(tag for tag, value in tags.items() if value)
        return param


class MergeLayer(Layer):
    """Base class of layers with several inputs (``incomings``: layers or shape tuples)."""

    def __init__(self, incomings, name=None):
        incomings = list(incomings)
        for incoming in incomings:
            if not isinstance(incoming, tuple) and not hasattr(incoming, "output_shape"):
                raise TypeError("%s(name=%r): incomings must be Lasagne layers or shape tuples, got %s"
                                % (type(self).__name__, name, type(incoming).__name__))
        self.input_shapes = [incoming if isinstance(incoming, tuple) else incoming.output_shape
                             for incoming in incomings]
        self.input_layers = [None if isinstance(incoming, tuple) else incoming for incoming in incomings]
        self.name = name
        self.params = OrderedDict()
        self.get_output_kwargs = []

    @Layer.output_shape.getter
    def output_shape(self):
        return self.get_output_shape_for(self.input_shapes)

    def get_output_shape_for(self, input_shapes):
        raise NotImplementedError

    def get_output_for(self, inputs, **kwargs):
        require_theano("%s.get_output_for" % type(self).__name__)
