"""Move each layer's built-in nonlinearity into a NonlinearityLayer of its own.

``conv1`` (Conv2DLayer, rectify) becomes ``conv1/linear`` (Conv2DLayer, linear) followed by
``conv1`` (NonlinearityLayer, rectify), so consumers and outputs still see ``conv1`` and every
activation is lowered by one converter.
"""
from exporter.ir import LayerSpec

LINEAR = {"name": "linear"}


def split_nonlinearities(graph, weights):
    graph = graph.copy()
    layers = []
    for spec in graph.layers:
        nl = spec.attrs.get("nonlinearity")
        if spec.kind == "Nonlinearity" or nl is None or nl["name"] == "linear":
            layers.append(spec)
            continue
        linear_name = f"{spec.name}/linear"
        act = LayerSpec(name=spec.name, kind="Nonlinearity", lasagne_class=spec.lasagne_class,
                        inputs=[linear_name], attrs={"nonlinearity": nl}, params=[],
                        output_shape=spec.output_shape, position=spec.position, user_named=spec.user_named)
        spec.name = linear_name
        spec.attrs = {**spec.attrs, "nonlinearity": dict(LINEAR)}
        layers += [spec, act]
    graph.layers = layers
    return graph, weights
