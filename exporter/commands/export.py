"""``python -m exporter MODEL.npz OUT.onnx``: export weights + architecture to ONNX."""
from __future__ import annotations

import sys

import numpy as np


def add_architecture_arguments(parser):
    parser.add_argument("--network", metavar="FILE.py:FN", help="the Lasagne build function that defines the network")
    parser.add_argument("--manifest", metavar="ARCH.json", help="an architecture manifest written by 'capture'")
    parser.add_argument("--lasagne", choices=("auto", "real", "compat"), default="auto",
                        help="which Lasagne runs the build function: real (needs Theano), compat (Theano-free), "
                             "auto (real if importable)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="allow pickled objects in the npz (they can run code: only for files you trust)")


def add_arguments(parser):
    parser.add_argument("weights", help="model.npz saved with np.savez(path, *get_all_param_values(net))")
    parser.add_argument("output", help="the ONNX file to write")
    add_architecture_arguments(parser)
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, what importers accept)")
    parser.add_argument("--embed-manifest", action="store_true",
                        help="also store the architecture inside the npz so later runs need no --network")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip running the exported model once in onnxruntime")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    parser.add_argument("--progress", action="store_true", default=None, help="show progress even when not on a terminal")


def run(args):
    from ..cli import load_architecture, progress_printer
    from ..convert import to_onnx
    from ..model_io import save_model
    from ..weights import bind_weights, embed_manifest, load_npz

    weights, embedded = load_npz(args.weights, trust_pickle=args.trust_pickle)
    graph = load_architecture(args, embedded)
    bound = bind_weights(graph, weights, args.weights)
    del weights
    progress = progress_printer(args.progress)
    model = to_onnx(graph, bound, opset=args.opset, progress=progress)
    save_model(model, args.output, progress=progress)
    if args.embed_manifest and not embedded:
        embed_manifest(args.weights, graph, args.weights)
    if args.check:
        from ..validate import random_inputs, run as ort_run, make_session

        sess = make_session(args.output)
        feeds = random_inputs(sess)
        outs = ort_run(args.output, feeds)
        for name, value in outs.items():
            if not np.all(np.isfinite(value)):
                print(f"warning: output {name!r} has non-finite values on a random input", file=sys.stderr)
    if not args.quiet:
        n_params = sum(int(np.prod(a.shape)) for a in bound.values())
        print(f"wrote {args.output}: {len(graph.layers)} Lasagne layers, {n_params:,} parameters, opset {args.opset}"
              + (", checked in onnxruntime" if args.check else ""))
    return 0
