"""How the ONNX optimisation passes scale with the graph: a chain of N Conv + BatchNormalization pairs.

    .venv/bin/python benchmarks/rewriter_scaling.py                    # N = 100 .. 5000, ~10 s
    .venv/bin/python benchmarks/rewriter_scaling.py --sizes 100,400,800 --passes fold_batchnorm

Each pass runs on the same model (tiny 2-channel 1x1 convolutions: the graph, not the weights, is what
grows); the time is the best of ``--repeats`` runs.  The last line gives the growth ratio of the
largest size against the smallest next to the size ratio: about equal for linear passes (quadratic
ones grow with the square).  A check asserts that every Conv+BN pair was folded.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def chain(n_pairs: int, channels: int = 2):
    """A model of ``n_pairs`` Conv -> BatchNormalization pairs, with lasagne2onnx's layer map."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from exporter import metadata

    rng = np.random.default_rng(0)
    nodes, inits, layers = [], [], {}
    x = "input"
    for i in range(n_pairs):
        w, b = f"conv{i}.W", f"conv{i}.b"
        inits.append(numpy_helper.from_array(rng.standard_normal((channels, channels, 1, 1)).astype(np.float32), w))
        inits.append(numpy_helper.from_array(rng.standard_normal(channels).astype(np.float32), b))
        nodes.append(helper.make_node("Conv", [x, w, b], [f"conv{i}"], name=f"conv{i}/Conv"))
        params = []
        for role, value in (("scale", 1.0), ("bias", 0.0), ("mean", 0.0), ("var", 1.0)):
            name = f"bn{i}.{role}"
            inits.append(numpy_helper.from_array((value + 0.1 * rng.standard_normal(channels)).astype(np.float32)
                                                 if role != "var" else rng.uniform(0.5, 2, channels).astype(np.float32),
                                                 name))
            params.append(name)
        nodes.append(helper.make_node("BatchNormalization", [f"conv{i}"] + params, [f"bn{i}"],
                                      name=f"bn{i}/BatchNormalization", epsilon=1e-4))
        layers[f"conv{i}"], layers[f"bn{i}"] = f"conv{i}", f"bn{i}"
        x = f"bn{i}"
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                                             ["N", channels, 3, 3])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    metadata.set_layer_map(model, layers)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,200,400,800,1600,3200,5000", help="numbers of Conv+BN pairs")
    ap.add_argument("--passes", default="fold_batchnorm,fuse_affine,drop_identity",
                    help="which passes of passes.OPTIMIZE_PASSES to time")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    import passes

    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.passes.split(",")
    print(f"# rewriter scaling: N Conv+BN pairs (2N nodes, 6N initializers); best of {args.repeats}")
    print(f"{'pairs':>6}" + "".join(f"{n + ' s':>18}" for n in names))
    times = {n: [] for n in names}
    for size in sizes:
        model = chain(size)
        row = f"{size:>6}"
        for name in names:
            best = float("inf")
            for _ in range(args.repeats):
                t = time.perf_counter()
                out, _ = getattr(passes, name)(model, None)
                best = min(best, time.perf_counter() - t)
            if name == "fold_batchnorm":
                left = sum(n.op_type == "BatchNormalization" for n in out.graph.node)
                assert left == 0, f"{left} BatchNormalization nodes were not folded"
                assert sum(v is None for v in json.loads(out.metadata_props[0].value).values()) == size
            times[name].append(best)
            row += f"{best:18.4f}"
        print(row, flush=True)
    ratio = sizes[-1] / sizes[0]
    print(f"growth {sizes[0]} -> {sizes[-1]} pairs (x{ratio:g}): "
          + ", ".join(f"{n} x{times[n][-1] / times[n][0]:.1f}" for n in names)
          + f"  (linear: x{ratio:g}, quadratic: x{ratio ** 2:g})")


if __name__ == "__main__":
    main()
