"""Remove ONNX ``Identity`` nodes, rewiring their consumers to the Identity's input.

An Identity whose output is a graph output is removed by renaming its input's producer's output,
when that value is nobody else's business (not a graph input/output nor an initializer); otherwise
it stays.
"""
from .onnx_rewrite import Rewriter


def drop_identity(model, payloads=None):
    rw = Rewriter(model, payloads)
    for node in rw.nodes():
        if node.op_type != "Identity":
            continue
        x, y = node.input[0], node.output[0]
        outputs = rw.graph_outputs()
        if y not in outputs:
            rw.remove_node(node)
            rw.rename_value(y, x)
            continue
        producer = rw.producer(x)
        if producer is None or x in outputs:
            continue
        rw.remove_node(node)
        rw.rename_value(x, y)
    return rw.finish()
