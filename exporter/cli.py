"""Command line: ``python -m exporter MODEL.npz OUT.onnx [options]`` and subcommands.

Subcommands: ``export`` (the default), ``capture`` (write an architecture manifest), ``embed``
(store a manifest inside the npz), ``check``, ``to-torch`` and ``to-keras``.
Errors caused by the input print one line and exit with status 2; no partial output is left.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from . import __version__
from .errors import ExportError, NetworkError

# subcommand -> module with add_arguments(parser) and run(args) -> int
COMMANDS = {
    "export": "exporter.commands.export",
    "capture": "exporter.commands.capture",
    "check": "exporter.commands.check",
    "to-torch": "exporter.importers.torch_cli",
    "to-keras": "exporter.importers.keras_cli",
}

HELP = {
    "export": "export model.npz (+ architecture) to ONNX (default command)",
    "capture": "write the architecture manifest (JSON) of a build function",
    "check": "compare an exported model layer by layer against a reference",
    "to-torch": "turn an exported ONNX model into a PyTorch nn.Module (source + state dict)",
    "to-keras": "turn an exported ONNX model into a Keras 3 model",
}


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m exporter{'' if command == 'export' else ' ' + command}", description=HELP[command])
    parser.add_argument("--version", action="version", version=f"lasagne2onnx {__version__}")
    importlib.import_module(COMMANDS[command]).add_arguments(parser)
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m exporter MODEL.npz OUT.onnx [options]\n"
              "       python -m exporter COMMAND [options]\n\ncommands:")
        for name, text in HELP.items():
            print(f"  {name:<9} {text}")
        print("\nrun 'python -m exporter COMMAND --help' for a command's options")
        return 0
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "export"
    args = build_parser(command).parse_args(argv)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    try:
        return importlib.import_module(COMMANDS[command]).run(args) or 0
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def progress_printer(enabled: bool | None = None):
    """A progress callback that draws on a terminal and stays quiet otherwise."""
    if enabled is None:
        enabled = sys.stderr.isatty() and not os.environ.get("CI")
    if not enabled:
        return None

    def show(done, total, what):
        sys.stderr.write(f"\r  [{done}/{total}] {what[:60]:<60}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


def load_architecture(args, embedded_manifest):
    """The layer graph from --manifest, --network, or the manifest embedded in the npz."""
    from .ir import LayerGraph

    if getattr(args, "manifest", None):
        try:
            with open(args.manifest, encoding="utf-8") as f:
                return LayerGraph.from_json(f.read())
        except OSError as e:
            raise NetworkError(f"{args.manifest}: cannot read manifest ({e.strerror})") from None
    if getattr(args, "network", None):
        from .frontends.network_file import capture_network

        return capture_network(args.network, args.lasagne)
    if embedded_manifest:
        return LayerGraph.from_json(embedded_manifest)
    raise NetworkError("the npz holds only weights, not the architecture: pass --network FILE.py:build_fn, "
                       "--manifest ARCH.json, or embed a manifest once with --embed-manifest")
