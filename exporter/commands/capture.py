"""``python -m exporter capture --network FILE.py:FN --out ARCH.json``: write the architecture manifest.

Run it wherever the build function runs (for instance in an old Theano environment); export later
with ``--manifest ARCH.json`` anywhere.
"""
from .export import add_architecture_arguments


def add_arguments(parser):
    add_architecture_arguments(parser)
    parser.add_argument("--out", required=True, help="the manifest file to write (JSON)")
    parser.add_argument("--embed-into", metavar="MODEL.npz", help="also store the manifest inside this npz")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def run(args):
    from ..cli import load_architecture
    from ..errors import NetworkError
    from ..io import staged_outputs
    from ..weights import bind_weights, check_rewritable, embed_manifest, load_npz

    if not args.network:
        raise NetworkError("capture needs --network FILE.py:build_fn")
    if args.embed_into:
        check_rewritable(args.embed_into)  # before the work, not after it
    graph = load_architecture(args, None)
    if args.embed_into:
        weights, _ = load_npz(args.embed_into, trust_pickle=args.trust_pickle, lazy=True)
        bind_weights(graph, weights, args.embed_into)  # refuse to embed a manifest that does not fit
        del weights
    with staged_outputs() as outputs:  # the manifest and the npz, both or neither
        with open(outputs.add(args.out), "w", encoding="utf-8") as f:
            f.write(graph.to_json())
        if args.embed_into:
            embed_manifest(args.embed_into, graph, outputs)
    if not args.quiet:
        print(f"wrote {args.out}: {len(graph.layers)} layers, {len(graph.param_keys)} parameters")
    return 0
