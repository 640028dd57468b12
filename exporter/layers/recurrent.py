"""Recurrent layers: LSTMLayer, GRULayer and RecurrentLayer (CustomRecurrentLayer: custom_recurrent.py).

Lasagne's input is ``(batch, time, features...)`` (trailing feature axes flattened), its output
``(batch, time, units)`` (``(batch, units)`` with 0.2's ``only_return_final``), in input order even
for ``backwards=True`` (Lasagne scans the reversed sequence and reverses the result back).  The
initial states ``hid_init`` / ``cell_init`` are ``(1, units)`` parameters broadcast over the batch, or
(Lasagne 0.2) layers, one more incoming each, whose ``(batch, units)`` output is the initial state of each
sequence (a decoder starting from an encoder's final state): ``attrs["init_inputs"]`` gives their positions
among the layer's inputs.

Two exact lowerings:

* ONNX ``LSTM`` / ``GRU`` / ``RNN`` (opset 7+ semantics) where they compute Lasagne's formula:
  no mask, gate nonlinearities ONNX can name (sigmoid, tanh, rectify), the LSTM's input, forget and
  output gates sharing one, and for peepholes the 0.2 formula (below).  GRU: Lasagne's
  ``h = (1-u) h' + u c`` with ``c = tanh(x W_xc + b_c + r (h' W_hc))`` is ONNX's
  ``linear_before_reset=1`` with ``z = 1 - u = sigmoid(-(...))``: the update gate's weights and bias
  are negated.
* otherwise an ONNX ``Scan`` whose body is Lasagne's step function, node for node: masks
  (``h = h_new * m + h_prev * (1 - m)``, any mask values, padded steps carrying the state as
  Lasagne does), Lasagne 0.1's LSTM output gate, linear/other gate nonlinearities.  The body holds
  its weights as Constant nodes, so it depends on nothing of the outer graph but its inputs.

Lasagne 0.1's LSTMLayer applies the output gate's nonlinearity *before* adding the peephole
(``o = sigmoid(a_o) + c_t * w_co``; fixed in Lasagne PR #449, October 2015, after 0.1): the capture
reads which formula the layer's own ``get_output_for`` computes.  The Theano-free API cannot know
which Lasagne trained the weights, so a peephole LSTM built on it is refused unless the user
declares it (``--lstm-peepholes 0.1|0.2``: the capture option ``lstm_peepholes``).
"""
import inspect

import numpy as np

from ..registry import attrs_schema, capture_rule, converter
from ..schema import BOOL, NONLINEARITY, NON_NEGATIVE, POSITIVE, obj, product, shape_problem
from .nonlinearity import _SIMPLE

LSTM_GATES = ("ingate", "forgetgate", "cell", "outgate")  # Lasagne's stacking order
GRU_GATES = ("resetgate", "updategate", "hidden_update")  # Lasagne's stacking order (W_*_stacked)
_LSTM_PARAMS = tuple(f"{w}_{g}" for g in LSTM_GATES for w in ("W_in_to", "W_hid_to")) + tuple(
    f"b_{g}" for g in LSTM_GATES) + ("W_cell_to_ingate", "W_cell_to_forgetgate", "W_cell_to_outgate",
                                     "cell_init", "hid_init")
_GRU_PARAMS = tuple(f"{w}_{g}" for g in GRU_GATES for w in ("W_in_to", "W_hid_to")) + tuple(
    f"b_{g}" for g in GRU_GATES) + ("hid_init",)
_RNN_PARAMS = ("hid_init", "W_in_to_hid", "b", "W_hid_to_hid")
_NATIVE_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "rectify": "Relu"}


