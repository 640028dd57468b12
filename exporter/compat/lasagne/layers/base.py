"""``lasagne.layers.base``: Layer and MergeLayer.

``get_output_for`` works while tracing (see ``lasagne._symbolic``): the layer classes whose output
the tracer models compute it with the stand-in's Theano ops, as Lasagne 0.2 does; the others give
a lazy value (fine for training code, refused where an exported layer depends on it).
"""
import functools
from collections import OrderedDict

from .. import utils
from .._shared import is_tracing, require_theano
from .._symbolic.graph import _LazyUse, make_node


def symbolic(method):
    """Mark a compat layer's ``get_output_for``: it runs while tracing and refuses otherwise."""

    @functools.wraps(method)
    def get_output_for(self, *args, **kwargs):
        if not is_tracing():
            require_theano("%s.get_output_for" % type(self).__name__)
        try:
            return method(self, *args, **kwargs)
        except _LazyUse as e:  # an input is a lazy value: so is the output
            return e.lazy

    return get_output_for


def untraced_output(layer, abstract=(), message=None):
    """The output of a Lasagne layer whose computation the tracer does not model: a lazy variable
    of the layer's output type.  A user's class that does not override get_output_for raises, as
    Lasagne's base class does."""
    if not is_tracing():
        require_theano("%s.get_output_for" % type(layer).__name__)
    lasagne_cls = next(c for c in type(layer).__mro__ if (c.__module__ or "").startswith("lasagne."))
    if lasagne_cls in (Layer, MergeLayer) + tuple(abstract):  # as Lasagne's base classes do
        raise NotImplementedError(message or "%s does not implement get_output_for" % type(layer).__name__)
    cls = lasagne_cls
    shape = layer.output_shape
    reason = ("lasagne2onnx's tracer does not model the output of Lasagne's %s (it has a converter of its own "
              "when it is not traced)" % cls.__name__)
    return make_node("lasagne.layers.%s" % cls.__name__, [], {"reason": reason}, broadcastable=[False] * len(shape),
                     shape=shape, kind="lazy")

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
        return untraced_output(self)

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
        return untraced_output(self)
