"""The build process: ``python -m exporter.frontends.build_worker WORKDIR`` (started by
:mod:`exporter.frontends.isolation`).

It reads ``WORKDIR/request.json``, builds and captures the network with
:func:`exporter.frontends.network_file.capture_network` (choosing the Lasagne as the exporter does:
``--lasagne auto|real|compat``), writes ``WORKDIR/result.json`` -- ``{"graph": manifest, "report": ...}``
or ``{"error": one line, "report": ...}`` -- and ends with ``os._exit``, so that threads the build
code left running cannot keep it alive.  A crash (or :data:`WHERE_ARE_YOU`, sent before a timeout
stops it) makes Python's fault handler write the stack to ``WORKDIR/fault.txt``.

On the Theano-free Lasagne it does not draw Lasagne's random initial values: parameters start as
zeros held without a copy (memory the system hands out only when written), since the export takes
every value from the weights file; a VGG-16 build then costs no memory for its 138M parameters.
It imports only the standard library until it runs.
"""
from __future__ import annotations

import json
import os
import signal
import sys

WHERE_ARE_YOU = getattr(signal, "SIGUSR2", None)  # asks the fault handler where the build is


def main(workdir: str):
    import faulthandler
    import warnings

    fault = open(os.path.join(workdir, "fault.txt"), "w")
    faulthandler.enable(fault)  # a crash writes where it happened
    if WHERE_ARE_YOU is not None:
        faulthandler.register(WHERE_ARE_YOU, file=fault, all_threads=True)
    sys.dont_write_bytecode = True
    warnings.simplefilter("default")
    warnings.formatwarning = lambda msg, cat, *a, **k: f"warning: {msg}\n"
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # no KeyboardInterrupt half-way through writing the result
    request = read_json(os.path.join(workdir, "request.json"))
    try:
        result = _build(request)
    except BaseException as e:  # the build code's own failures are already NetworkErrors naming its line
        result = {"error": _message(e, request["spec"].rpartition(":")[0])}
    _write_result(workdir, result)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)  # threads the build code started do not keep this process


def _build(request):
    from exporter.errors import ExportError
    from exporter.frontends.network_file import capture_network

    report = {}
    try:
        with _initial_values_as_zeros(request["lasagne"]):
            graph = capture_network(request["spec"], request["lasagne"],
                                    input_shapes={k: tuple(v) for k, v in request["input_shapes"]} or None,
                                    options=request["options"], python2=request["python2"],
                                    gpu_modules=request["gpu_modules"], report=report)
    except ExportError as e:
        return {"error": str(e), "report": report}
    return {"graph": graph.to_dict(), "report": report}


class _initial_values_as_zeros:
    """On the Theano-free Lasagne, a parameter that a Lasagne initialiser would fill starts as zeros
    instead, held without a copy: ``np.zeros`` pages cost no memory until written, and the capture
    needs shapes only (the export takes every value from the weights file)."""

    def __init__(self, implementation):
        self.implementation = implementation
        self.undo = None

    def __enter__(self):
        import numbers

        from exporter.frontends.network_file import select_lasagne

        if select_lasagne(self.implementation) != "compat":
            return self
        import numpy as np

        import lasagne.init
        import lasagne.utils
        from lasagne._shared import SharedVariable

        original = lasagne.utils.create_param

        def create_param(spec, shape, name=None):
            shape = tuple(shape)
            if isinstance(spec, lasagne.init.Initializer) and all(
                    isinstance(d, numbers.Integral) and d > 0 for d in shape):  # else Lasagne's own error
                spec = SharedVariable(np.zeros(shape, dtype=lasagne.utils.float_x()), borrow=True,
                                      broadcastable=tuple(d == 1 for d in shape))
            return original(spec, shape, name)

        lasagne.utils.create_param = create_param
        self.undo = lambda: setattr(lasagne.utils, "create_param", original)
        return self

    def __exit__(self, *exc):
        if self.undo:
            self.undo()


def _message(e: BaseException, path: str) -> str:
    """A failure outside the build code's own calls (those are NetworkErrors already): the build code
    interrupting itself (KeyboardInterrupt, sys.exit from a thread or a property), no memory left,
    or the capture failing."""
    from exporter.frontends.network_file import _failure, _where

    if isinstance(e, MemoryError):
        return f"{path}: out of memory while building the network ({_where(e)})"
    if isinstance(e, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return f"{path}: the build code {_failure(e)}"
    return f"{path}: capturing the network failed: {_where(e)}"


def _write_result(workdir, result):
    tmp = os.path.join(workdir, "result.json.partial")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f)
    os.replace(tmp, os.path.join(workdir, "result.json"))




def read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    main(sys.argv[1])