# -- capture ------------------------------------------------------------------------------------------
def _capture_common(layer, ctx, inits):
    in_shape = ctx.input_shapes[0]
    if len(in_shape) < 3:
        raise ctx.unsupported(f"input of shape {in_shape}: recurrent layers need (batch, time, features...)")
    params = layer.get_params()
    init_inputs = {}  # Lasagne 0.2: an initial state given as a layer is one more incoming
    for role in inits:
        index = getattr(layer, f"{role}_incoming_index", -1)
        if isinstance(index, int) and index > 0:
            init_inputs[role] = index
            continue
        v = getattr(layer, role, None)
        if not any(p is v for p in params):
            raise ctx.unsupported(f"{role} given as a Theano expression (only a parameter array of shape "
                                  f"(1, num_units) or a layer of output shape (batch, num_units) is supported)")
    n_in = len(ctx.input_shapes)
    mask_index = getattr(layer, "mask_incoming_index", 1 if n_in > 1 + len(init_inputs) else -1)
    if n_in != (2 if mask_index > 0 else 1) + len(init_inputs) or sorted(init_inputs.values()) != list(
            range(n_in - len(init_inputs), n_in)):
        raise ctx.unsupported(f"{n_in} incoming layers; only the input, a mask and the initial states are supported")
    if mask_index > 0 and len(ctx.input_shapes[mask_index]) != 2:
        raise ctx.unsupported(f"mask of shape {ctx.input_shapes[mask_index]}: a (batch, time) mask is needed")
    units = int(layer.output_shape[-1])
    for role, index in init_inputs.items():
        shape = tuple(ctx.input_shapes[index])
        if len(shape) != 2 or shape[1] not in (None, units):
            raise ctx.unsupported(f"{role} given as a layer of output shape {shape}: (batch, {units}) is needed")
    attrs = {
        "num_units": units,
        "backwards": bool(layer.backwards),
        "only_return_final": bool(getattr(layer, "only_return_final", False)),
        "mask": mask_index > 0,
    }
    if init_inputs:
        attrs["init_inputs"] = init_inputs
    return attrs


@capture_rule("LSTM", "LSTMLayer", params=_LSTM_PARAMS)
def capture_lstm(layer, ctx):
    attrs = _capture_common(layer, ctx, ("cell_init", "hid_init"))
    step = (None, attrs["num_units"])  # what a gate's nonlinearity is applied to (a traced one is traced on it)
    attrs["gate_nonlinearities"] = {g: ctx.nonlinearity(getattr(layer, f"nonlinearity_{g}"), step) for g in LSTM_GATES}
    attrs["hid_nonlinearity"] = ctx.nonlinearity(layer.nonlinearity, step)
    attrs["peepholes"] = bool(layer.peepholes)
    if attrs["peepholes"]:
        attrs["outgate_peephole"] = _outgate_formula(layer, ctx)
    return attrs


def _outgate_formula(layer, ctx) -> str:
    """``"lasagne-0.1"``: ``o = nl(a_o) + c_t w_co``; ``"lasagne-0.2"``: ``o = nl(a_o + c_t w_co)``."""
    for cls in type(layer).__mro__:  # the class whose get_output_for holds the step (a subclass may wrap it)
        try:
            src = inspect.getsource(vars(cls)["get_output_for"])
        except (KeyError, OSError, TypeError):
            continue
        applied = src.find("outgate = self.nonlinearity_outgate(outgate)")
        peephole = src.find("outgate += cell*")
        if applied >= 0 and peephole >= 0:
            return "lasagne-0.1" if applied < peephole else "lasagne-0.2"
    declared = ctx.options.get("lstm_peepholes")
    if declared in ("0.1", "0.2"):
        return f"lasagne-{declared}"
    raise ctx.unsupported(
        "an LSTM with peepholes=True computes a different output gate in Lasagne 0.1 (nonlinearity(a_o) + c*w_co) "
        "than in Lasagne 0.2.dev (nonlinearity(a_o + c*w_co)), and this Lasagne's code does not say which one "
        "trained the weights: pass --lstm-peepholes 0.1 (PyPI's Lasagne 0.1) or 0.2 (Lasagne from GitHub after "
        "October 2015; in the API lstm_peepholes=\"0.2\"), or capture the network with your real Lasagne (python -m "
        "exporter capture)")


@capture_rule("GRU", "GRULayer", params=_GRU_PARAMS)
def capture_gru(layer, ctx):
    attrs = _capture_common(layer, ctx, ("hid_init",))
    step = (None, attrs["num_units"])
    attrs["gate_nonlinearities"] = {
        "resetgate": ctx.nonlinearity(layer.nonlinearity_resetgate, step),
        "updategate": ctx.nonlinearity(layer.nonlinearity_updategate, step),
        "hidden_update": ctx.nonlinearity(layer.nonlinearity_hid, step),
    }
    return attrs


