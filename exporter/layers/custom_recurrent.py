"""CustomRecurrentLayer: ``h_t = nonlinearity(hidden_to_hidden(h_{t-1}) + input_to_hidden(x_t))`` with
user-given Lasagne sub-networks (Dense, Conv, NIN ... any layers this exporter converts) -> an ONNX
Scan whose body lowers the sub-networks through the ordinary converters.

Capture: each sub-network is captured like a network of its own and kept in the attributes
(``input_to_hidden`` / ``hidden_to_hidden``: layers and outputs, as in a manifest); its parameters
become the recurrent layer's parameters with roles ``<sub-network>/<layer>.<role>`` (Lasagne's
``get_params`` order: hid_init, then input_to_hidden's, then hidden_to_hidden's).  A sub-network
layer this exporter cannot convert (a user's custom layer) is refused, naming it.

Lowering, as Lasagne computes it: the input (batch, time, ...) is scanned over time (backwards if
asked, outputs kept in input order); with ``precompute_input`` (the default) input_to_hidden runs once
on all (time * batch) steps outside the Scan, else inside it; masks keep the previous state as the
other recurrent layers do (Lasagne 0.1's ``h * m + h_prev * (1 - m)``; 0.2 selects with
``switch(m, h, h_prev)``, the same for the 0/1 masks Lasagne documents); ``hid_init`` (1, ...) is broadcast over the
batch; ``only_return_final`` gives the last state.  ``grad_clipping`` / ``gradient_steps`` /
``unroll_scan`` change training or speed only.  The Scan body holds its weights as Constant nodes.
"""
import functools

import numpy as np

from .. import registry
from ..errors import UnsupportedLayerError
from ..registry import attrs_schema, capture_rule, converter
from ..schema import ANY_ROLE, BOOL, NONLINEARITY, agree, array, obj
from .nonlinearity import _SIMPLE

SUBNETWORKS = ("input_to_hidden", "hidden_to_hidden")


@capture_rule("CustomRecurrent", "CustomRecurrentLayer", params=("hid_init",))
def capture_custom_recurrent(layer, ctx):
    from ..frontends.lasagne_live import _lasagne_layers_module, capture

    in_shape = ctx.input_shapes[0]
    if len(in_shape) < 3:
        raise ctx.unsupported(f"input of shape {in_shape}: recurrent layers need (batch, time, features...)")
    if not any(p is layer.hid_init for p in layer.get_params()):
        raise ctx.unsupported("hid_init given as a Theano expression or a layer (only a parameter array is supported)")
    n_in = len(ctx.input_shapes)
    mask = getattr(layer, "mask_incoming_index", 1 if n_in > 1 else -1) > 0
    if n_in != (2 if mask else 1):
        raise ctx.unsupported(f"{n_in} incoming layers; only the input and a mask are supported")
    hidden = tuple(layer.hidden_to_hidden.output_shape[1:])
    if mask and len(hidden) > 1:
        raise ctx.unsupported(f"a mask with a hidden state of shape {hidden}: Lasagne's (batch, 1) mask does not "
                              f"broadcast against it")
    L = _lasagne_layers_module(layer)
    attrs = {}
    for which in SUBNETWORKS:
        net = getattr(layer, which)
        try:
            sub = capture(net)
        except UnsupportedLayerError as e:
            raise ctx.unsupported(f"its {which} sub-network holds {e}") from None
        traced = [l for l in sub.layers if l.kind == "Expression"]
        if traced:  # a Scan body does not lower traced computation yet
            raise ctx.unsupported(f"its {which} sub-network holds unsupported layer {traced[0].name!r} (class "
                                  f"{traced[0].lasagne_class}): custom computation inside a recurrence is not "
                                  f"exported")
        if len(sub.inputs) != 1:
            raise ctx.unsupported(f"its {which} sub-network has {len(sub.inputs)} InputLayers (Lasagne needs one)")
        roles = {}
        for key, param in zip(sub.param_keys, L.get_all_params(net)):
            owner, p = next((l, p) for l in sub.layers for p in l.params if p.key == key)
            roles[key] = f"{which}/{owner.name}.{p.role}"
            if id(param) in ctx.param_roles:
                raise ctx.unsupported(f"parameter {roles[key]!r} is shared with the other sub-network")
            ctx.param_roles[id(param)] = roles[key]
        for l in sub.layers:
            for p in l.params:
                p.key = roles[p.key]
        d = sub.to_dict()
        attrs[which] = {"layers": d["layers"], "outputs": d["outputs"]}
    attrs.update({
        "hid_nonlinearity": ctx.nonlinearity(layer.nonlinearity),  # inside the step (not split off)
        "backwards": bool(layer.backwards),
        "only_return_final": bool(getattr(layer, "only_return_final", False)),
        "precompute_input": bool(layer.precompute_input),
        "mask": mask,
    })
    return attrs


