"""``theano.OpFromGraph(inputs, outputs)``: a graph packaged as an op.  Applied while tracing, its graph is
built again on the arguments in place of its inputs (what Theano's ``inline_ofg_expansion`` does before
it compiles), so the traced layer holds the ops of the inner graph and the op table lowers them."""
from .context import is_tracing, require_theano
from .graph import Constant, SharedVariable, as_variable, make_node


class OpFromGraph(object):
    """Theano's ``OpFromGraph``: ``op = OpFromGraph([x, y], [x * y + 1]); z = op(a, b)``."""

    def __init__(self, inputs, outputs, inline=False, **kwargs):
        inputs, outputs = list(inputs), list(outputs)
        for v in inputs:
            if getattr(v, "owner", None) is not None or isinstance(v, (SharedVariable, Constant)):
                raise TypeError(f"OpFromGraph: its inputs must be free variables (T.matrix() ...), not {v!r}")
        self.inputs, self.outputs, self.is_inline = inputs, [as_variable(o) for o in outputs], inline

    def __call__(self, *args):
        if not is_tracing():
            require_theano("theano.OpFromGraph(...)(...)")
        if len(args) != len(self.inputs):
            raise ValueError(f"Expected {len(self.inputs)} inputs, got {len(args)}")
        memo = {id(i): as_variable(a) for i, a in zip(self.inputs, args)}
        for i, a in zip(self.inputs, args):
            if memo[id(i)].ndim != i.ndim:
                raise TypeError(f"OpFromGraph: argument {a!r} has {memo[id(i)].ndim} dimensions, its input {i!r} "
                                f"{i.ndim}")
        outs = [_rebuilt(o, memo) for o in self.outputs]
        return outs[0] if len(outs) == 1 else outs


def _rebuilt(out, memo):
    """``out``'s graph built again with ``memo``'s variables (by id) in place of the originals."""
    stack = [(out, False)]
    while stack:
        v, expanded = stack.pop()
        if id(v) in memo:
            continue
        owner = getattr(v, "owner", None)
        if owner is None:  # a constant or shared variable (a parameter: kept, as Theano's shared inputs are)
            if not isinstance(v, (SharedVariable, Constant)):
                raise ValueError(f"OpFromGraph: its outputs depend on {v!r}, which is not one of its inputs")
            memo[id(v)] = v
            continue
        if not expanded:
            stack.append((v, True))
            stack.extend((i, False) for i in owner.inputs if id(i) not in memo)
            continue
        new = make_node(owner.op, [memo[id(i)] for i in owner.inputs], owner.attrs, dtype=v.dtype,
                        broadcastable=v.broadcastable, shape=v.static_shape, kind=owner.kind, name=v.name)
        new.owner.where = owner.where  # the line that built the op's graph
        memo[id(v)] = new
    return memo[id(out)]