@capture_rule("RNN", "RecurrentLayer", params=_RNN_PARAMS)
def capture_rnn(layer, ctx):
    attrs = _capture_common(layer, ctx, ("hid_init",))
    i2h, h2h = layer.input_to_hidden, layer.hidden_to_hidden
    ok = (type(i2h).__name__ == "DenseLayer" and type(h2h).__name__ == "DenseLayer"
          and i2h.W is layer.W_in_to_hid and h2h.W is layer.W_hid_to_hid and i2h.b is layer.b
          and getattr(h2h, "b", None) is None
          and all(ctx.nonlinearity(d.nonlinearity)["name"] == "linear" for d in (i2h, h2h)))
    if not ok:
        raise ctx.unsupported("RecurrentLayer whose input_to_hidden / hidden_to_hidden are not the DenseLayers "
                              "it builds itself")
    attrs["hid_nonlinearity"] = ctx.nonlinearity(layer.nonlinearity, (None, attrs["num_units"]))
    return attrs


# -- what a manifest may hold --------------------------------------------------------------------------
_COMMON = {"num_units": POSITIVE, "backwards": BOOL, "only_return_final": BOOL, "mask": BOOL,
           "init_inputs": obj({"hid_init": NON_NEGATIVE, "cell_init": NON_NEGATIVE}, optional=("hid_init", "cell_init"))}
_PEEPHOLES = ("W_cell_to_ingate", "W_cell_to_forgetgate", "W_cell_to_outgate")


def _check_recurrent(layer, gates, stacked):
    """Inputs (sequence, and the mask when ``mask``) and every parameter's shape against ``num_units``."""
    a, h = layer.attrs, layer.attrs["num_units"]
    inits = a.get("init_inputs", {})
    n_in = (2 if a["mask"] else 1) + len(inits)
    if len(layer.input_shapes) != n_in or sorted(inits.values()) != list(range(n_in - len(inits), n_in)):
        return (f"{len(layer.input_shapes)} inputs with mask={a['mask']} and init_inputs {inits} (the sequence, "
                f"then the mask when there is one, then the initial states given as layers)")
    for role, index in inits.items():
        if role in layer.param_shapes:
            return f"{role} is both a parameter and input {index}"
        shape = layer.input_shapes[index]
        if len(shape) != 2 or shape[1] not in (None, h):
            return f"{role} (input {index}) has shape {list(shape)}: (batch, {h}) is needed"
    for role in ("hid_init", "cell_init") if "peepholes" in a else ("hid_init",):
        if role not in inits and role not in layer.param_shapes:
            return f"no parameter {role!r} and no init_inputs entry for it"
    if layer.rank < 3:
        return f"an input of shape {list(layer.input_shape)}: recurrent layers need (batch, time, features...)"
    if a["mask"] and len(layer.input_shapes[1]) != 2:
        return f"a mask of shape {list(layer.input_shapes[1])}: a (batch, time) mask is needed"
    n_in = product(layer.input_shape[2:])
    shapes = {"hid_init": [1, h], "cell_init": [1, h]}
    for g in gates:
        roles = (f"W_in_to_{g}", f"W_hid_to_{g}", f"b_{g}") if stacked else ("W_in_to_hid", "W_hid_to_hid", "b")
        shapes.update(zip(roles, ([n_in, h], [h, h], [h])))
    shapes.update({role: [h] for role in _PEEPHOLES})
    return next(filter(None, (shape_problem(role, layer, shape, ("num_units",)) for role, shape in shapes.items())),
                None)


