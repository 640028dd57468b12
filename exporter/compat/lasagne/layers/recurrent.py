"""``lasagne.layers.recurrent``: recurrent layers (shapes and parameters; running them needs Theano).

Parameter order is Lasagne's: LSTM adds W_in_to_g, W_hid_to_g, b_g per gate in the order
ingate, forgetgate, cell, outgate, then the peepholes W_cell_to_{ingate,forgetgate,outgate},
then cell_init and hid_init; GRU adds updategate, resetgate, hidden_update, then hid_init;
Custom/RecurrentLayer report hid_init, then input_to_hidden's and hidden_to_hidden's params.
"""
import numpy as np

from .. import init
from .. import nonlinearities
from . import helper
from .base import Layer, MergeLayer
from .dense import DenseLayer
from .input import InputLayer

__all__ = ["CustomRecurrentLayer", "RecurrentLayer", "Gate", "LSTMLayer", "GRULayer"]


def _check_scan_options(layer, unroll_scan, gradient_steps):
    if unroll_scan and gradient_steps != -1:
        raise ValueError("Gradient steps must be -1 when unroll_scan is true.")
    if unroll_scan and layer.input_shapes[0][1] is None:
        raise ValueError("Input sequence length cannot be specified as None when unroll_scan is True")


def _incomings(layer, incoming, mask_input, hid_init, cell_init=None):
    incomings = [incoming]
    layer.mask_incoming_index = -1
    layer.hid_init_incoming_index = -1
    if mask_input is not None:
        incomings.append(mask_input)
        layer.mask_incoming_index = len(incomings) - 1
    if isinstance(hid_init, Layer):
        incomings.append(hid_init)
        layer.hid_init_incoming_index = len(incomings) - 1
    if cell_init is not None:
        layer.cell_init_incoming_index = -1
        if isinstance(cell_init, Layer):
            incomings.append(cell_init)
            layer.cell_init_incoming_index = len(incomings) - 1
    return incomings


def _same_after_first(a, b):
    return all(s1 is None or s2 is None or s1 == s2 for s1, s2 in zip(a[1:], b[1:]))


class CustomRecurrentLayer(MergeLayer):
    """A recurrent layer built from two sub-networks: ``input_to_hidden`` and ``hidden_to_hidden``."""

    def __init__(self, incoming, input_to_hidden, hidden_to_hidden, nonlinearity=nonlinearities.rectify,
                 hid_init=init.Constant(0.), backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0,
                 unroll_scan=False, precompute_input=True, mask_input=None, only_return_final=False, **kwargs):
        incomings = _incomings(self, incoming, mask_input, hid_init)
        super(CustomRecurrentLayer, self).__init__(incomings, **kwargs)
        in_layers = [l for l in helper.get_all_layers(input_to_hidden) if isinstance(l, InputLayer)]
        if len(in_layers) != 1:
            raise ValueError("`input_to_hidden` must have exactly one InputLayer, but it has {}".format(len(in_layers)))
        hid_layers = [l for l in helper.get_all_layers(hidden_to_hidden) if isinstance(l, InputLayer)]
        if len(hid_layers) != 1:
            raise ValueError("`hidden_to_hidden` must have exactly one InputLayer, but it has {}"
                             .format(len(hid_layers)))
        self.input_to_hidden = input_to_hidden
        self.hidden_to_hidden = hidden_to_hidden
        self.learn_init = learn_init
        self.backwards = backwards
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        _check_scan_options(self, unroll_scan, gradient_steps)
        input_shape = self.input_shapes[0]
        i2h, h2h = input_to_hidden.output_shape, hidden_to_hidden.output_shape
        if (self.precompute_input and i2h[0] is not None and input_shape[0] is not None
                and input_shape[1] is not None and i2h[0] != input_shape[0] * input_shape[1]):
            raise ValueError("When precompute_input == True, input_to_hidden.output_shape[0] must equal "
                             "incoming.output_shape[0]*incoming.output_shape[1] (i.e. batch_size*sequence_length) "
                             "or be None but input_to_hidden.output_shape[0] = {} and incoming.output_shape[0]*"
                             "incoming.output_shape[1] = {}".format(i2h[0], input_shape[0] * input_shape[1]))
        if not self.precompute_input and i2h[0] is not None and h2h[0] is not None and i2h[0] != h2h[0]:
            raise ValueError("When precompute_input == False, input_to_hidden.output_shape[0] must equal "
                             "hidden_to_hidden.output_shape[0] but input_to_hidden.output_shape[0] = {} and "
                             "hidden_to_hidden.output_shape[0] = {}".format(i2h[0], h2h[0]))
        if not _same_after_first(i2h, h2h):
            raise ValueError("The output shape for input_to_hidden and hidden_to_hidden must be equal after the "
                             "first dimension, but input_to_hidden.output_shape={} and hidden_to_hidden."
                             "output_shape={}".format(i2h, h2h))
        if not _same_after_first(i2h, hid_layers[0].output_shape):
            raise ValueError("The output shape for input_to_hidden must be equal to the input shape of "
                             "hidden_to_hidden after the first dimension, but input_to_hidden.output_shape={} and "
                             "hidden_to_hidden:input_layer.shape={}".format(i2h, hid_layers[0].output_shape))
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        if isinstance(hid_init, Layer):
            self.hid_init = hid_init
        else:
            self.hid_init = self.add_param(hid_init, (1,) + tuple(h2h[1:]), name="hid_init", trainable=learn_init,
                                           regularizable=False)

    def get_params(self, **tags):
        params = super(CustomRecurrentLayer, self).get_params(**tags)
        params += helper.get_all_params(self.input_to_hidden, **tags)
        params += helper.get_all_params(self.hidden_to_hidden, **tags)
        return params

    def get_output_shape_for(self, input_shapes):
        input_shape = input_shapes[0]
        if self.only_return_final:
            return (input_shape[0],) + tuple(self.hidden_to_hidden.output_shape[1:])
        return (input_shape[0], input_shape[1]) + tuple(self.hidden_to_hidden.output_shape[1:])


