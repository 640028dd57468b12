"""Command line: ``python -m exporter MODEL.npz OUT.onnx [options]`` and subcommands.

Subcommands: ``export`` (the default), ``capture`` (write an architecture manifest), ``embed``
(store a manifest inside the npz), ``check``, ``to-torch`` and ``to-keras``.
Errors caused by the input print one line and exit with status 2; no partial output is left.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
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
    "to-tf": "exporter.importers.tf_cli",
}

HELP = {
    "export": "export model.npz (+ architecture) to ONNX (default command)",
    "capture": "write the architecture manifest (JSON) of a build function",
    "check": "compare an exported model layer by layer against a reference",
    "to-torch": "turn an exported ONNX model into a PyTorch nn.Module (source + state dict)",
    "to-keras": "turn an exported ONNX model into a Keras 3 model",
    "to-tf": "turn an exported ONNX model into a TensorFlow SavedModel (needs TensorFlow)",
}


def program_name() -> str:
    """How the user started us: ``python -m exporter``, or the installed ``lasagne2onnx`` script."""
    started = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    if started in ("", "-c", "__main__.py") or started.endswith(".py"):
        return "python -m exporter"
    return started


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"{program_name()}{'' if command == 'export' else ' ' + command}", description=HELP[command])
    parser.add_argument("--version", action="version", version=f"lasagne2onnx {__version__}")
    importlib.import_module(COMMANDS[command]).add_arguments(parser)
    return parser


def main(argv=None, exiting: bool = False) -> int:
    """Run one command; returns the exit status.  ``exiting``: the process ends with this call (the
    ``python -m exporter`` entry), so a signal arriving after the command finished is ignored rather
    than interrupting the interpreter's shutdown; otherwise the signal handlers found are put back."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        prog = program_name()
        print(f"usage: {prog} MODEL.npz OUT.onnx [options]\n"
              f"       {prog} COMMAND [options]\n\ncommands:")
        for name, text in HELP.items():
            print(f"  {name:<9} {text}")
        print(f"\nrun '{prog} COMMAND --help' for a command's options")
        return 0
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "export"
    args = build_parser(command).parse_args(argv)
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    signals = _Signals()
    try:
        signals.install()
        refuse_outputs_over_inputs(command, args)
        refuse_unsupported_opset(args)
        status = importlib.import_module(COMMANDS[command]).run(args) or 0
        signals.finished = True
        return status
    except ExportError as e:
        return _fail(f"error: {one_line(e)}", e.exit_code)
    except MemoryError as e:  # the outputs were staged: cleaning up needs no memory
        return _fail(f"error: out of memory{': ' + one_line(e) if str(e) else ''}", 2)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Terminated as e:
        return _fail(e.message, 128 + e.signum)
    except BrokenPipeError:  # stdout closed early (e.g. piped into head): stop quietly, as SIGPIPE would
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        signals.finished = True
        signals.restore(ignore=exiting)


def entry():
    """``python -m exporter`` and the ``lasagne2onnx`` script."""
    sys.exit(main(exiting=True))


class Terminated(BaseException):
    """SIGTERM or SIGHUP arrived: raised like KeyboardInterrupt, so that staged outputs are cleaned up."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum
        self.message = "hangup" if signum == getattr(signal, "SIGHUP", None) else "terminated"


class _Signals:
    """While a command runs, SIGINT raises KeyboardInterrupt and SIGTERM/SIGHUP raise Terminated, once:
    a second signal does not cut the clean-up short; after the command finished they are ignored."""

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self):
        self.previous = {}
        self.raised = self.finished = False

    def install(self):
        if threading.current_thread() is not threading.main_thread():  # signal handlers go in the main thread
            return
        for name in self.NAMES:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            current = signal.getsignal(signum)
            if current is signal.SIG_IGN:  # nohup, a background job: the caller's choice stands
                continue
            self.previous[signum] = current
            signal.signal(signum, self.handle)

    def handle(self, signum, frame):
        if self.raised or self.finished:
            return
        self.raised = True
        raise KeyboardInterrupt() if signum == signal.SIGINT else Terminated(signum)

    def restore(self, ignore=False):
        for signum, previous in self.previous.items():
            signal.signal(signum, signal.SIG_IGN if ignore else (signal.SIG_DFL if previous is None else previous))
        self.previous.clear()


def _fail(message: str, status: int) -> int:
    from .progress import stop_all

    stop_all()  # end the progress display first: the message gets a line of its own
    print(message, file=sys.stderr)
    return status


def refuse_outputs_over_inputs(command: str, args):
    """Refuse (ExportError) a command whose output file is one of its input files, or is no file it
    may replace (see :func:`exporter.io.destination`): before any work is done."""
    from .io import destination, refuse_overwriting

    if command == "export":
        outputs = [args.output, args.output + ".data"]  # the external data companion is written or removed
    elif command == "to-torch":
        outputs = [os.path.join(args.out, "model.py"), os.path.join(args.out, "state_dict.pt")]
    else:
        outputs = [getattr(args, "save_reference" if command == "check" else "out")]
    model = getattr(args, "model", None)
    network = getattr(args, "network", None)
    refuse_overwriting(outputs, {
        "the weights file": getattr(args, "weights", None) or getattr(args, "against", None),
        "the --network build file": network and _spec_path(network),
        "the --manifest": getattr(args, "manifest", None),
        "the --expect reference": getattr(args, "expect", None),
        "the --input file": getattr(args, "input", None),
        "the --embed-into weights file": getattr(args, "embed_into", None),
        "the input model": model,
        "the input model's external data": model and model + ".data",
    })
    for output in outputs[:1] if command == "export" else outputs:  # (a .data companion is vetted if written)
        if output is not None:
            destination(output)


def _spec_path(network: str):
    from .frontends.network_file import parse_spec

    try:
        return parse_spec(network)[0]
    except NetworkError:
        return None  # said when the network is built


def refuse_unsupported_opset(args):
    """Every command that takes ``--opset`` refuses a value outside the supported range up front."""
    if getattr(args, "opset", None) is not None:
        from .onnx_graph import check_opset

        check_opset(args.opset, "--opset")


def one_line(message) -> str:
    """A message on one line (some come from libraries, e.g. the ONNX checker, spread over several)."""
    return "; ".join(part.strip() for part in str(message).splitlines() if part.strip())


def progress_printer(enabled: bool | None = None, stream=None, label: str = "converted"):
    """A progress callback ``(done, total, what)`` drawn on a terminal (rich), None otherwise: see
    :func:`exporter.progress.printer`."""
    from .progress import printer

    return printer(enabled, stream, label)


def parse_input_shapes(values) -> dict:
    """``["input=1,3,224,224", ...]`` -> ``{"input": (1, 3, 224, 224)}``; a shape without a name
    (``["1,3,224,224"]``) is keyed ``None``: the network's only input layer."""
    shapes = {}
    for v in values or ():
        name, sep, dims = v.rpartition("=")
        try:
            shape = tuple(int(d) for d in dims.split(","))
        except ValueError:
            shape = ()
        if (sep and not name) or not shape or any(d <= 0 for d in shape):
            raise NetworkError(f"--input-shape expects [NAME=]D0,D1,... with positive integers, got {v!r}")
        shapes[name if sep else None] = shape
    if None in shapes and len(shapes) > 1:
        raise NetworkError("--input-shape without a name stands for the only input layer: name every input "
                           "(NAME=D0,D1,...) when there are several")
    return shapes