@attrs_schema("LSTM", {
    **obj({**_COMMON, "gate_nonlinearities": obj({g: NONLINEARITY for g in LSTM_GATES}),
           "hid_nonlinearity": NONLINEARITY, "peepholes": BOOL,
           "outgate_peephole": {"enum": ["lasagne-0.1", "lasagne-0.2"]}}, optional=("outgate_peephole", "init_inputs")),
    "if": {"properties": {"peepholes": {"const": True}}}, "then": {"required": ["outgate_peephole"]},
}, required_params=tuple(r for r in _LSTM_PARAMS if r not in _PEEPHOLES + ("cell_init", "hid_init")))
def check_lstm(layer):
    if "outgate_peephole" in layer.attrs and not layer.attrs["peepholes"]:
        return "'outgate_peephole' is only for peepholes=true"
    peepholes = [r for r in _PEEPHOLES if r in layer.param_shapes]
    if layer.attrs["peepholes"] and len(peepholes) != 3 or not layer.attrs["peepholes"] and peepholes:
        return f"peepholes={layer.attrs['peepholes']} with parameters {peepholes or 'none'} of {', '.join(_PEEPHOLES)}"
    return _check_recurrent(layer, LSTM_GATES, True)


@attrs_schema("GRU", obj({**_COMMON, "gate_nonlinearities": obj({g: NONLINEARITY for g in GRU_GATES})},
                         optional=("init_inputs",)), required_params=_GRU_PARAMS[:-1])
def check_gru(layer):
    return _check_recurrent(layer, GRU_GATES, True)


@attrs_schema("RNN", obj({**_COMMON, "hid_nonlinearity": NONLINEARITY}, optional=("init_inputs",)),
              required_params=tuple(r for r in _RNN_PARAMS if r not in ("b", "hid_init")))
def check_rnn(layer):
    return _check_recurrent(layer, ("hid",), False)


# -- lowering helpers -----------------------------------------------------------------------------------
def _w(g, spec, role):
    return np.asarray(g.weights[spec.param(role).key], dtype=np.float32)


def _sequence(spec, g):
    """The layer input as (time, batch, features)."""
    x = g.input(spec)
    if len(g.input_shape(spec)) > 3:
        x = g.node("Reshape", [x, g.ints(f"{spec.name}.shape3", [0, 0, -1])], spec.name)
    return g.node("Transpose", [x], spec.name, perm=[1, 0, 2])


def _initial_state(spec, g, role, seq, native):
    """``role`` (1, H) broadcast to the runtime batch: (1, B, H) for the ONNX ops, (B, H) for Scan; a
    layer's (B, H) output as it is."""
    if role in spec.attrs.get("init_inputs", {}):
        state = g.input(spec, spec.attrs["init_inputs"][role])
        return g.unsqueeze(state, [0], spec.name) if native else state
    h = spec.attrs["num_units"]
    init = g.param(spec, role, transform=(lambda a: a.reshape(1, 1, h)) if native else None)
    batch = g.node("Slice", [g.node("Shape", [seq], spec.name), g.ints(f"{spec.name}.one", [1]),
                             g.ints(f"{spec.name}.two", [2])], spec.name)
    dims = ([g.ints(f"{spec.name}.one", [1])] if native else []) + [batch, g.ints(f"{spec.name}.units", [h])]
    return g.node("Expand", [init, g.node("Concat", dims, spec.name, axis=0)], spec.name)


def _native_name(nl):
    return _NATIVE_ACTIVATIONS.get(nl["name"]) if set(nl) == {"name"} else None


def _finish_native(spec, g, y, y_h):
    """ONNX Y (T, 1, B, H) -> (B, T, H); Y_h (1, B, H) -> (B, H) for only_return_final."""
    if spec.attrs["only_return_final"]:
        return g.squeeze(y_h, [0], spec.name, output=g.out(spec))
    y = g.squeeze(y, [1], spec.name)
    return g.node("Transpose", [y], spec.name, output=g.out(spec), perm=[1, 0, 2])


def _direction(spec):
    return "reverse" if spec.attrs["backwards"] else "forward"


def _stack(arrays, axis):
    return np.ascontiguousarray(np.concatenate(arrays, axis=axis).astype(np.float32))