class RecurrentLayer(CustomRecurrentLayer):
    """Vanilla RNN: DenseLayers input_to_hidden (W_in_to_hid, b) and hidden_to_hidden (W_hid_to_hid)."""

    def __init__(self, incoming, num_units, W_in_to_hid=init.Uniform(), W_hid_to_hid=init.Uniform(),
                 b=init.Constant(0.), nonlinearity=nonlinearities.rectify, hid_init=init.Constant(0.),
                 backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
                 precompute_input=True, mask_input=None, only_return_final=False, **kwargs):
        input_shape = incoming if isinstance(incoming, tuple) else incoming.output_shape
        if "name" in kwargs:
            basename = kwargs["name"] + "."
            layer_kwargs = dict((k, v) for k, v in kwargs.items() if k != "name")
        else:
            basename = ""
            layer_kwargs = kwargs
        in_to_hid = DenseLayer(InputLayer((None,) + tuple(input_shape[2:])), num_units, W=W_in_to_hid, b=b,
                               nonlinearity=None, name=basename + "input_to_hidden", **layer_kwargs)
        hid_to_hid = DenseLayer(InputLayer((None, num_units)), num_units, W=W_hid_to_hid, b=None, nonlinearity=None,
                                name=basename + "hidden_to_hidden", **layer_kwargs)
        self.W_in_to_hid = in_to_hid.W
        self.W_hid_to_hid = hid_to_hid.W
        self.b = in_to_hid.b
        super(RecurrentLayer, self).__init__(
            incoming, in_to_hid, hid_to_hid, nonlinearity=nonlinearity, hid_init=hid_init, backwards=backwards,
            learn_init=learn_init, gradient_steps=gradient_steps, grad_clipping=grad_clipping,
            unroll_scan=unroll_scan, precompute_input=precompute_input, mask_input=mask_input,
            only_return_final=only_return_final, **kwargs)


class Gate(object):
    """Parameter specs (and nonlinearity) of one LSTM/GRU gate."""

    def __init__(self, W_in=init.Normal(0.1), W_hid=init.Normal(0.1), W_cell=init.Normal(0.1), b=init.Constant(0.),
                 nonlinearity=nonlinearities.sigmoid):
        self.W_in = W_in
        self.W_hid = W_hid
        if W_cell is not None:
            self.W_cell = W_cell
        self.b = b
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity


def _add_gate_params(layer, gate, gate_name, num_inputs, num_units):
    return (layer.add_param(gate.W_in, (num_inputs, num_units), name="W_in_to_{}".format(gate_name)),
            layer.add_param(gate.W_hid, (num_units, num_units), name="W_hid_to_{}".format(gate_name)),
            layer.add_param(gate.b, (num_units,), name="b_{}".format(gate_name), regularizable=False),
            gate.nonlinearity)


