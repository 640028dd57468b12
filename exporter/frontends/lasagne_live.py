"""Capture a live Lasagne network into a :class:`~exporter.ir.LayerGraph`.

Works on networks built by the real Lasagne (under Theano) and by the project's Theano-free Lasagne
API alike: it only walks ``lasagne.layers.get_all_layers`` / ``get_all_params`` and reads layer
attributes.  It imports nothing but numpy-free standard library code and the registry, so it runs in
the legacy Theano environment too.
"""
from __future__ import annotations

import functools
import importlib
import re
import sys
import types

from .. import registry
from ..errors import NetworkError, UnsupportedLayerError, UnsupportedLayersError
from ..ir import LayerGraph, LayerSpec, ParamSpec, to_jsonable


class CaptureContext:
    """What a capture rule may ask about the layer it is reading."""

    def __init__(self, layer, name, cls_name, position, input_shapes, options=None):
        self.options = options or {}  # what the user declared about the network (e.g. lstm_peepholes)
        self.layer = layer
        self.name = name
        self.cls_name = cls_name
        self.position = position
        self.input_shapes = input_shapes
        self.param_roles = {}  # id(parameter) -> role, for parameters that are not attributes of the layer
        self.external = None  # the variables that are earlier layers' outputs (_Outputs)
        self.extra_inputs = []  # layers a traced layer reads besides its incoming ones (a size of their output)

    @property
    def input_shape(self):
        return self.input_shapes[0]

    def unsupported(self, detail):
        return UnsupportedLayerError(self.name, self.cls_name, self.position, detail)

    def nonlinearity(self, fn, shape=None):
        """``fn`` described as plain data; a callable Lasagne does not name is traced (``shape``: the
        shape it is applied to, by default the layer's output shape)."""
        return describe_nonlinearity(fn, self, shape)


def _default_name(cls_name: str, position: int) -> str:
    base = cls_name[:-5] if cls_name.endswith("Layer") and cls_name != "Layer" else cls_name
    base = re.sub(r"(\d)D(?=[A-Z]|$)", r"\1d", base)  # Conv2DDNN -> Conv2dDNN: conv2d_dnn, not conv2_ddnn
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", base).lower()
    return f"{snake}_{position}"


def network_output(net):
    """The output layer of what a build function returned.  A model-zoo style dict
    (``net['conv1_1'] = ConvLayer(...)``, ..., the output last) also names its unnamed layers after
    their keys, the names its author used."""
    if isinstance(net, dict):
        for key, layer in net.items():
            if isinstance(key, str) and key and hasattr(layer, "name") and layer.name is None:
                layer.name = key
        net = list(net.values())[-1] if net else None
    elif isinstance(net, (list, tuple)) and any(is_layer(o) for o in net) and not all(is_layer(o) for o in net):
        # ``return network, train_fn, val_fn`` or ``return network, manifolds``: what a training script wants
        # beside the network; the layers are the network, the rest is named and left out
        import warnings

        others = [_kind_of(o) for o in net if not is_layer(o)]
        warnings.warn(f"the build function returned {', '.join(others)} beside its layer"
                      f"{'s' if len(net) - len(others) > 1 else ''}: only the layers are exported", UserWarning,
                      stacklevel=2)
        layers = [o for o in net if is_layer(o)]
        net = layers[0] if len(layers) == 1 else layers
    return net


def _kind_of(o) -> str:
    """What a build function returned beside its layers, in words (a Theano function on the Theano-free API is
    a lazy value)."""
    return "a Theano function or value" if type(o).__name__.startswith("Lazy") else type(o).__name__


def is_layer(o) -> bool:
    """Whether ``o`` is a Lasagne layer (real or Theano-free), by its class: a lazy value (what
    ``theano.function(...)`` gives on the Theano-free API) answers any attribute."""
    return hasattr(type(o), "get_output_shape_for") or hasattr(type(o), "output_shape") and hasattr(type(o),
                                                                                                     "get_output_for")


def layer_names(layers) -> list:
    """The exporter's name for each layer of ``get_all_layers``: the user's name, else
    ``<kind>_<position>``; repeated names get ``_2``, ``_3``, ..."""
    names, used = [], set()
    for pos, layer in enumerate(layers):
        name = getattr(layer, "name", None) or _default_name(type(layer).__name__, pos)
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        names.append(name)
    return names