# -- native ONNX ops ---------------------------------------------------------------------------------------
def _lstm_native_ok(a):
    nl = a["gate_nonlinearities"]
    names = [_native_name(nl[g]) for g in LSTM_GATES] + [_native_name(a["hid_nonlinearity"])]
    return (not a["mask"] and None not in names and nl["ingate"] == nl["forgetgate"] == nl["outgate"]
            and (not a["peepholes"] or a["outgate_peephole"] == "lasagne-0.2"))


def _lower_lstm_native(spec, g, seq):
    a, h = spec.attrs, spec.attrs["num_units"]
    order = ("ingate", "outgate", "forgetgate", "cell")  # ONNX: i, o, f, c
    w = g.constant(f"{spec.name}.W", _stack([_w(g, spec, f"W_in_to_{k}").T for k in order], 0)[None])
    r = g.constant(f"{spec.name}.R", _stack([_w(g, spec, f"W_hid_to_{k}").T for k in order], 0)[None])
    b = g.constant(f"{spec.name}.B", _stack([_w(g, spec, f"b_{k}") for k in order] + [np.zeros(4 * h)], 0)[None])
    inputs = [seq, w, r, b, "", _initial_state(spec, g, "hid_init", seq, True),
              _initial_state(spec, g, "cell_init", seq, True)]
    if a["peepholes"]:  # ONNX P: i, o, f
        inputs.append(g.constant(f"{spec.name}.P", _stack(
            [_w(g, spec, f"W_cell_to_{k}") for k in ("ingate", "outgate", "forgetgate")], 0)[None]))
    nl = a["gate_nonlinearities"]
    acts = [_native_name(nl["ingate"]), _native_name(nl["cell"]), _native_name(a["hid_nonlinearity"])]
    y, y_h = g.node("LSTM", inputs, spec.name, n_outputs=2, hidden_size=h, direction=_direction(spec),
                    activations=acts)
    return _finish_native(spec, g, y, y_h)


def _gru_native_ok(a):
    nl = a["gate_nonlinearities"]
    return (not a["mask"] and nl["resetgate"]["name"] == nl["updategate"]["name"] == "sigmoid"
            and _native_name(nl["hidden_update"]) is not None)


def _lower_gru_native(spec, g, seq):
    h = spec.attrs["num_units"]
    sign = {"updategate": -1.0, "resetgate": 1.0, "hidden_update": 1.0}  # ONNX z = 1 - u = sigmoid(-a_u)
    order = ("updategate", "resetgate", "hidden_update")  # ONNX: z, r, h
    w = g.constant(f"{spec.name}.W", _stack([sign[k] * _w(g, spec, f"W_in_to_{k}").T for k in order], 0)[None])
    r = g.constant(f"{spec.name}.R", _stack([sign[k] * _w(g, spec, f"W_hid_to_{k}").T for k in order], 0)[None])
    b = g.constant(f"{spec.name}.B", _stack([sign[k] * _w(g, spec, f"b_{k}") for k in order]
                                            + [np.zeros(3 * h)], 0)[None])
    acts = ["Sigmoid", _native_name(spec.attrs["gate_nonlinearities"]["hidden_update"])]
    y, y_h = g.node("GRU", [seq, w, r, b, "", _initial_state(spec, g, "hid_init", seq, True)], spec.name,
                    n_outputs=2, hidden_size=h, direction=_direction(spec), activations=acts, linear_before_reset=1)
    return _finish_native(spec, g, y, y_h)


def _rnn_native_ok(a):
    return not a["mask"] and _native_name(a["hid_nonlinearity"]) is not None


def _lower_rnn_native(spec, g, seq):
    h = spec.attrs["num_units"]
    w = g.constant(f"{spec.name}.W", _stack([_w(g, spec, "W_in_to_hid").T], 0)[None])
    r = g.constant(f"{spec.name}.R", _stack([_w(g, spec, "W_hid_to_hid").T], 0)[None])
    b_in = _w(g, spec, "b") if spec.param("b") is not None else np.zeros(h)
    b = g.constant(f"{spec.name}.B", _stack([b_in, np.zeros(h)], 0)[None])
    y, y_h = g.node("RNN", [seq, w, r, b, "", _initial_state(spec, g, "hid_init", seq, True)], spec.name,
                    n_outputs=2, hidden_size=h, direction=_direction(spec),
                    activations=[_native_name(spec.attrs["hid_nonlinearity"])])
    return _finish_native(spec, g, y, y_h)


