"""Traced layers (kind ``Expression``): a layer without a converter of its own, captured by tracing
its ``get_output_for`` into an :class:`~exporter.ir.ExprGraph` (``attrs["expr"]``;
``attrs["traced"]`` says what was traced).  One converter walks the graph through the op table
(:mod:`exporter.theano_ops`)."""
from ..registry import converter


@converter("Expression")
def convert_expression(spec, g):
    from ..theano_ops import lower_expr

    inputs = [g.input(spec, i) for i in range(len(spec.inputs))]
    params = {p.role: g.weights[p.key] for p in spec.params}
    return lower_expr(spec.attrs["expr"], g, spec, inputs, params, output=g.out(spec),
                      what=f"expression of {spec.describe()}")