def _lasagne_layers_module(layer):
    root = type(layer).__module__.split(".")[0]
    try:
        return importlib.import_module(root + ".layers")
    except ImportError:
        return importlib.import_module("lasagne.layers")


def _input_shapes(layer):
    if hasattr(layer, "input_shapes"):
        return [tuple(s) for s in layer.input_shapes]
    if hasattr(layer, "input_shape"):
        return [tuple(layer.input_shape)]
    return []


def incoming(layer):
    if hasattr(layer, "input_layers"):
        return list(layer.input_layers)
    if getattr(layer, "input_layer", None) is not None:
        return [layer.input_layer]
    return []


def _param_shape(p):
    if hasattr(p, "get_value"):
        return tuple(p.get_value(borrow=True).shape)
    return tuple(p.shape)


def capture(output_layers, source: str = "", options: dict | None = None, build: str = "") -> LayerGraph:
    """Describe the network ending in ``output_layers`` (a layer or a list of layers).  ``options``
    hold what the user declared about it that the layers cannot tell (``lstm_peepholes``); ``build``
    names the build function (``FILE.py:FN``) in errors."""
    registry.load_all()
    outs = list(output_layers) if isinstance(output_layers, (list, tuple)) else [output_layers]
    where = f"{build}: " if build else ""
    if not outs:
        raise NetworkError(f"{where}the build function returned no layers")
    for o in outs:
        if not is_layer(o):
            raise NetworkError(f"{where}the build function must return a Lasagne layer, got {type(o).__name__}")
    L = _lasagne_layers_module(outs[0])
    returned_inputs = [o for o in outs if isinstance(o, L.InputLayer)]
    if returned_inputs and len(returned_inputs) < len(outs):  # ``return l_in, l_out`` for a training script
        import warnings

        warnings.warn(f"{where}the build function returned input layer"
                      f"{'s' if len(returned_inputs) > 1 else ''} "
                      f"{', '.join(repr(o.name or 'unnamed') for o in returned_inputs)} beside its outputs: inputs "
                      f"of the model, not outputs", UserWarning, stacklevel=2)
        outs = [o for o in outs if not isinstance(o, L.InputLayer)]
    all_layers = L.get_all_layers(outs)
    all_params = L.get_all_params(outs)
    param_index = {id(p): i for i, p in enumerate(all_params)}

    names = {id(layer): name for layer, name in zip(all_layers, layer_names(all_layers))}

    specs, unsupported = [], []  # every unsupported layer is reported at once, not the first only
    known_outputs = _Outputs(names)
    outputs = {}  # id(layer) -> the traced output variable of a traced layer (its type feeds the next trace)
    for pos, layer in enumerate(all_layers):
        cls_name = type(layer).__name__
        name = names[id(layer)]
        rule = registry.CAPTURE_RULES.get(cls_name)
        ctx = CaptureContext(layer, name, cls_name, pos, _input_shapes(layer), options)
        ctx.external = known_outputs
        refusal = NO_CONVERTER if rule is None else foreign_class(type(layer), allow_reimplementation=rule.foreign_ok)
        try:
            computed = _computed_input(layer, ctx, all_layers, names, param_index) if cls_name == "InputLayer" \
                else None
            if computed is not None:  # InputLayer(input_var=T.zeros((x.shape[0], ...))): an expression of x
                attrs, params, sources = computed
                kind = "Expression"
                specs.append(LayerSpec(name=name, kind=kind, lasagne_class=cls_name, inputs=sources,
                                       attrs=to_jsonable(attrs), params=params, output_shape=tuple(layer.output_shape),
                                       position=pos, user_named=bool(getattr(layer, "name", None))))
                continue
            if refusal is None:
                try:
                    attrs, params = _captured(layer, ctx, rule, param_index)
                except UnsupportedLayerError as e:
                    if not _traceable(layer):
                        raise
                    refusal = e.detail
            if refusal is not None:
                attrs, params = _traced(layer, ctx, refusal, rule is None, param_index, outputs)
                kind = "Expression"
            else:
                kind = rule.kind
        except UnsupportedLayerError as e:
            unsupported.append(e)
            continue
        known_outputs.add(layer)
        specs.append(LayerSpec(
            name=name, kind=kind, lasagne_class=cls_name,
            inputs=[names[id(i)] for i in incoming(layer)] + ctx.extra_inputs,
            attrs=to_jsonable(attrs), params=params,
            output_shape=tuple(layer.output_shape), position=pos,
            user_named=bool(getattr(layer, "name", None)),
        ))
    if unsupported:
        raise UnsupportedLayersError(unsupported, ", ".join(registry.supported_classes()))
    specs = _sources_first(specs)
    return LayerGraph(layers=specs, outputs=[names[id(o)] for o in outs],
                      param_keys=[f"arr_{i}" for i in range(len(all_params))], source=source)


