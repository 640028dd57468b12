"""Trace a layer of the Theano-free Lasagne API into an :class:`~exporter.ir.ExprGraph`.

A layer without a converter of its own (an ``ExpressionLayer``, a user's ``Layer`` subclass, a
subclass of a Lasagne class, an ``ElemwiseMergeLayer`` with any function...) is captured by running
its own ``get_output_for(..., deterministic=True)`` on fresh symbolic inputs inside the stand-in's
``tracing()``: every Theano operation it performs builds a node (``exporter.compat.lasagne._symbolic``).
The graph from the output back to the inputs is then written as an ExprGraph:

* the fresh inputs become expression inputs of ``source="input"``;
* shared variables that are network parameters (``get_all_params``) become ``source="param"``
  inputs, bound to ``model.npz`` by role like any layer's parameters;
* other shared variables and literals become constants (their value at capture time);
* a random node, a lazy value (a gradient, an op the stand-in does not model, a Lasagne layer whose
  output it does not model) or a free symbolic variable on the path is refused, naming the op and
  the user's line.

The same applies to a callable alone (a ``nonlinearity=`` lambda): :func:`trace_callable`.
"""
from __future__ import annotations

import sys

from ..errors import UnsupportedLayerError
from ..ir import ExprGraph, ExprInput, ExprNode, ParamSpec

CONSTANT_OP = "theano.tensor.constant"


def available(layer) -> bool:
    """Whether ``layer`` was built by the Theano-free Lasagne API, whose Theano stand-in can trace."""
    lasagne = sys.modules.get("lasagne")
    return bool(getattr(lasagne, "LASAGNE2ONNX_COMPAT", False)) and _compat_layer(layer)


def _compat_layer(layer) -> bool:
    from .. import compat

    lasagne_base = next((c for c in type(layer).__mro__ if (c.__module__ or "").startswith("lasagne.")), None)
    module = sys.modules.get(getattr(lasagne_base, "__module__", ""), None)
    return lasagne_base is not None and compat._is_ours(module)


def _symbolic():
    from lasagne import _symbolic

    return _symbolic


class _Refused(Exception):
    """Why the traced graph cannot be exported (becomes the layer's UnsupportedLayerError)."""


def fresh_input(name, shape, like=None):
    """A free symbolic variable for a layer input of Lasagne shape ``shape`` (type of ``like`` if given)."""
    S = _symbolic()
    dtype = getattr(like, "dtype", None) or S.graph.D.float_x()
    broadcastable = getattr(like, "broadcastable", None) or [False] * len(shape)
    return S.SymbolicVariable(name, dtype=dtype, broadcastable=broadcastable, shape=shape)


def trace_layer(layer, ctx, input_types, param_index):
    """``(expr dict, params, description)`` for ``layer``; raises UnsupportedLayerError naming why not.

    ``input_types``: per incoming layer, a variable whose dtype/broadcastable the input takes (or None);
    ``param_index``: id(parameter) -> its position in ``get_all_params`` (the npz key)."""
    S = _symbolic()
    shapes = ctx.input_shapes
    inputs = [fresh_input(f"input{i}" if len(shapes) > 1 else "input", shape, like)
              for i, (shape, like) in enumerate(zip(shapes, input_types))]
    merge = hasattr(layer, "input_layers")
    try:
        with S.tracing():
            out = layer.get_output_for(inputs if merge else inputs[0], deterministic=True)
    except S.NotTraceable as e:
        raise ctx.unsupported(f"tracing its get_output_for: {e}") from None
    except NotImplementedError as e:
        generic = not str(e) or str(e).endswith("does not implement get_output_for")
        raise ctx.unsupported("its class implements no get_output_for" if generic else
                              f"its get_output_for raised NotImplementedError: {e}{_at(e)}") from None
    except S.TheanoRequiredError as e:
        raise ctx.unsupported(f"tracing its get_output_for: {e}") from None
    except Exception as e:  # the user's code (or the stand-in) failed on symbolic inputs
        raise ctx.unsupported(f"tracing its get_output_for raised {type(e).__name__}: {e}{_at(e)}") from None
    roles = _Roles(layer)
    try:
        expr, used = _to_expr(out, inputs, lambda p: _param_input(p, roles, param_index), layer.output_shape,
                              ctx.external, ctx.extra_inputs)
    except _Refused as e:
        raise ctx.unsupported(str(e)) from None
    params, taken = [], set()
    for p in layer.get_params():
        params.append(ParamSpec(role=roles[id(p)], shape=_shape_of(p), key=f"arr_{param_index[id(p)]}"))
        taken.add(id(p))
    for p in used:  # another layer's parameter (tied weights)
        if id(p) not in taken:
            params.append(ParamSpec(role=roles[id(p)], shape=_shape_of(p), key=f"arr_{param_index[id(p)]}"))
            taken.add(id(p))
    return expr, params, describe(layer)


