"""Checks that a hand-written (or edited) architecture manifest describes a network that fits
together, before anything is written: every layer's declared output shape against ONNX shape
inference, and convolution kernels/groups against their weights (which onnxruntime requires and
the ONNX checker does not verify).  Captured networks pass by construction."""
from __future__ import annotations

CHECK_BATCH = 7  # the batch size a manifest's shapes are checked with (not 1: that broadcasts with anything)


def infer_with_batch(skeleton, graph, manifest):
    """ONNX shape inference with the inputs' unknown batch axis set to CHECK_BATCH: shapes that
    depend on the batch (a Reshape, a broadcast against a parameter) are then checked too."""
    import onnx

    from . import model_io
    from .errors import NetworkError

    m = model_io.checkable(skeleton)
    inputs = set(graph.inputs)
    for v in m.graph.input:
        dims = v.type.tensor_type.shape.dim
        if v.name in inputs and dims and not dims[0].HasField("dim_value"):
            dims[0].dim_value = CHECK_BATCH
    try:
        return onnx.shape_inference.infer_shapes(m, check_type=True, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as e:
        detail = " ".join(str(e).split())[:300]
        raise NetworkError(f"{manifest}: the manifest's layers do not fit together for a batch of {CHECK_BATCH} "
                           f"({detail})") from None


def check_declared_shapes(graph, skeleton, manifest):
    """Every layer of a manifest must produce the output shape the manifest declares for it: an
    attribute that disagrees with the parameters (a hand-edited filter_size, say) is caught here,
    by ONNX shape inference, rather than when onnxruntime runs the model."""
    from .errors import NetworkError
    from .metadata import layer_map

    values = layer_map(skeleton)
    g = infer_with_batch(skeleton, graph, manifest).graph
    infos = {v.name: v for v in list(g.input) + list(g.value_info) + list(g.output)}
    for layer in graph.layers:
        info = infos.get(values.get(layer.name))
        if info is None or not info.type.tensor_type.HasField("shape"):
            continue
        got = tuple(d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim)
        want = tuple(layer.output_shape)
        if len(got) != len(want) or any(a is not None and b is not None and a != b for a, b in zip(got, want)):
            shown = tuple("?" if d is None else d for d in got)
            raise NetworkError(f"{manifest}: {layer.describe()} is declared with output shape {want}, but its "
                               f"attributes and parameters give {shown}")
    dims = {t.name: tuple(t.dims) for t in g.initializer}
    layers = graph.by_name()
    for node in g.node:  # what onnxruntime requires of a convolution and the ONNX checker does not verify
        if node.op_type not in ("Conv", "ConvTranspose") or len(node.input) < 2 or node.input[1] not in dims:
            continue
        attrs = {a.name: a for a in node.attribute}
        kernel = tuple(attrs["kernel_shape"].ints) if "kernel_shape" in attrs else None
        group = attrs["group"].i if "group" in attrs else 1
        w = dims[node.input[1]]
        x = infos.get(node.input[0])
        x_dims = x.type.tensor_type.shape.dim if x is not None and x.type.tensor_type.HasField("shape") else []
        channels = x_dims[1].dim_value if len(x_dims) > 1 and x_dims[1].HasField("dim_value") else None
        want_channels = w[1] * group if node.op_type == "Conv" else w[0]
        layer = layers.get(node.name.split("/")[0])
        what = layer.describe() if layer else f"node {node.name!r}"
        if kernel is not None and kernel != w[2:]:
            raise NetworkError(f"{manifest}: {what} has filter size {kernel}, but its weights have shape {w}")
        if group < 1 or w[0] % group or (channels is not None and channels != want_channels):
            raise NetworkError(f"{manifest}: {what} with {group} group(s) and weights of shape {w} does not fit "
                               f"its input's {channels if channels is not None else 'unknown'} channels")