NO_CONVERTER = "no converter for this class"


class _Outputs:
    """The variables that stand for the outputs of the layers captured so far: an input layer's
    ``input_var``.  A traced layer that reads a size from one (``ReshapeLayer(l, (input_var.shape[0] * n,
    -1))``) takes that layer as one more input, so the size is computed from the network's actual input.
    (What ``get_output(l)`` gives is a graph over those variables, read through like the layer's own.)"""

    def __init__(self, names):
        self.names = names
        self.by_var = {}  # id(input_var) -> the input layer's name

    def add(self, layer):
        var = getattr(layer, "input_var", None)
        if var is not None and hasattr(layer, "shape"):
            self.by_var[id(var)] = self.names[id(layer)]

    def name_of(self, var):
        return self.by_var.get(id(var))


def _captured(layer, ctx, rule, param_index):
    """(attrs, params) of a layer its capture rule reads."""
    attrs = rule.fn(layer, ctx) or {}
    params = []
    roles = {}
    for role in rule.params:
        v = getattr(layer, role, None)
        if v is not None:
            roles[id(v)] = role
    roles.update(ctx.param_roles)  # e.g. the parameters of a CustomRecurrentLayer's sub-networks
    for p in layer.get_params():
        role = roles.get(id(p))
        if role is None:
            raise ctx.unsupported(_unknown_param(layer, p, rule, ctx))
        params.append(ParamSpec(role=role, shape=_param_shape(p), key=f"arr_{param_index[id(p)]}"))
    return attrs, params


def _unknown_param(layer, param, rule, ctx) -> str:
    """Why a parameter of the layer is not one its capture rule reads; says so when ``layer.W`` (etc.) is
    an expression rather than the parameter (weight normalisation: ``layer.W = layer.W_param / norm``)."""
    own = {id(p) for p in layer.get_params()}
    replaced = [role for role in rule.params if getattr(layer, role, None) is not None
                and id(getattr(layer, role)) not in own and id(getattr(layer, role)) not in ctx.param_roles]
    name = getattr(param, "name", param)
    if replaced:
        return (f"layer.{replaced[0]} is not a parameter but an expression (weight normalisation, e.g., computes it "
                f"from parameter {name!r}); this converter reads the layer's parameters {', '.join(rule.params)} "
                f"as arrays")
    return f"parameter {name!r} is not one of the parameters this converter knows ({', '.join(rule.params) or 'none'})"


def _computed_input(layer, ctx, all_layers, names, param_index):
    """``(attrs, params, source layer names)`` of an InputLayer whose ``input_var`` is computed from other
    input layers' variables (pixel-rnn's ``InputLayer(input_var=T.zeros((x.shape[0], 1, h, w)))``): the
    expression, traced over those layers; None for an ordinary input layer."""
    var = getattr(layer, "input_var", None)
    if getattr(var, "owner", None) is None:
        return None
    front_end = _tracer(layer)
    if front_end is None:
        raise ctx.unsupported("its input_var is computed (an expression, not a free variable), and this Lasagne's "
                              "expressions cannot be traced")
    free = {id(getattr(l, "input_var", None)): l for l in all_layers
            if l is not layer and type(l).__name__ == "InputLayer" and getattr(l.input_var, "owner", None) is None}
    sources, seen, stack = [], set(), [var]
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        if id(v) in param_index:
            raise ctx.unsupported(f"its input_var is computed from the network parameter {v!r}: export it as a "
                                  f"layer of its own")
        owner = getattr(v, "owner", None)
        if owner is not None:
            stack.extend(owner.inputs)
        elif id(v) in free:
            sources.append(free[id(v)])
        elif not _constant_like(v):
            raise ctx.unsupported(f"its input_var is computed from the variable {v!r}, which is the input_var of no "
                                  f"input layer of the network")
    sources.sort(key=lambda l: all_layers.index(l))
    try:
        expr = front_end.to_expr(var, [l.input_var for l in sources])
    except ValueError as e:
        raise ctx.unsupported(f"its input_var is computed, and tracing it: {e}") from None
    return {"expr": expr, "traced": f"{names[id(layer)]}.input_var (computed)"}, [], [names[id(l)] for l in sources]


