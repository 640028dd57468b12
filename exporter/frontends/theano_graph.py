"""Read a layer's computation from real Theano's own graph into an :class:`~exporter.ir.ExprGraph`.

On the real Lasagne (``--lasagne real``, or ``capture`` on an old Theano box) a layer without a
converter of its own is captured as the Theano-free tracer (``theano_trace``) captures it on the
Theano-free API: its ``get_output_for(..., deterministic=True)`` runs on fresh symbolic inputs
(float32 tensors typed like the incoming layers' outputs), and the graph Theano built is written in
the tracer's format, with the tracer's op names and attributes (``docs/theano_ops.md``), so one
lowering table exports both.  The walk goes from the output back over Theano's ``Apply`` nodes:

* the fresh inputs become expression inputs of ``source="input"``;
* shared variables that are network parameters become ``source="param"`` inputs, bound by role (the
  layer attribute holding them, else their name's last part) like the tracer's;
* other shared variables and Theano constants become constants (their value at capture time);
* each op is mapped through :data:`THEANO_OP_NAMES` (keyed by the op's class, or for ``Elemwise`` by
  its scalar op's class); a few ops become small formulas of mapped ops (``Shape_i``, ``MaxAndArgmax``,
  n-ary ``add``/``mul``, ``Elemwise{Composite}``, ``AbstractBatchNormInference``, ``CumOp`` over
  every axis); forward identities (``ScalarFromTensor``, ``ViewOp``, ``Rebroadcast`` that changes
  nothing, gradient-only ops ...) are skipped;
* an op without a mapping (random sampling, ``scan``, ``ifelse`` or any other) is refused, naming
  the op and, from Theano's ``tag.trace``, the user's line.

Theano builds some functions as formulas of other ops where the tracer records one node (``relu``
is ``0.5 * (x + abs(x))``, ``mean`` a ``Sum`` divided by the sizes, ``x.flatten(2)`` a ``Reshape`` of
the shape's parts, ``keepdims`` a ``DimShuffle`` after the reduction); both forms lower to the same
numbers.  Static sizes come from Theano's own shape inference with the layer's known input sizes
(:mod:`.theano_shapes`): a size is known only where Theano's shape graph folds to a constant.

The walk lives in :mod:`.theano_graph_reader`, its tables in :mod:`.theano_graph_names`.  These modules run in the legacy
environment (Python 3.11, numpy 1.23, Theano 1.0.5; no onnx) and import Theano only inside their
functions, so the tables (and :func:`available`) import anywhere.
"""
from __future__ import annotations

import sys

from ..ir import ExprGraph, ParamSpec
from .theano_graph_names import FORMULAS, FORWARD_IDENTITIES, THEANO_OP_NAMES, Refused, user_line  # noqa: F401
from .theano_graph_reader import Reader
from .theano_trace import _Roles as _TracerRoles


def available(layer) -> bool:
    """Whether ``layer`` was built by the real Lasagne on Theano (whose graphs this module reads)."""
    lasagne = sys.modules.get("lasagne")
    if lasagne is None or getattr(lasagne, "LASAGNE2ONNX_COMPAT", False) or "theano" not in sys.modules:
        return False
    return hasattr(layer, "get_output_for") and any(
        (c.__module__ or "").split(".")[0] == "lasagne" for c in type(layer).__mro__)


# -- entry points ----------------------------------------------------------------------------------------
def fresh_input(name, shape, like=None):
    """A Theano tensor variable for a layer input of Lasagne shape ``shape`` (dtype and broadcastable
    pattern of ``like`` if given, else floatX and none)."""
    import theano

    dtype = getattr(like, "dtype", None) or theano.config.floatX
    broadcastable = tuple(getattr(like, "broadcastable", None) or (False,) * len(shape))
    return theano.tensor.TensorType(dtype, broadcastable)(name)


def trace_layer(layer, ctx, input_types, param_index):
    """``(expr dict, params, description)`` for ``layer``, read from the Theano graph of its
    ``get_output_for``; raises UnsupportedLayerError naming why not (as ``theano_trace.trace_layer``)."""
    from .theano_trace import describe

    shapes = ctx.input_shapes
    inputs = [fresh_input(f"input{i}" if len(shapes) > 1 else "input", shape, like)
              for i, (shape, like) in enumerate(zip(shapes, input_types))]
    merge = hasattr(layer, "input_layers")
    try:
        out = layer.get_output_for(inputs if merge else inputs[0], deterministic=True)
    except NotImplementedError as e:
        generic = not str(e) or str(e).endswith("does not implement get_output_for")
        raise ctx.unsupported("its class implements no get_output_for" if generic else
                              f"its get_output_for raised NotImplementedError: {e}{_at(e)}") from None
    except Exception as e:  # the user's code failed on symbolic inputs
        raise ctx.unsupported(f"running its get_output_for on Theano raised {type(e).__name__}: {e}{_at(e)}") from None
    roles = _Roles(layer)
    try:
        expr, used = to_expr_graph(out, inputs, shapes, lambda p: roles.claim(p) if id(p) in param_index else None,
                                   layer.output_shape, ctx.external, ctx.extra_inputs)
    except Refused as e:
        raise ctx.unsupported(str(e)) from None
    params, taken = [], set()
    for p in list(layer.get_params()) + used:  # then another layer's parameter (tied weights)
        if id(p) not in taken:
            params.append(ParamSpec(role=roles.claim(p), shape=tuple(p.get_value(borrow=True).shape),
                                    key=f"arr_{param_index[id(p)]}"))
            taken.add(id(p))
    return expr, params, describe(layer)


