"""Traced layers (kind ``Expression``): a layer without a converter of its own, captured by tracing
its ``get_output_for`` into an :class:`~exporter.ir.ExprGraph` (``attrs["expr"]``, of the strict
structure :data:`exporter.schema.EXPR_GRAPH`; ``attrs["traced"]`` says what was traced, a label the
model's metadata records).  One converter walks the graph through the op table
(:mod:`exporter.theano_ops`), whose lowerings declare the attributes each op takes: the check
validates every node against them (:mod:`exporter.theano_ops.validate`)."""
from ..registry import LOWERINGS, attrs_schema, converter
from ..schema import ANY_ROLE, EXPR_GRAPH, obj
from ..theano_ops import lower_expr  # and the op table registers its lowerings
from ..theano_ops.validate import expression_problem  # noqa: F401  (manifest_schema's traced nonlinearities)


@attrs_schema("Expression", obj({"expr": EXPR_GRAPH, "traced": {"type": "string", "minLength": 1}}),
              params=(ANY_ROLE,))
def check_expression(layer):
    problem = expression_problem(layer.attrs["expr"], layer.input_shapes, layer.param_shapes)
    return f"attribute 'expr': {problem}" if problem else None


# what the walk can emit: any lowering's ops, and the Cast / Identity that ends the expression
EMITS = tuple(sorted({op for entry in LOWERINGS.entries() for op in entry.emits} | {"Cast", "Identity"}))


@converter("Expression", emits=EMITS)
def convert_expression(spec, g):
    inputs = [g.input(spec, i) for i in range(len(spec.inputs))]
    params = {p.role: g.weights[p.key] for p in spec.params}
    return lower_expr(spec.attrs["expr"], g, spec, inputs, params, output=g.out(spec),
                      what=f"expression of {spec.describe()}")