def _constant_like(v) -> bool:
    """A constant or a shared variable that is no network parameter (its value is taken as a constant)."""
    return hasattr(v, "get_value") or hasattr(v, "data") or type(v).__name__ in ("Constant", "TensorConstant")


def _sources_first(specs):
    """``specs`` with each layer after the layers it reads (a computed input layer may come, in
    ``get_all_layers``, before the input layer it is computed from); otherwise in their order."""
    by_name = {s.name: s for s in specs}
    done, ordered = set(), []

    def visit(spec, depth=0):
        if spec.name in done or depth > len(specs):
            return
        for i in spec.inputs:
            if i in by_name:
                visit(by_name[i], depth + 1)
        done.add(spec.name)
        ordered.append(spec)

    for spec in specs:
        visit(spec)
    return ordered


def _tracer(layer):
    """The front end that captures ``layer``'s computation, or None: the Theano-free API's tracer
    (``theano_trace``) for its layers, the reader of Theano's own graphs (``theano_graph``) for the
    real Lasagne's."""
    from . import theano_graph, theano_trace

    if theano_trace.available(layer):
        return theano_trace
    if theano_graph.available(layer):
        return theano_graph
    return None


def _traceable(layer) -> bool:
    return _tracer(layer) is not None


def _lasagnes_own_output(layer) -> bool:
    """Whether ``layer``'s get_output_for is Lasagne's own (real or Theano-free), not a user's."""
    for cls in type(layer).__mro__:
        if "get_output_for" in vars(cls):
            return _package(cls) == "lasagne"  # as foreign_class trusts a class (the Theano-free API is lasagne too)
    return False


def _traced(layer, ctx, refusal, no_rule, param_index, outputs):
    """(attrs, params) of a layer captured by tracing its get_output_for (kind Expression), or the
    UnsupportedLayerError saying why neither its converter nor a trace can export it."""
    front_end = _tracer(layer)
    if front_end is None:
        raise ctx.unsupported(refusal)
    input_types = []
    for i in incoming(layer):
        input_types.append(outputs.get(id(i)) or getattr(i, "input_var", None))
    try:
        expr, params, what = front_end.trace_layer(layer, ctx, input_types, param_index)
    except UnsupportedLayerError as e:
        if not no_rule and _lasagnes_own_output(layer):  # the tracer would only say it does not model Lasagne's own layer
            raise ctx.unsupported(refusal) from None
        raise ctx.unsupported(f"{refusal}; tracing it instead: {e.detail}") from None
    out = expr["nodes"][-1] if expr["nodes"] and expr["nodes"][-1]["name"] == expr["outputs"][0] else \
        next(i for i in expr["inputs"] if i["name"] == expr["outputs"][0])
    outputs[id(layer)] = _Typed(out["dtype"], out["broadcastable"])
    return {"expr": expr, "traced": what}, params


class _Typed:
    def __init__(self, dtype, broadcastable):
        self.dtype, self.broadcastable = dtype, tuple(broadcastable)


def foreign_class(cls, allow_reimplementation: bool = False) -> str | None:
    """Why ``cls`` cannot be taken for Lasagne's own class of that name, or None.

    Capture rules are found by class name, but a user subclass of a Lasagne layer (even one that
    keeps the name) may override what it computes, and a class of the same name written elsewhere
    may compute anything.  Only classes of the ``lasagne`` package (the real one or the Theano-free
    API) are trusted; ``allow_reimplementation`` admits independent re-implementations (not
    subclasses) for the few layers people copied into their projects before Lasagne had them, whose
    formula the capture rule checks itself (the community BatchNormLayer)."""
    if _package(cls) == "lasagne":
        return None
    lasagne_base = next((b for b in cls.__mro__[1:] if _package(b) == "lasagne" and b.__name__ == cls.__name__),
                        None)
    if lasagne_base is not None:
        return (f"a subclass of Lasagne's {cls.__name__} defined in {cls.__module__}, which may compute something "
                f"else than Lasagne's {cls.__name__}")
    if allow_reimplementation:
        return None
    return (f"this {cls.__name__} is defined in {cls.__module__}, not in Lasagne, and may compute something else "
            f"than Lasagne's {cls.__name__}")


def _package(obj) -> str:
    return (getattr(obj, "__module__", None) or "").split(".")[0]