def trace_callable(fn, shape, what, dtype=None):
    """The ExprGraph of ``fn(x)`` for one input of Lasagne shape ``shape``, read from Theano's graph;
    raises ValueError (its text says why) when it cannot be exported."""
    x = fresh_input("x", shape, _Type(dtype) if dtype else None)
    try:
        out = fn(x)
    except Exception as e:
        raise ValueError(f"running {what} on Theano raised {type(e).__name__}: {e}{_at(e)}") from None

    def no_params(p):
        raise Refused(f"{what} uses the shared variable {p!r}, which a nonlinearity cannot hold")

    try:
        return to_expr_graph(out, [x], [tuple(shape)], no_params, tuple(shape))[0]
    except Refused as e:
        raise ValueError(str(e)) from None


def to_expr(out, inputs, shapes=None) -> dict:
    """The ExprGraph (dict) of the Theano variable ``out`` over the free variables ``inputs`` (shared
    variables become constants); raises ValueError saying why it cannot be."""
    try:
        return to_expr_graph(out, inputs, shapes, lambda p: None, None)[0]
    except Refused as e:
        raise ValueError(str(e)) from None


def to_expr_graph(out, inputs, shapes, param_role, output_shape, external=None, extra_inputs=None):
    """(ExprGraph dict, [parameters used]) of the Theano graph from ``out`` back to ``inputs``;
    ``shapes``: the inputs' known sizes (None where unknown); ``param_role(shared)``: its role, or None
    for a constant; ``external``, ``extra_inputs``: a free variable that is an earlier layer's output (a
    network input's ``input_var``) becomes one more input, as in ``theano_trace._to_expr``."""
    import theano

    if isinstance(out, (list, tuple)):
        raise Refused(f"its output is a {type(out).__name__} of {len(out)} values; a layer has one output")
    try:
        out = theano.tensor.as_tensor_variable(out)
    except Exception as e:
        raise Refused(f"its output {out!r} is not a Theano expression ({e})") from None
    out = inline_op_from_graph(out)
    inputs, shapes = list(inputs), list(shapes or [None] * len(inputs))
    n = len(inputs)
    if external is not None:  # the network inputs it reads a size of (in the order the graph first uses them)
        for v in theano.gof.graph.inputs([out]):
            if v.owner is None and v not in inputs and external.name_of(v) is not None:
                extra_inputs.append(external.name_of(v))
                inputs.append(v)
                shapes.append(None)
    reader = Reader(inputs, shapes, param_role, out, n)
    name = reader.read(out)
    _check_output(reader.types[name], output_shape)
    graph = ExprGraph(inputs=reader.expr_inputs, nodes=reader.nodes, outputs=[name])
    return graph.to_dict(), reader.used


def inline_op_from_graph(out):
    """``out`` with each ``theano.OpFromGraph`` applied in its graph replaced by the op's own graph on its
    arguments (Theano's ``inline_ofg_expansion``, which its compiler runs first), outermost first."""
    import theano
    from theano.compile.builders import OpFromGraph

    for _ in range(1000):  # each round inlines one application (nested ones appear as it goes)
        node = next((a for a in theano.gof.graph.io_toposort(theano.gof.graph.inputs([out]), [out])
                     if isinstance(a.op, OpFromGraph)), None)
        if node is None:
            return out
        inner = theano.clone(node.op.local_outputs, replace=dict(zip(node.op.local_inputs, node.inputs)))
        out = theano.clone(out, replace=dict(zip(node.outputs, inner)))
    raise Refused("theano.OpFromGraph applied more than 1000 times in one layer")


def _check_output(typed, output_shape):
    if output_shape is None:
        return
    dtype, bc, shape = typed
    if len(bc) != len(output_shape):
        raise Refused(f"its get_output_for gives a {len(bc)}-d result but its output_shape {tuple(output_shape)} "
                      f"is {len(output_shape)}-d")
    for axis, (have, want) in enumerate(zip(shape, output_shape)):
        if have is not None and want is not None and have != want:
            raise Refused(f"its get_output_for gives size {have} on axis {axis} but its output_shape "
                          f"{tuple(output_shape)} says {want} (get_output_shape_for does not match the computation)")


class _Type:
    def __init__(self, dtype):
        self.dtype = dtype


def _at(e):
    """`` at file.py:line`` of the user's code where the exception ``e`` was raised, or ''."""
    import traceback

    line = user_line([(f.filename, f.lineno) for f in traceback.extract_tb(e.__traceback__)])
    return f" at {line}" if line else ""


class _Roles(_TracerRoles):
    """id(parameter) -> role, as the Theano-free tracer's roles: the attribute of the layer holding it,
    else the last part of its name; unique within the layer."""

    def __init__(self, layer):  # the tracer's, with Theano's shared variables
        import theano

        dict.__init__(self)
        self._taken = set()
        self._attrs = {}
        for attr, v in vars(layer).items():
            if isinstance(v, theano.compile.SharedVariable):
                self._attrs.setdefault(id(v), attr)
        for p in layer.get_params():
            self.claim(p)