# -- what a manifest may hold ---------------------------------------------------------------------------------
# a sub-network: layers as in a manifest (checked by manifest_schema.subnetwork_problem), one output
_SUBNETWORK = obj({"layers": array({"type": "object"}, 1), "outputs": array({"type": "string", "minLength": 1}, 1, 1)})
_STEP_NONLINEARITIES = ("linear", "scaled_tanh", *_SIMPLE)  # what _activation lowers inside the Scan body


@attrs_schema("CustomRecurrent", obj({
    **{which: _SUBNETWORK for which in SUBNETWORKS},
    "hid_nonlinearity": NONLINEARITY,
    "backwards": BOOL,
    "only_return_final": BOOL,
    "precompute_input": BOOL,
    "mask": BOOL,
}), required_params=("hid_init",), params=("hid_init", ANY_ROLE))  # and "<sub-network>/<layer>.<role>"
def check_custom_recurrent(layer):
    a = layer.attrs
    if len(layer.input_shapes) != (2 if a["mask"] else 1):
        return f"{len(layer.input_shapes)} inputs with mask={a['mask']} (the sequence, then the mask when there is one)"
    if layer.rank < 3:
        return f"an input of shape {list(layer.input_shape)}: recurrent layers need (batch, time, features...)"
    hid = layer.param_shapes["hid_init"]
    if len(hid) < 2 or hid[0] != 1:
        return f"parameter 'hid_init' has shape {list(hid)}, not (1, hidden state...)"
    hidden = hid[1:]
    if a["mask"] and (len(layer.input_shapes[1]) != 2 or len(hidden) != 1):
        return (f"a mask of shape {list(layer.input_shapes[1])} with a hidden state of shape {list(hidden)}: a (batch, "
                f"time) mask broadcasts over a (batch, units) state only")
    name = a["hid_nonlinearity"]["name"]
    if name not in _STEP_NONLINEARITIES or name == "softmax" and len(hidden) != 1:
        return f"hid_nonlinearity {name!r} is not supported on a hidden state of shape {list(hidden)} here"
    steps = () if a["only_return_final"] else layer.input_shape[1:2]
    if not agree(layer.output_shape, (layer.input_shape[0], *steps, *hidden)):
        return (f"output_shape {list(layer.output_shape)} is not (batch, {'time, ' if steps else ''}hidden state "
                f"{list(hidden)}) with only_return_final={a['only_return_final']}")
    used = set()
    for which, fed in (("input_to_hidden", layer.input_shape[2:]), ("hidden_to_hidden", hidden)):
        problem = _subnetwork_problem(layer, which, fed, hidden, used)
        if problem:
            return f"attribute {which!r}: {problem}"
    unused = [role for role in layer.param_shapes if role != "hid_init" and role not in used]
    if unused:
        return f"parameter {unused[0]!r} is no parameter of its sub-networks' layers"
    return None