class LSTMLayer(MergeLayer):
    """Long short-term memory layer over (batch, time, features...) inputs."""

    def __init__(self, incoming, num_units, ingate=Gate(), forgetgate=Gate(),
                 cell=Gate(W_cell=None, nonlinearity=nonlinearities.tanh), outgate=Gate(),
                 nonlinearity=nonlinearities.tanh, cell_init=init.Constant(0.), hid_init=init.Constant(0.),
                 backwards=False, learn_init=False, peepholes=True, gradient_steps=-1, grad_clipping=0,
                 unroll_scan=False, precompute_input=True, mask_input=None, only_return_final=False, **kwargs):
        incomings = _incomings(self, incoming, mask_input, hid_init, cell_init)
        super(LSTMLayer, self).__init__(incomings, **kwargs)
        self.nonlinearity = nonlinearities.identity if nonlinearity is None else nonlinearity
        self.learn_init = learn_init
        self.num_units = num_units
        self.backwards = backwards
        self.peepholes = peepholes
        self.gradient_steps = gradient_steps
        self.grad_clipping = grad_clipping
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        _check_scan_options(self, unroll_scan, gradient_steps)
        num_inputs = int(np.prod(self.input_shapes[0][2:]))
        (self.W_in_to_ingate, self.W_hid_to_ingate, self.b_ingate,
         self.nonlinearity_ingate) = _add_gate_params(self, ingate, "ingate", num_inputs, num_units)
        (self.W_in_to_forgetgate, self.W_hid_to_forgetgate, self.b_forgetgate,
         self.nonlinearity_forgetgate) = _add_gate_params(self, forgetgate, "forgetgate", num_inputs, num_units)
        (self.W_in_to_cell, self.W_hid_to_cell, self.b_cell,
         self.nonlinearity_cell) = _add_gate_params(self, cell, "cell", num_inputs, num_units)
        (self.W_in_to_outgate, self.W_hid_to_outgate, self.b_outgate,
         self.nonlinearity_outgate) = _add_gate_params(self, outgate, "outgate", num_inputs, num_units)
        if self.peepholes:
            self.W_cell_to_ingate = self.add_param(ingate.W_cell, (num_units,), name="W_cell_to_ingate")
            self.W_cell_to_forgetgate = self.add_param(forgetgate.W_cell, (num_units,), name="W_cell_to_forgetgate")
            self.W_cell_to_outgate = self.add_param(outgate.W_cell, (num_units,), name="W_cell_to_outgate")
        if isinstance(cell_init, Layer):
            self.cell_init = cell_init
        else:
            self.cell_init = self.add_param(cell_init, (1, num_units), name="cell_init", trainable=learn_init,
                                            regularizable=False)
        if isinstance(hid_init, Layer):
            self.hid_init = hid_init
        else:
            self.hid_init = self.add_param(hid_init, (1, num_units), name="hid_init", trainable=learn_init,
                                           regularizable=False)

    def get_output_shape_for(self, input_shapes):
        input_shape = input_shapes[0]
        if self.only_return_final:
            return (input_shape[0], self.num_units)
        return (input_shape[0], input_shape[1], self.num_units)


class GRULayer(MergeLayer):
    """Gated recurrent unit layer over (batch, time, features...) inputs."""

    def __init__(self, incoming, num_units, resetgate=Gate(W_cell=None), updategate=Gate(W_cell=None),
                 hidden_update=Gate(W_cell=None, nonlinearity=nonlinearities.tanh), hid_init=init.Constant(0.),
                 backwards=False, learn_init=False, gradient_steps=-1, grad_clipping=0, unroll_scan=False,
                 precompute_input=True, mask_input=None, only_return_final=False, **kwargs):
        incomings = _incomings(self, incoming, mask_input, hid_init)
        super(GRULayer, self).__init__(incomings, **kwargs)
        self.learn_init = learn_init
        self.num_units = num_units
        self.grad_clipping = grad_clipping
        self.backwards = backwards
        self.gradient_steps = gradient_steps
        self.unroll_scan = unroll_scan
        self.precompute_input = precompute_input
        self.only_return_final = only_return_final
        _check_scan_options(self, unroll_scan, gradient_steps)
        num_inputs = int(np.prod(self.input_shapes[0][2:]))
        (self.W_in_to_updategate, self.W_hid_to_updategate, self.b_updategate,
         self.nonlinearity_updategate) = _add_gate_params(self, updategate, "updategate", num_inputs, num_units)
        (self.W_in_to_resetgate, self.W_hid_to_resetgate, self.b_resetgate,
         self.nonlinearity_resetgate) = _add_gate_params(self, resetgate, "resetgate", num_inputs, num_units)
        (self.W_in_to_hidden_update, self.W_hid_to_hidden_update, self.b_hidden_update,
         self.nonlinearity_hid) = _add_gate_params(self, hidden_update, "hidden_update", num_inputs, num_units)
        if isinstance(hid_init, Layer):
            self.hid_init = hid_init
        else:
            self.hid_init = self.add_param(hid_init, (1, num_units), name="hid_init", trainable=learn_init,
                                           regularizable=False)

    def get_output_shape_for(self, input_shapes):
        input_shape = input_shapes[0]
        if self.only_return_final:
            return (input_shape[0], self.num_units)
        return (input_shape[0], input_shape[1], self.num_units)