def trace_callable(fn, shape, what, dtype=None):
    """The ExprGraph of ``fn(x)`` for one input of Lasagne shape ``shape``; raises ``_Refused``-derived
    ValueError (its text says why) when it cannot be exported."""
    S = _symbolic()
    x = S.SymbolicVariable("x", dtype=dtype or S.graph.D.float_x(), broadcastable=[False] * len(shape), shape=shape)
    try:
        with S.tracing():
            out = fn(x)
    except S.NotTraceable as e:
        raise ValueError(f"tracing {what}: {e}") from None
    except Exception as e:
        raise ValueError(f"tracing {what} raised {type(e).__name__}: {e}{_at(e)}") from None

    def no_params(p):
        raise _Refused(f"{what} uses the parameter {p!r} of a layer, which a nonlinearity cannot hold")

    try:
        expr, _ = _to_expr(out, [x], no_params, tuple(shape))
    except _Refused as e:
        raise ValueError(str(e)) from None
    return expr


def to_expr(out, inputs) -> dict:
    """The ExprGraph (dict) of the traced variable ``out`` over the free variables ``inputs`` (no
    parameters: shared variables become constants); raises ValueError saying why it cannot be."""
    try:
        return _to_expr(out, inputs, lambda p: None, None)[0]
    except _Refused as e:
        raise ValueError(str(e)) from None


def describe(layer) -> str:
    """What was traced, for reports: ``Doubler.get_output_for (net.py)``, ``ExpressionLayer function
    <lambda> (build.py:12)``, ``DenseLayer.get_output_for (Lasagne)``."""
    cls = type(layer)
    if cls.__name__ == "ExpressionLayer" and hasattr(layer, "function"):
        return f"ExpressionLayer function {callable_name(layer.function)}"
    if cls.__name__ == "ElemwiseMergeLayer" and hasattr(layer, "merge_function"):
        return f"ElemwiseMergeLayer merge_function {callable_name(layer.merge_function)}"
    owner = next((c for c in cls.__mro__ if "get_output_for" in vars(c)), cls)
    if (owner.__module__ or "").startswith("lasagne."):
        return f"{owner.__qualname__}.get_output_for (Lasagne)"
    return f"{owner.__qualname__}.get_output_for ({_file_of(sys.modules.get(owner.__module__))})"


def callable_name(fn) -> str:
    """``name (file.py:line)`` of a function of the user's, else what Theano/Lasagne call it."""
    import functools
    import os

    if isinstance(fn, functools.partial):
        return f"functools.partial({callable_name(fn.func)}, ...)"
    public = None if getattr(fn, "lasagne2onnx_standin_for", None) else _theano_public_name(fn)
    if public:  # a function of the real Theano's (the stand-ins say which one they stand for)
        return public
    code = getattr(fn, "__code__", None)
    if code is not None and not getattr(fn, "lasagne2onnx_standin_for", None):
        return f"{fn.__qualname__} ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"
    return getattr(fn, "lasagne2onnx_standin_for", None) or getattr(fn, "__name__", None) or type(fn).__name__


_THEANO_PUBLIC_MODULES = ("theano.tensor", "theano.tensor.nnet", "theano.tensor.signal.pool", "theano.tensor.extra_ops")


def _theano_public_name(fn):
    """``theano.tensor.abs_`` for the real Theano's ``T.abs_`` (the first of its public names), else None."""
    if (getattr(fn, "__module__", None) or "").split(".")[0] not in ("theano", "tensor"):
        return None
    for module_name in _THEANO_PUBLIC_MODULES:
        module = sys.modules.get(module_name)
        names = sorted(k for k, v in vars(module).items() if v is fn) if module is not None else []
        if names:
            return f"{module_name}.{names[0]}"
    return None


