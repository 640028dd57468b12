"""``lasagne.layers.helper``: walking a network, its shapes and its parameters."""
from collections import deque
from itertools import chain

import numpy as np

from .. import utils
from .._shared import is_tracing, require_theano

__all__ = ["get_all_layers", "get_output", "get_output_shape", "get_all_params", "count_params",
           "get_all_param_values", "set_all_param_values"]


def get_all_layers(layer, treat_as_input=None):
    """All layers leading to ``layer`` (a layer or a list of layers) in topological order.

    Depth-first, inputs before the layers that consume them, a merge layer's inputs in list order;
    the same walk as Lasagne's, so the resulting order (and ``get_all_params``') is identical.
    """
    try:
        queue = deque(layer)
    except TypeError:
        queue = deque([layer])
    seen, done, result = set(), set(), []
    if treat_as_input is not None:
        seen.update(treat_as_input)
    while queue:
        current = queue[0]
        if current is None:
            queue.popleft()  # an input given as a shape tuple
        elif current not in seen:
            seen.add(current)  # first visit: push its inputs in front of it
            if hasattr(current, "input_layers"):
                queue.extendleft(reversed(current.input_layers))
            elif hasattr(current, "input_layer"):
                queue.appendleft(current.input_layer)
        else:
            queue.popleft()  # second visit: its inputs are done
            if current not in done:
                result.append(current)
                done.add(current)
    return result


def get_output(layer_or_layers, inputs=None, **kwargs):
    """Lasagne's ``get_output``, while tracing: each layer's ``get_output_for`` applied to its inputs'
    expressions, in topological order (``inputs``: a variable for the only input layer, or a dict
    from layers to variables).  Outside tracing it needs Theano."""
    from .base import MergeLayer
    from .input import InputLayer

    if not is_tracing():
        require_theano("lasagne.layers.get_output")
    accepted_kwargs = {"deterministic"}
    treat_as_input = inputs.keys() if isinstance(inputs, dict) else []
    all_layers = get_all_layers(layer_or_layers, treat_as_input)
    all_outputs = dict((layer, layer.input_var) for layer in all_layers
                       if isinstance(layer, InputLayer) and layer not in treat_as_input)
    if isinstance(inputs, dict):
        all_outputs.update((layer, utils.as_theano_expression(expr)) for layer, expr in inputs.items())
    elif inputs is not None:
        if len(all_outputs) > 1:
            raise ValueError("get_output() was called with a single input expression on a network with multiple "
                             "input layers. Please call it with a dictionary of input expressions instead.")
        for input_layer in all_outputs:
            all_outputs[input_layer] = utils.as_theano_expression(inputs)
    for layer in all_layers:
        if layer not in all_outputs:
            try:
                if isinstance(layer, MergeLayer):
                    layer_inputs = [all_outputs[input_layer] for input_layer in layer.input_layers]
                else:
                    layer_inputs = all_outputs[layer.input_layer]
            except KeyError:
                raise ValueError("get_output() was called without giving an input expression for the free-floating "
                                 "layer %r. Please call it with a dictionary mapping this layer to an input "
                                 "expression." % layer)
            all_outputs[layer] = layer.get_output_for(layer_inputs, **kwargs)
            try:
                accepted_kwargs |= set(utils.inspect_kwargs(layer.get_output_for))
            except (TypeError, ValueError):
                pass
            accepted_kwargs |= set(getattr(layer, "get_output_kwargs", []))
    unused_kwargs = set(kwargs.keys()) - accepted_kwargs
    if unused_kwargs:
        import warnings

        suggestions = []
        for kwarg in unused_kwargs:
            import difflib

            suggestion = difflib.get_close_matches(kwarg, accepted_kwargs)
            if suggestion:
                suggestions.append("%s (perhaps you meant %s)" % (kwarg, suggestion[0]))
            else:
                suggestions.append(kwarg)
        warnings.warn("get_output() was called with unused kwargs:\n\t%s" % "\n\t".join(suggestions))
    try:
        return [all_outputs[layer] for layer in layer_or_layers]
    except TypeError:
        return all_outputs[layer_or_layers]


def get_output_shape(layer_or_layers, input_shapes=None):
    """Output shape(s) of the given layer(s), optionally for other input shapes."""
    from .base import MergeLayer
    from .input import InputLayer

    if input_shapes is None or input_shapes == {}:
        try:
            return [layer.output_shape for layer in layer_or_layers]
        except TypeError:
            return layer_or_layers.output_shape
    treat_as_input = input_shapes.keys() if isinstance(input_shapes, dict) else []
    all_layers = get_all_layers(layer_or_layers, treat_as_input)
    all_shapes = dict((layer, layer.shape) for layer in all_layers
                      if isinstance(layer, InputLayer) and layer not in treat_as_input)
    if isinstance(input_shapes, dict):
        all_shapes.update(input_shapes)
    elif input_shapes is not None:
        if len(all_shapes) > 1:
            raise ValueError("get_output_shape() was called with a single input shape on a network with "
                             "multiple input layers. Please call it with a dictionary of input shapes instead.")
        for input_layer in all_shapes:
            all_shapes[input_layer] = input_shapes
    for layer in all_layers:
        if layer not in all_shapes:
            if isinstance(layer, MergeLayer):
                shapes = [all_shapes[input_layer] for input_layer in layer.input_layers]
            else:
                shapes = all_shapes[layer.input_layer]
            all_shapes[layer] = layer.get_output_shape_for(shapes)
    try:
        return [all_shapes[layer] for layer in layer_or_layers]
    except TypeError:
        return all_shapes[layer_or_layers]


def get_all_params(layer, unwrap_shared=True, **tags):
    """Parameters of all layers leading to ``layer``: layers in ``get_all_layers`` order, each
    layer's parameters in the order it added them, shared parameters once."""
    layers = get_all_layers(layer)
    params = chain.from_iterable(l.get_params(unwrap_shared=unwrap_shared, **tags) for l in layers)
    return utils.unique(params)


def count_params(layer, **tags):
    params = get_all_params(layer, **tags)
    shapes = [p.get_value().shape for p in params]
    counts = [np.prod(shape) for shape in shapes]
    return sum(counts)


def get_all_param_values(layer, **tags):
    """Values (numpy arrays) of ``get_all_params(layer, **tags)``."""
    params = get_all_params(layer, **tags)
    return [p.get_value() for p in params]


def set_all_param_values(layer, values, **tags):
    """Set ``get_all_params(layer, **tags)`` from a list of arrays (the same order)."""
    params = get_all_params(layer, **tags)
    if len(params) != len(values):
        raise ValueError("mismatch: got %d values to set %d parameters" % (len(values), len(params)))
    for p, v in zip(params, values):
        if p.get_value().shape != v.shape:
            raise ValueError("mismatch: parameter has shape %r but value to set has shape %r"
                             % (p.get_value().shape, v.shape))
        p.set_value(v)
