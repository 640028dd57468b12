"""Users' own Theano ops in the graphs :mod:`.theano_graph_reader` reads: an ``Apply`` whose op (or an
``Elemwise``'s scalar op) is a class outside Theano (BinaryNet's ``round3``, an XNOR-net
``theano.Op`` binarising weights).

* Inputs that are all constants: Theano computes the value (``var.eval()``, the op's own code), stored
  as a constant.
* Otherwise the op's Python code is traced exactly as the Theano-free tracer traces it
  (``exporter.compat.lasagne._symbolic.userops``: a scalar op's one-call ``c_code`` or its ``impl``,
  an op's ``perform``), on stand-in variables typed like the op's inputs, and the nodes it records are
  written into the reader's graph.  Code that cannot be traced is refused, naming the class, where it
  is defined and the user's line.

Runs in the legacy environment; imports Theano only inside the functions.
"""
from __future__ import annotations

from ..ir import to_jsonable
from .theano_graph_names import Refused
from .theano_shapes import class_path

_OURS = ("theano.", "lasagne.", "exporter.")


def _foreign(obj) -> bool:
    return not class_path(obj).startswith(_OURS)


def is_user_op(op) -> bool:
    """Whether ``op`` (or an Elemwise's scalar op) is a class of the user's, not Theano's."""
    scalar_op = getattr(op, "scalar_op", None)
    if class_path(op) == "theano.tensor.elemwise.Elemwise" and scalar_op is not None:
        return _foreign(scalar_op)
    return _foreign(op)


def _symbolic():
    from ..compat.lasagne import _symbolic

    return _symbolic


def _constant_only(var, theano) -> bool:
    """Whether every leaf ``var`` depends on is a Theano constant (no input, no shared variable)."""
    stack, seen = [var], set()
    while stack:
        v = stack.pop()
        if v in seen:
            continue
        seen.add(v)
        if v.owner is None:
            if not isinstance(v, theano.gof.Constant) or isinstance(v, theano.compile.SharedVariable):
                return False
        else:
            stack.extend(v.owner.inputs)
    return True


def read_user_op(reader, var, where):
    """The name of ``var`` (an output of a user's op) in ``reader``'s graph."""
    theano = reader.theano
    node = var.owner
    if _constant_only(var, theano):
        return reader.constant(var.eval(), var)
    S = _symbolic()
    from ..compat.lasagne._symbolic import userops

    names = [reader.names[i] for i in node.inputs]
    fresh = []
    for k, name in enumerate(names):
        dtype, bc, shape = reader.types[name]
        fresh.append(S.SymbolicVariable(f"u{k}", dtype=dtype, broadcastable=bc, shape=shape))
    scalar_op = getattr(node.op, "scalar_op", None)
    op = scalar_op if scalar_op is not None and _foreign(scalar_op) else node.op
    try:
        with S.tracing():
            if op is scalar_op:
                out = userops.scalar_impl_trace(scalar_op, fresh, str(var.dtype))
            else:
                out = userops.perform_trace(op, node, fresh, node.outputs)[var.index]
    except S.NotTraceable as e:
        shown = userops.describe_class(op)
        raise Refused(f"the Theano op {shown} (at {where or 'an unknown line'}) cannot be exported: {e.reason}") from None
    return _splice(reader, out, fresh, names, where, S, var)


def _splice(reader, out, fresh, names, where, S, var):
    """Write the nodes of the traced ``out`` (over ``fresh``, named ``names``) into ``reader``."""
    from .theano_trace import _topological

    env = {id(f): n for f, n in zip(fresh, names)}
    for v in _topological([out], S):
        if id(v) in env:
            continue
        if isinstance(v, S.Constant):
            env[id(v)] = reader.constant(v.data)
            continue
        if v.owner is None or v.owner.kind:
            raise Refused(f"tracing the Theano op {class_path(var.owner.op)} (at {where or 'an unknown line'}) "
                          f"reached {v!r}, which is not one of its inputs")
        typed = (v.dtype, list(v.broadcastable), list(v.static_shape))
        if v is out:
            typed = reader.typed(var)
        env[id(v)] = reader.emit(v.owner.op, [env[id(i)] for i in v.owner.inputs], to_jsonable(v.owner.attrs),
                                 typed, where)
    return env[id(out)]  # (an input's name when the op passes it on unchanged)
