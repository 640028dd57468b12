"""Traced layers (kind ``Expression``): a layer without a converter of its own, captured by tracing
its ``get_output_for`` into an :class:`~exporter.ir.ExprGraph` (``attrs["expr"]``;
``attrs["traced"]`` says what was traced).  One converter walks the graph through the op table
(:mod:`exporter.theano_ops`)."""
from ..ir import expr_problem
from ..registry import LOWERINGS, attrs_schema, converter
from ..theano_ops import lower_expr  # and the op table registers its lowerings
from ..schema import ANY_ROLE, obj

CONSTANT_OP = "theano.tensor.constant"


def expression_problem(expr, n_inputs=None, roles=None) -> str | None:
    """What is wrong with a serialised traced expression (its structure, or an op the table does not
    know), or None.  ``n_inputs``/``roles``: the layer's input count and parameter roles."""
    problem = expr_problem(expr, n_inputs, roles)
    if problem:
        return problem
    unknown = sorted({n["op"] for n in expr["nodes"]} - set(LOWERINGS.names()) - {CONSTANT_OP})
    if unknown:
        return f"the expression uses op {unknown[0]!r}, which has no ONNX lowering"
    return None


@attrs_schema("Expression", obj({"expr": {"type": "object"}, "traced": {"type": "string"}}, optional=("traced",)),
              params=(ANY_ROLE,))
def check_expression(layer):
    problem = expression_problem(layer.attrs["expr"], len(layer.input_shapes), set(layer.param_shapes))
    return f"attribute 'expr': {problem}" if problem else None


# what the walk can emit: any lowering's ops, and the Cast / Identity that ends the expression
EMITS = tuple(sorted({op for entry in LOWERINGS.entries() for op in entry.emits} | {"Cast", "Identity"}))


@converter("Expression", emits=EMITS)
def convert_expression(spec, g):
    inputs = [g.input(spec, i) for i in range(len(spec.inputs))]
    params = {p.role: g.weights[p.key] for p in spec.params}
    return lower_expr(spec.attrs["expr"], g, spec, inputs, params, output=g.out(spec),
                      what=f"expression of {spec.describe()}")