def _file_of(module):
    import os

    return os.path.basename(getattr(module, "__file__", None) or "?")


def _at(e):
    import traceback

    frames = [f for f in traceback.extract_tb(e.__traceback__)]
    from lasagne._symbolic.graph import _EXPORTER_DIR

    import os

    user = [f for f in frames if not os.path.abspath(f.filename).startswith(_EXPORTER_DIR + os.sep)]
    return f" at {os.path.basename(user[-1].filename)}:{user[-1].lineno}" if user else ""


def _shape_of(p):
    return tuple(p.get_value(borrow=True).shape)


class _Roles(dict):
    """id(parameter) -> role: the attribute of the layer holding it (``W``, ``g``...), else the last
    part of its name; unique within the layer (``W_2`` ...)."""

    def __init__(self, layer):
        super().__init__()
        S = _symbolic()
        self._taken = set()
        self._attrs = {}
        for attr, v in vars(layer).items():
            if isinstance(v, S.SharedVariable):
                self._attrs.setdefault(id(v), attr)
        for p in layer.get_params():
            self.claim(p)

    def claim(self, p):
        if id(p) in self:
            return self[id(p)]
        base = self._attrs.get(id(p)) or (p.name or "").rsplit(".", 1)[-1] or "param"
        role, k = base, 1
        while role in self._taken:
            k += 1
            role = f"{base}_{k}"
        self._taken.add(role)
        self[id(p)] = role
        return role


def _param_input(p, roles, param_index):
    """The role of a shared variable that is a network parameter (another layer's too: tied
    weights), or None: then it is a constant."""
    return roles.claim(p) if id(p) in param_index else None


def _to_expr(out, inputs, param_role, output_shape, external=None, extra_inputs=None):
    """(ExprGraph dict, [parameters used]) of the graph from ``out`` back to ``inputs``.

    ``external.name_of(v)``: the name of the earlier layer whose output the free variable ``v`` is (a
    network input's ``input_var``), else None: such a variable used by the layer (a size read from it,
    ``input_var.shape[0] * seq_len``) becomes one more input of it, its name appended to ``extra_inputs``."""
    S = _symbolic()
    if isinstance(out, S.LazyValue):
        raise _Refused(str(out.refusal()))
    if isinstance(out, (list, tuple)):
        raise _Refused(f"its output is a {type(out).__name__} of {len(out)} values; a layer has one output")
    try:
        out = S.as_variable(out)
    except Exception as e:
        raise _Refused(f"its output {out!r} is not a Theano expression ({e})") from None
    expr_inputs, nodes, names, used = _write([out], inputs, param_role, S, external, extra_inputs)
    if output_shape is None:
        pass
    elif out.ndim != len(output_shape):
        raise _Refused(f"its get_output_for gives a {out.ndim}-d result but its output_shape {tuple(output_shape)} "
                       f"is {len(output_shape)}-d")
    for axis, (have, want) in enumerate(zip(out.static_shape, output_shape or ())):
        if have is not None and want is not None and have != want:
            raise _Refused(f"its get_output_for gives size {have} on axis {axis} but its output_shape "
                           f"{tuple(output_shape)} says {want} (get_output_shape_for does not match the computation)")
    expr = ExprGraph(inputs=expr_inputs, nodes=nodes, outputs=[names[id(out)]])
    return expr.to_dict(), used


def _typed(v):
    return {"dtype": v.dtype, "broadcastable": list(v.broadcastable),
            "shape": [None if s is None else int(s) for s in v.static_shape]}