def _subnetwork_problem(layer, which, fed, hidden, used):
    """Sub-network ``which`` checked as a manifest's layers are, then against the recurrent layer: its
    Input fed ``(batch, *fed)``, its output the hidden state, each parameter the recurrent layer's
    ``<which>/<layer>.<role>`` of one shape (the roles it uses are added to ``used``)."""
    from ..manifest_schema import subnetwork_problem  # jsonschema: only where manifests are validated

    sub = layer.attrs[which]
    problem = subnetwork_problem(sub)
    if problem:
        return problem
    traced = next((l for l in sub["layers"] if l["kind"] == "Expression"), None)
    if traced is not None:  # as the capture refuses it
        return (f"layer {traced['name']!r} is traced computation (kind Expression), which a recurrence's Scan body "
                f"does not lower")
    inputs = [l for l in sub["layers"] if l["kind"] == "Input"]
    if len(inputs) != 1:
        return f"{len(inputs)} Input layers (a sub-network has one)"
    source = inputs[0]
    if "dtype" in source["attrs"]:
        return f"its Input layer {source['name']!r} has a 'dtype': the sub-network is fed float32 values"
    if not agree(source["output_shape"][1:], fed):
        return f"its Input layer {source['name']!r} has shape {source['output_shape']}, but is fed (batch, *{list(fed)})"
    out = next(l for l in sub["layers"] if l["name"] == sub["outputs"][0])
    shape = out["output_shape"][1:]
    if not agree(shape, hidden) or which == "hidden_to_hidden" and tuple(shape) != tuple(hidden):
        return (f"its output {out['name']!r} has shape {out['output_shape']}, not (batch, *{list(hidden)}), the "
                f"shape of 'hid_init' after its first axis")
    for l in sub["layers"]:
        for p in l["params"]:
            key = p["key"]
            if not key.startswith(f"{which}/") or key not in layer.param_shapes:
                return (f"layer {l['name']!r}: parameter {p['role']!r} uses {key!r}, which is not one of the "
                        f"recurrent layer's {which} parameters")
            if tuple(p["shape"]) != layer.param_shapes[key]:
                return (f"layer {l['name']!r}: parameter {p['role']!r} has shape {p['shape']}, but the recurrent "
                        f"layer's {key!r} has shape {list(layer.param_shapes[key])}")
            used.add(key)
    return None


# -- lowering -------------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _sub_graph_class():
    """OnnxGraph for a sub-network (imported here: capture rules import in the legacy environment, which
    has no onnx): it lowers into ``nodes`` (the outer graph's, or a Scan body's) in the outer graph's name
    space; inside a body (``as_constants``) weights become Constant nodes."""
    from onnx import helper, numpy_helper

    from ..onnx_graph import OnnxGraph

    class SubGraph(OnnxGraph):
        def __init__(self, parent, weights, layers, nodes, as_constants):
            super().__init__(weights, opset=parent.opset, layers=layers)
            self.parent, self.nodes, self.as_constants = parent, nodes, as_constants
            self._names = parent._names  # a body's values may not shadow the outer graph's

        def constant(self, base, array):
            if not self.as_constants:
                return self.parent.constant(base, array)
            array = np.asarray(array)
            if array.dtype == np.float64:
                array = array.astype(np.float32)
            name = self.unique(base)
            self.nodes.append(helper.make_node("Constant", [], [name], name=name + "/Constant",
                                               value=numpy_helper.from_array(np.ascontiguousarray(array), name)))
            return name

    return SubGraph


def _lower_subnetwork(spec, g, which, value, nodes, as_constants):
    """Lower ``spec``'s ``which`` sub-network on input ``value``; returns its output value."""
    import passes

    from ..ir import LayerGraph, LayerSpec

    sub = spec.attrs[which]
    prefix = f"{spec.name}/{which}/"
    layers = [LayerSpec(**{**l, "name": prefix + l["name"], "inputs": [prefix + i for i in l["inputs"]]})
              for l in sub["layers"]]
    graph = LayerGraph(layers=layers, outputs=[prefix + o for o in sub["outputs"]],
                       param_keys=[p.key for l in layers for p in l.params])
    weights = {p.key: g.weights[spec.param(p.key).key] for l in layers for p in l.params}
    lowered, lowered_weights = passes.lower(graph, weights)
    child = _sub_graph_class()(g, lowered_weights, lowered.by_name(), nodes, as_constants)
    for l in lowered.layers:
        if l.kind == "Input":
            child.set_output(l.name, value)
            continue
        convert = registry.find_converter(l.kind, g.opset)
        if convert is None:
            raise UnsupportedLayerError(spec.name, spec.lasagne_class, spec.position,
                                        f"no converter for {l.lasagne_class} {l.name!r} of its {which} sub-network")
        child.set_output(l.name, convert(l, child))
    return child.tensor(lowered.outputs[0])


