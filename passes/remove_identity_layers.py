"""Drop layers that are identities at inference: Dropout, GaussianNoise, linear NonlinearityLayers.

Their consumers are rewired to their input.  A removed layer that is a network output keeps its
name: the output is then served by the layer that fed it, renamed.
"""


def is_identity(spec) -> bool:
    if spec.kind == "Identity":
        return True
    return spec.kind == "Nonlinearity" and spec.attrs["nonlinearity"]["name"] == "linear"


def remove_identity_layers(graph, weights):
    graph = graph.copy()
    replace = {}
    kept = []
    for spec in graph.layers:
        spec.inputs = [replace.get(i, i) for i in spec.inputs]
        if is_identity(spec) and spec.name not in graph.outputs:
            replace[spec.name] = spec.inputs[0]
        else:
            kept.append(spec)
    graph.layers = kept
    return graph, weights