# -- Scan: Lasagne's step function -------------------------------------------------------------------------
class _Body:
    """Nodes of a Scan body, named through the outer graph so that every name stays unique."""

    def __init__(self, g, spec):
        from onnx import TensorProto, helper, numpy_helper  # here: the legacy environment captures without onnx

        self.tp, self.helper, self.numpy_helper = TensorProto, helper, numpy_helper
        self.g, self.spec, self.inputs = g, spec, []
        self._outer_nodes, g.nodes = g.nodes, []

    def input(self, role, dims):
        name = self.g.unique(f"{self.spec.name}.step/{role}")
        self.inputs.append(self.helper.make_tensor_value_info(name, self.tp.FLOAT, dims))
        return name

    def const(self, role, array):
        name = self.g.unique(f"{self.spec.name}.step/{role}")
        array = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
        self.g.nodes.append(self.helper.make_node("Constant", [], [name], name=name + "/Constant",
                                                  value=self.numpy_helper.from_array(array, name)))
        return name

    def op(self, op_type, inputs, n_outputs=1, **attrs):
        return self.g.node(op_type, inputs, f"{self.spec.name}.step", n_outputs=n_outputs, **attrs)

    def act(self, nl, x):
        name = nl["name"]
        if name == "linear":
            return x
        if name == "scaled_tanh":
            t = self.op("Tanh", [self.op("Mul", [x, self.const("scale_in", nl["scale_in"])])])
            return self.op("Mul", [t, self.const("scale_out", nl["scale_out"])])
        if name == "traced":  # a callable Lasagne does not name, traced at capture: its ops in the step
            from ..theano_ops import lower_expr

            return lower_expr(nl["expr"], self.g, self.spec, [x], {}, what=f"nonlinearity {nl.get('function')}")
        op, attrs = _SIMPLE[name]
        return self.op(op, [x], **attrs(nl))

    def masked(self, new, prev, m, one_minus_m):
        """Lasagne's ``new * mask + prev * (1 - mask)``."""
        return self.op("Add", [self.op("Mul", [new, m]), self.op("Mul", [prev, one_minus_m])])

    def graph(self, outputs):
        nodes, self.g.nodes = self.g.nodes, self._outer_nodes
        outs = [self.helper.make_tensor_value_info(o, self.tp.FLOAT, None) for o in outputs]
        return self.helper.make_graph(nodes, self.g.unique(f"{self.spec.name}.step"), self.inputs, outs)


def _precomputed(spec, g, seq, w_in, b):
    """Lasagne's ``precompute_input``: ``dot(x, W_in_stacked) + b_stacked`` for all steps, (T, B, k*H)."""
    y = g.node("MatMul", [seq, g.constant(f"{spec.name}.W_in_stacked", w_in)], spec.name)
    return y if b is None else g.node("Add", [y, g.constant(f"{spec.name}.b_stacked", b)], spec.name)


def _mask_sequence(spec, g):
    """The (batch, time) mask as a (time, batch, 1) scan input."""
    m = g.node("Transpose", [g.input(spec, 1)], spec.name, perm=[1, 0])
    return g.unsqueeze(m, [2], spec.name)


def _scan(spec, g, body, states, scanned, n_state_out):
    """Run ``body`` over ``scanned`` (in Lasagne's direction) and give Lasagne's output."""
    d = 1 if spec.attrs["backwards"] else 0
    outs = g.node("Scan", states + scanned, spec.name, n_outputs=n_state_out + 1, body=body,
                  num_scan_inputs=len(scanned), scan_input_directions=[d] * len(scanned),
                  scan_output_directions=[d])  # reverse: outputs stored back in input order, as Lasagne does
    if spec.attrs["only_return_final"]:
        return g.node("Identity", [outs[n_state_out - 1]], spec.name, output=g.out(spec))
    return g.node("Transpose", [outs[-1]], spec.name, output=g.out(spec), perm=[1, 0, 2])