def _write(outs, inputs, param_role, S, external=None, extra_inputs=None):
    """(expression inputs, nodes, id(variable) -> name, [parameters used]) of the graph from ``outs``
    back to ``inputs`` (where the walk stops); ``param_role`` None: a loop's step, which has no
    parameters of its own (it reads them as inputs).  ``external``, ``extra_inputs``: see :func:`_to_expr`."""
    from ..theano_ops.values import encode

    input_ids = {id(v): i for i, v in enumerate(inputs)}
    outside = {}  # id(variable) -> the layer whose output it is

    def leaf(v):
        if external is None or id(v) in input_ids or getattr(v, "owner", None) is not None:
            return False
        layer = external.name_of(v)
        if layer is not None:
            outside[id(v)] = layer
        return layer is not None

    order = _topological(outs, S, input_ids, leaf)
    names, expr_inputs, nodes, used = {}, [], [], []
    for v in order:
        if id(v) in input_ids:
            names[id(v)] = f"input{input_ids[id(v)]}" if len(inputs) > 1 else "input"
            expr_inputs.append(ExprInput(name=names[id(v)], source="input", index=input_ids[id(v)], **_typed(v)))
        elif id(v) in outside:
            index = len(inputs) + len(extra_inputs)
            extra_inputs.append(outside[id(v)])
            names[id(v)] = f"input{index}"
            expr_inputs.append(ExprInput(name=names[id(v)], source="input", index=index, **_typed(v)))
        elif isinstance(v, S.SharedVariable):
            role = param_role(v) if param_role is not None else None
            if role is not None:
                names[id(v)] = f"param:{role}"
                expr_inputs.append(ExprInput(name=names[id(v)], source="param", role=role, **_typed(v)))
                used.append(v)
            else:
                names[id(v)] = f"c{len(nodes)}"
                nodes.append(ExprNode(name=names[id(v)], op=CONSTANT_OP, inputs=[],
                                      attrs={"value": encode(v.get_value(borrow=True))}, ndim=v.ndim,
                                      where="", **_typed(v)))
        elif isinstance(v, S.Constant):
            names[id(v)] = f"c{len(nodes)}"
            nodes.append(ExprNode(name=names[id(v)], op=CONSTANT_OP, inputs=[], attrs={"value": encode(v.data)},
                                  ndim=v.ndim, where="", **_typed(v)))
        elif v.owner is None:
            raise _Refused(f"it uses the symbolic variable {v!r}, which is not one of its inputs (a network input "
                           f"or a variable of another network?)")
        else:
            node = v.owner
            if node.kind == "random":
                raise _Refused(f"its deterministic output depends on random sampling ({node.op} at "
                               f"{node.where or 'an unknown line'}), which cannot be exported exactly")
            if node.kind == "lazy":
                reason = node.attrs.get("reason") or f"{node.op} is training-only"
                raise _Refused(f"its output depends on {node.op} (at {node.where or 'an unknown line'}): {reason}")
            attrs = node.attrs
            if "_step" in attrs:  # theano.scan: its traced step becomes the node's body expression
                attrs = {k: a for k, a in attrs.items() if k != "_step"}
                attrs["body"] = _step_expr(*node.attrs["_step"], S)
            names[id(v)] = f"n{len(nodes)}"
            nodes.append(ExprNode(name=names[id(v)], op=node.op, inputs=[names[id(i)] for i in node.inputs],
                                  attrs=_jsonable(attrs), ndim=v.ndim, where=node.where or "", **_typed(v)))
    return expr_inputs, nodes, names, used


def _step_expr(inner, outputs, captured, S):
    """The ExprGraph (dict) of a loop's step: its inputs the step values, then the captured outer values
    (all of source "input", numbered in that order), its outputs the step's."""
    expr_inputs, nodes, names, _ = _write(outputs, list(inner) + list(captured), None, S)
    expr_inputs.sort(key=lambda i: i.index)
    return ExprGraph(inputs=expr_inputs, nodes=nodes, outputs=[names[id(o)] for o in outputs]).to_dict()


def _topological(outs, S, stop=(), leaf=lambda v: False):
    """Variables from the leaves to ``outs``, each once (iterative: deep graphs do not recurse); the walk
    does not go past the variables in ``stop`` (ids); ``leaf(v)`` is called on each (it records the free
    variables that are other layers' outputs)."""
    order, done, stack = [], set(), [(o, False) for o in reversed(outs)]
    while stack:
        v, expanded = stack.pop()
        if id(v) in done:
            continue
        if isinstance(v, S.LazyValue):
            raise _Refused(str(v.refusal()))
        owner = getattr(v, "owner", None)
        if leaf(v) or expanded or owner is None or owner.kind in ("random", "lazy") or id(v) in stop:
            done.add(id(v))
            order.append(v)
            continue
        stack.append((v, True))
        for i in reversed(owner.inputs):
            if id(i) not in done:
                stack.append((i, False))
    return order


def _jsonable(attrs):
    from ..ir import to_jsonable

    return to_jsonable(attrs)