def _activation(g, name, nl, x):
    if nl["name"] == "linear":
        return x
    if nl["name"] == "scaled_tanh":
        t = g.node("Tanh", [g.node("Mul", [x, g.constant(f"{name}.scale_in", nl["scale_in"])], name)], name)
        return g.node("Mul", [t, g.constant(f"{name}.scale_out", nl["scale_out"])], name)
    op, attrs = _SIMPLE[nl["name"]]
    return g.node(op, [x], name, **attrs(nl))


@converter("CustomRecurrent", emits=("Transpose", "Reshape", "Shape", "Slice", "Concat", "Expand", "Unsqueeze", "Scan",
                                     "Constant", "Add", "Mul", "Sub", "Identity", "Relu", "LeakyRelu", "Elu", "Selu",
                                     "Softplus", "Sigmoid", "Tanh", "Softmax"))
def convert_custom_recurrent(spec, g):
    from onnx import TensorProto, helper

    a = spec.attrs
    rank = len(g.input_shape(spec))
    hidden = list(spec.param("hid_init").shape[1:])
    x = g.node("Transpose", [g.input(spec)], spec.name, perm=[1, 0] + list(range(2, rank)))  # (T, B, ...)
    if a["precompute_input"]:  # input_to_hidden on all (T * B) steps at once
        steps = g.node("Reshape", [x, g.node("Concat", [g.ints(f"{spec.name}.all_steps", [-1]),
                                                        g.shape(x, spec.name, start=2)], spec.name, axis=0)], spec.name)
        pre = _lower_subnetwork(spec, g, "input_to_hidden", steps, g.nodes, False)
        x = g.node("Reshape", [pre, g.node("Concat", [g.shape(x, spec.name, end=2), g.shape(pre, spec.name, start=1)],
                                           spec.name, axis=0)], spec.name)
    scanned = [x]
    if a["mask"]:
        mask = g.node("Transpose", [g.input(spec, 1)], spec.name, perm=[1, 0])
        scanned.append(g.unsqueeze(mask, [2], spec.name))  # (T, B, 1)
    batch = g.shape(g.input(spec), spec.name, start=0, end=1)
    init = g.node("Expand", [g.param(spec, "hid_init"),
                             g.node("Concat", [batch, g.ints(f"{spec.name}.hidden", hidden)], spec.name, axis=0)],
                  spec.name)

    body_nodes = []
    step = f"{spec.name}.step"

    def value_info(name, rank):  # ranks set: onnxruntime's Scan (opset 13) wants them on the body's values
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, [None] * rank)

    def body_input(role, rank):
        name = g.unique(f"{step}/{role}")
        return name, value_info(name, rank)

    state_rank = 1 + len(hidden)
    (h_prev, h_info) = body_input("hid_previous", state_rank)
    (x_n, x_info) = body_input("input_n", state_rank if a["precompute_input"] else rank - 1)
    infos = [h_info, x_info]
    if a["mask"]:
        m, m_info = body_input("mask_n", 2)
        infos.append(m_info)
    b = _sub_graph_class()(g, {}, {}, body_nodes, True)
    hid_pre = _lower_subnetwork(spec, g, "hidden_to_hidden", h_prev, body_nodes, True)
    x_in = x_n if a["precompute_input"] else _lower_subnetwork(spec, g, "input_to_hidden", x_n, body_nodes, True)
    hid = _activation(b, step, a["hid_nonlinearity"], b.node("Add", [hid_pre, x_in], step))
    if a["mask"]:
        not_m = b.node("Sub", [b.constant(f"{step}.one", np.float32(1)), m], step)
        hid = b.node("Add", [b.node("Mul", [hid, m], step), b.node("Mul", [h_prev, not_m], step)], step)
    outs = [b.node("Identity", [hid], step), b.node("Identity", [hid], step)]
    body = helper.make_graph(body_nodes, g.unique(step), infos, [value_info(o, state_rank) for o in outs])
    d = 1 if a["backwards"] else 0
    final, all_steps = g.node("Scan", [init] + scanned, spec.name, n_outputs=2, body=body,
                              num_scan_inputs=len(scanned), scan_input_directions=[d] * len(scanned),
                              scan_output_directions=[d])
    if a["only_return_final"]:
        return g.node("Identity", [final], spec.name, output=g.out(spec))
    return g.node("Transpose", [all_steps], spec.name, output=g.out(spec),
                  perm=[1, 0] + list(range(2, 2 + len(hidden))))