def _step_inputs(b, spec, k):
    h = spec.attrs["num_units"]
    x_n = b.input("input_n", [None, k * h])
    if not spec.attrs["mask"]:
        return x_n, None, None
    m = b.input("mask_n", [None, 1])
    return x_n, m, b.op("Sub", [b.const("one", np.float32(1)), m])


def _lower_lstm_scan(spec, g, seq):
    a, h = spec.attrs, spec.attrs["num_units"]
    nl = a["gate_nonlinearities"]
    w_in = _stack([_w(g, spec, f"W_in_to_{k}") for k in LSTM_GATES], 1)
    bias = _stack([_w(g, spec, f"b_{k}") for k in LSTM_GATES], 0)
    states = [_initial_state(spec, g, "cell_init", seq, False), _initial_state(spec, g, "hid_init", seq, False)]
    scanned = [_precomputed(spec, g, seq, w_in, bias)] + ([_mask_sequence(spec, g)] if a["mask"] else [])

    b = _Body(g, spec)
    c_prev, h_prev = b.input("cell_previous", [None, h]), b.input("hid_previous", [None, h])
    x_n, m, not_m = _step_inputs(b, spec, 4)
    w_hid = b.const("W_hid_stacked", _stack([_w(g, spec, f"W_hid_to_{k}") for k in LSTM_GATES], 1))
    gates = b.op("Add", [x_n, b.op("MatMul", [h_prev, w_hid])])
    ingate, forgetgate, cell_input, outgate = b.g.split(gates, 4, 1, f"{spec.name}.step")
    if a["peepholes"]:
        ingate = b.op("Add", [ingate, b.op("Mul", [c_prev, b.const("W_cell_to_ingate",
                                                                   _w(g, spec, "W_cell_to_ingate"))])])
        forgetgate = b.op("Add", [forgetgate, b.op("Mul", [c_prev, b.const("W_cell_to_forgetgate",
                                                                           _w(g, spec, "W_cell_to_forgetgate"))])])
    ingate, forgetgate = b.act(nl["ingate"], ingate), b.act(nl["forgetgate"], forgetgate)
    cell_input = b.act(nl["cell"], cell_input)
    cell = b.op("Add", [b.op("Mul", [forgetgate, c_prev]), b.op("Mul", [ingate, cell_input])])
    if a["peepholes"]:
        peep = b.op("Mul", [cell, b.const("W_cell_to_outgate", _w(g, spec, "W_cell_to_outgate"))])
        if a["outgate_peephole"] == "lasagne-0.1":
            outgate = b.op("Add", [b.act(nl["outgate"], outgate), peep])
        else:
            outgate = b.act(nl["outgate"], b.op("Add", [outgate, peep]))
    else:
        outgate = b.act(nl["outgate"], outgate)
    hid = b.op("Mul", [outgate, b.act(a["hid_nonlinearity"], cell)])
    if m is not None:
        cell, hid = b.masked(cell, c_prev, m, not_m), b.masked(hid, h_prev, m, not_m)
    cell, hid_state = b.op("Identity", [cell]), b.op("Identity", [hid])
    body = b.graph([cell, hid_state, b.op("Identity", [hid])])
    return _scan(spec, g, body, states, scanned, 2)