def apply_input_shapes(graph, shapes: dict):
    """Check ``--input-shape`` against a manifest's input layers.  A manifest's layers are already
    fixed (a layer that needed a size has it), so the graph is left as it is: the shapes give the
    unknown dimensions for running the export in onnxruntime (the check, --optimize's verification)."""
    layers = graph.by_name()
    if None in shapes:
        if len(graph.inputs) != 1:
            raise NetworkError(f"--input-shape without a name needs a network with one input layer; this one has "
                               f"{len(graph.inputs)} ({', '.join(graph.inputs)}): use NAME=D0,D1,...")
        shapes = {graph.inputs[0]: shapes[None]}
    for name, shape in shapes.items():
        spec = layers.get(name)
        if spec is None or spec.kind != "Input":
            raise NetworkError(f"--input-shape {name}: no input layer named {name!r} (inputs: {', '.join(graph.inputs)})")
        have = spec.output_shape
        if len(have) != len(shape) or any(h is not None and h != d for h, d in zip(have, shape)):
            raise NetworkError(f"--input-shape {name}={','.join(map(str, shape))} does not fit the layer's shape "
                               f"{tuple(have)}")
    return graph


def capture_options(args) -> dict:
    """What the user declared about the network that its layers cannot tell (see ``capture``)."""
    peepholes = getattr(args, "lstm_peepholes", None)
    return {"lstm_peepholes": peepholes} if peepholes else {}


def network_spec(args) -> str:
    """``--network`` with the ``--build-arg`` values added to the arguments it writes itself
    (``FILE.py:FN(ARGS)``)."""
    from .frontends.build_args import spec_with_arguments

    return spec_with_arguments(args.network, getattr(args, "build_arg", None) or ())


def refuse_build_args_without_network(args):
    """``--build-arg`` is for a build function: refused with a manifest (nothing to pass them to)."""
    if getattr(args, "build_arg", None) and not getattr(args, "network", None):
        raise NetworkError(f"--build-arg {args.build_arg[0]}: arguments are for the build function of --network "
                           f"FILE.py:FN" + ("; a --manifest is built already (capture it again with the arguments)"
                                            if getattr(args, "manifest", None) else ", which is not given"))


def load_architecture(args, embedded_manifest):
    """The layer graph from --manifest, --network, or the manifest embedded in the npz."""
    from .manifest_schema import read_manifest

    shapes = parse_input_shapes(getattr(args, "input_shape", None))
    refuse_build_args_without_network(args)
    if getattr(args, "manifest", None):
        try:
            with open(args.manifest, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise NetworkError(f"{args.manifest}: cannot read manifest ({getattr(e, 'strerror', None) or e})") from None
        return apply_input_shapes(read_manifest(text, origin=args.manifest), shapes)
    if getattr(args, "network", None):
        from .frontends.isolation import DEFAULT_TIMEOUT, capture_isolated

        # the build code runs in a child process; --input-shape goes to the input layers as they are built
        return capture_isolated(network_spec(args), args.lasagne, input_shapes=shapes or None, options=capture_options(args),
                                python2=getattr(args, "python2", False), cudnn=getattr(args, "cudnn", None),
                                timeout=getattr(args, "build_timeout", DEFAULT_TIMEOUT),
                                notify=None if getattr(args, "quiet", False) else print)
    if embedded_manifest:
        return apply_input_shapes(read_manifest(embedded_manifest, origin=f"{args.weights}: embedded manifest"),
                                  shapes)
    raise NetworkError("the npz holds only weights, not the architecture: pass --network FILE.py:build_fn, "
                       "--manifest ARCH.json, or embed a manifest once with --embed-manifest")