def callable_name(fn) -> str:
    """``fn.__name__``, or the scalar op of a Theano elementwise op (``Elemwise{mul,no_inplace}`` -> ``mul``)."""
    name = getattr(fn, "__name__", None)
    if name:
        return name
    m = re.match(r"Elemwise\{(\w+)", str(fn))
    return m.group(1) if m else str(fn)


def resolve(path: str):
    """The object at the dotted ``path`` inside modules that are already imported (the Lasagne and
    Theano the network was built with, real or stand-in), or None."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        obj = sys.modules.get(".".join(parts[:i]))
        if obj is None:
            continue
        for attr in parts[i:]:
            try:
                obj = getattr(obj, attr)
            except AttributeError:
                return None
        return obj
    return None


def identify(fn, table: dict):
    """The key of ``table`` (key -> dotted paths) under one of whose paths ``fn`` itself is found,
    by identity: a function of the user's that merely has the same name is not Lasagne's.  The
    Theano-free API's stand-ins for Theano functions say which function they stand for."""
    standin = getattr(fn, "lasagne2onnx_standin_for", None)
    for key, paths in table.items():
        if standin in paths or any(resolve(path) is fn for path in paths):
            return key
    return None


def describe_callable(fn) -> str:
    """``module.name`` of a plain function (so that a user's ``tanh`` is not taken for Theano's), else its name."""
    if isinstance(fn, functools.partial):
        return f"functools.partial({describe_callable(fn.func)}, ...)"
    if isinstance(fn, types.FunctionType) and fn.__module__:
        return f"{fn.__module__}.{fn.__qualname__}"
    return callable_name(fn)


# -- nonlinearities -------------------------------------------------------------------------------
_NONLINEARITIES = {
    "rectify": ("lasagne.nonlinearities.rectify", "theano.tensor.nnet.relu"),
    "sigmoid": ("lasagne.nonlinearities.sigmoid", "theano.tensor.nnet.sigmoid"),
    "softmax": ("lasagne.nonlinearities.softmax", "theano.tensor.nnet.softmax"),
    "tanh": ("lasagne.nonlinearities.tanh", "theano.tensor.tanh"),
    "linear": ("lasagne.nonlinearities.linear", "lasagne.nonlinearities.identity"),
    "elu": ("lasagne.nonlinearities.elu", "theano.tensor.nnet.elu"),
    "softplus": ("lasagne.nonlinearities.softplus", "theano.tensor.nnet.softplus"),
}


def describe_nonlinearity(fn, ctx=None, shape=None) -> dict:
    """Describe a Lasagne nonlinearity as plain data: ``{"name": ..., **parameters}``.

    ``lasagne.nonlinearities`` (functions and instances of its classes) and the Theano functions they
    stand for are recognised, by identity.  Any other callable is traced on the Theano-free API
    (``{"name": "traced", "function": ..., "expr": <ExprGraph>}``, applied to ``shape``: by default
    the output shape of the layer being captured), else refused."""
    if fn is None:
        return {"name": "linear"}
    cls = type(fn)
    if cls is resolve("lasagne.nonlinearities.LeakyRectify"):
        return {"name": "leaky_rectify", "leakiness": float(fn.leakiness)}
    if cls in (resolve("lasagne.nonlinearities.ScaledTanH"), resolve("lasagne.nonlinearities.ScaledTanh")):
        return {"name": "scaled_tanh", "scale_in": float(fn.scale_in), "scale_out": float(fn.scale_out)}
    if cls is resolve("lasagne.nonlinearities.SELU"):
        return {"name": "selu", "scale": float(fn.scale), "scale_neg": float(fn.scale_neg)}
    name = identify(fn, _NONLINEARITIES)
    if name is not None:
        return {"name": name}
    detail = (f"nonlinearity {describe_callable(fn)!r} is not supported: only lasagne.nonlinearities and the Theano "
              f"functions they use are recognised")
    front_end = _tracer(ctx.layer) if ctx is not None else None
    if front_end is not None:
        from .theano_trace import callable_name

        shape = tuple(ctx.layer.output_shape) if shape is None else tuple(shape)
        try:
            expr = front_end.trace_callable(fn, shape, f"nonlinearity {callable_name(fn)}")
        except ValueError as e:
            raise ctx.unsupported(str(e)) from None
        return {"name": "traced", "function": callable_name(fn), "expr": expr}
    if ctx is not None:
        raise ctx.unsupported(detail)
    raise NetworkError(detail)