def _lower_gru_scan(spec, g, seq):
    a, h = spec.attrs, spec.attrs["num_units"]
    nl = a["gate_nonlinearities"]
    w_in = _stack([_w(g, spec, f"W_in_to_{k}") for k in GRU_GATES], 1)
    bias = _stack([_w(g, spec, f"b_{k}") for k in GRU_GATES], 0)
    states = [_initial_state(spec, g, "hid_init", seq, False)]
    scanned = [_precomputed(spec, g, seq, w_in, bias)] + ([_mask_sequence(spec, g)] if a["mask"] else [])

    b = _Body(g, spec)
    h_prev = b.input("hid_previous", [None, h])
    x_n, m, not_m = _step_inputs(b, spec, 3)
    w_hid = b.const("W_hid_stacked", _stack([_w(g, spec, f"W_hid_to_{k}") for k in GRU_GATES], 1))
    hid_input = b.op("MatMul", [h_prev, w_hid])
    hi_r, hi_u, hi_c = b.g.split(hid_input, 3, 1, f"{spec.name}.step")
    x_r, x_u, x_c = b.g.split(x_n, 3, 1, f"{spec.name}.step")
    resetgate = b.act(nl["resetgate"], b.op("Add", [hi_r, x_r]))
    updategate = b.act(nl["updategate"], b.op("Add", [hi_u, x_u]))
    hidden_update = b.act(nl["hidden_update"], b.op("Add", [x_c, b.op("Mul", [resetgate, hi_c])]))
    keep = b.op("Sub", [b.const("one", np.float32(1)), updategate])
    hid = b.op("Add", [b.op("Mul", [keep, h_prev]), b.op("Mul", [updategate, hidden_update])])
    if m is not None:
        hid = b.masked(hid, h_prev, m, not_m)
    body = b.graph([b.op("Identity", [hid]), b.op("Identity", [hid])])
    return _scan(spec, g, body, states, scanned, 1)


def _lower_rnn_scan(spec, g, seq):
    a, h = spec.attrs, spec.attrs["num_units"]
    bias = _w(g, spec, "b") if spec.param("b") is not None else None
    states = [_initial_state(spec, g, "hid_init", seq, False)]
    scanned = [_precomputed(spec, g, seq, _w(g, spec, "W_in_to_hid"), bias)] + (
        [_mask_sequence(spec, g)] if a["mask"] else [])

    b = _Body(g, spec)
    h_prev = b.input("hid_previous", [None, h])
    x_n, m, not_m = _step_inputs(b, spec, 1)
    hid_pre = b.op("Add", [b.op("MatMul", [h_prev, b.const("W_hid_to_hid", _w(g, spec, "W_hid_to_hid"))]), x_n])
    hid = b.act(a["hid_nonlinearity"], hid_pre)
    if m is not None:
        hid = b.masked(hid, h_prev, m, not_m)
    body = b.graph([b.op("Identity", [hid]), b.op("Identity", [hid])])
    return _scan(spec, g, body, states, scanned, 1)


_LOWERINGS = {
    "LSTM": (_lstm_native_ok, _lower_lstm_native, _lower_lstm_scan),
    "GRU": (_gru_native_ok, _lower_gru_native, _lower_gru_scan),
    "RNN": (_rnn_native_ok, _lower_rnn_native, _lower_rnn_scan),
}


@converter("LSTM", "GRU", "RNN", emits=(  # the top-level graph (a Scan body is the Scan's)
    "Reshape", "Transpose", "Shape", "Slice", "Concat", "Expand", "LSTM", "GRU", "RNN", "Squeeze", "MatMul", "Add",
    "Unsqueeze", "Scan", "Identity"))
def convert_recurrent(spec, g):
    native_ok, native, scan = _LOWERINGS[spec.kind]
    seq = _sequence(spec, g)
    return native(spec, g, seq) if native_ok(spec.attrs) else scan(spec, g, seq)


# layers that only move a mask's values (a decoder step's mask: SliceLayer(mask, i, axis=1) then ReshapeLayer)
_MOVES_VALUES = ("Slice", "Reshape", "Dimshuffle", "Flatten")


def mask_inputs(graph) -> list:
    """Input layers that are a recurrent layer's mask, directly or through layers that only move values:
    random test inputs draw 0 or 1 there.  (Lasagne 0.1 blends ``new * m + prev * (1 - m)``, 0.2 switches
    on ``m != 0``: the same for the 0/1 masks a mask holds, which the export computes exactly; they differ
    on other values.)"""
    by_name = graph.by_name()

    def source(name):
        spec = by_name.get(name)
        while spec is not None and spec.kind in _MOVES_VALUES and spec.inputs:
            spec = by_name.get(spec.inputs[0])
        return spec.name if spec is not None and spec.kind == "Input" else None

    return sorted({source(spec.inputs[1]) for spec in graph.layers
                   if spec.kind in ("LSTM", "GRU", "RNN", "CustomRecurrent") and spec.attrs.get("mask")
                   and len(spec.inputs) > 1} - {None})
