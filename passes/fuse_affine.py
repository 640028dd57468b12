"""Fuse ``Mul`` / ``Add`` by per-channel constants into the Conv or Gemm before them.

Lasagne's ScaleLayer and BiasLayer, and BatchNormLayer in its affine form, become ``Mul`` / ``Add``
with a constant after a convolution or dense layer; onnxruntime does not fuse these for Gemm (nor
for every constant shape after Conv).  ``y * c`` folds into ``W * c, b * c``; ``y + c`` into
``b + c``.  Only constants that vary along the channel axis alone are fused (an untied bias, shaped
like the whole feature map, stays an Add).
"""
import numpy as np

from .onnx_rewrite import Rewriter, linear_producer, per_channel, rewrite_linear


def fuse_affine(model, payloads=None):
    rw = Rewriter(model, payloads)
    changed = True
    while changed:
        changed = False
        for op in rw.nodes():
            if op.op_type not in ("Mul", "Add") or len(op.input) != 2:
                continue
            for i in (0, 1):
                y, c_name = op.input[i], op.input[1 - i]
                c = rw.const(c_name)
                found = linear_producer(rw, y) if c is not None else None
                if found is None or rw.only_consumer(y) is not op:
                    continue
                node, w, b, rank, channels, axis = found
                v = per_channel(c, rank, channels)
                if v is None:
                    continue
                if op.op_type == "Mul":
                    rewrite_linear(rw, node, w, b, axis, v, np.zeros(channels), op.output[0])
                else:
                    rewrite_linear(rw, node, w, b, axis, np.ones(channels), v, op.output[0])
                rw.remove_node(op)
                changed = True
                break
    return rw.finish()
