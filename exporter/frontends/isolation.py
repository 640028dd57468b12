"""User build code runs in a child process of its own; the exporter's process only gets its layer graph.

:func:`capture_isolated` (what ``--network`` calls) runs each build through :func:`build_in_child`:
``python -m exporter.frontends.build_worker WORKDIR`` in a session of its own, with stdin closed,
its stdout and stderr forwarded as they come (at most :data:`FORWARD_LIMIT` bytes of each: a flood
is drained, not shown), for at most ``timeout`` seconds.  Whatever the build code does to its
process -- ``sys.exit``/``os._exit``, ``os.chdir``, closing or flooding stdout, signals, a segfault,
being killed for memory, never returning -- is one :class:`NetworkError` naming the build file; only
this process writes outputs.  A valid Python 3 build that fails as Python 2 code does is built again
as Python 2 (:mod:`exporter.frontends.py2`), and build code that asks for the GPU-only Lasagne
modules is built both ways (:mod:`exporter.frontends.cudnn`).
"""
from __future__ import annotations

import codecs
import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time

from ..errors import NetworkError
from .build_worker import WHERE_ARE_YOU, read_json
from .cudnn import choose
from .network_file import parse_spec

DEFAULT_TIMEOUT = 600.0  # seconds of build time (--build-timeout)
FORWARD_LIMIT = 1 << 20  # bytes of the build code's stdout (and of its stderr) shown
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_SIGNAL_NOTES = {getattr(signal, name): note for name, note in (
    ("SIGKILL", "was killed (SIGKILL: the system kills a process this way when memory runs out)"),
    ("SIGSEGV", "crashed (SIGSEGV, segmentation fault)"),
    ("SIGBUS", "crashed (SIGBUS)"),
    ("SIGABRT", "aborted (SIGABRT)"),
    ("SIGFPE", "crashed (SIGFPE)"),
    ("SIGILL", "crashed (SIGILL)"),
) if hasattr(signal, name)}


class BuildResult:
    """What one build in a child returned: the graph (``manifest`` dict) and ``report`` (see
    :func:`network_file.capture_network`), or ``error`` (a one-line message)."""

    def __init__(self, data: dict, shown_path: tuple = ("", "")):
        self.manifest = data.get("graph")
        self.report = data.get("report", {})
        self.error = data.get("error")
        if self.error and shown_path[0]:  # the build file as the user named it, not as the child was given it
            self.error = self.error.replace(*shown_path)

    def graph(self, origin: str):
        """The child's manifest, validated as any manifest from outside the exporter is."""
        from ..manifest_schema import load_manifest

        return load_manifest(self.manifest, origin=origin)


def add_build_arguments(parser):
    """The options of a --network build (export, capture, check)."""
    parser.add_argument("--cudnn", choices=("yes", "no"),
                        help="for build code that uses lasagne.layers.dnn (or corrmm, cuda_convnet) when it imports "
                             "and falls back otherwise: were the weights trained where it imported (yes: a GPU with "
                             "cuDNN) or not (no)? Needed only when the two networks compute differently (the export "
                             "says so)")
    parser.add_argument("--build-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"stop the build code after this many seconds (default {DEFAULT_TIMEOUT:g}; 0: no limit)")
    parser.add_argument("--build-arg", metavar="NAME=VALUE", action="append", default=[],
                        help="an argument for the build function (repeatable), e.g. --build-arg n=9: VALUE is a "
                             "Python literal (9, 0.5, (64, 128), 'x', True, None), or a plain word taken as a string "
                             "(mode=train); never run as code. Positional arguments: --network "
                             "'build.py:build_model(60, 60, 10)'")
    parser.add_argument("--python2", action="store_true",
                        help="read the build file and the modules beside it as Python 2 (integer /, xrange, "
                             "print statements ...) even where they parse as Python 3; files that do not parse "
                             "as Python 3 are read as Python 2 without it")


def capture_isolated(spec: str, implementation: str = "auto", input_shapes=None, options=None, python2=False,
                     cudnn: str | None = None, timeout: float | None = DEFAULT_TIMEOUT, notify=None):
    """The layer graph of ``spec``'s network, built in a child process (another, to read valid
    Python 3 that fails as Python 2 code does as Python 2; another, for build code that probes for
    cuDNN: see :mod:`exporter.frontends.cudnn`).  ``cudnn``: "yes", "no" or None (decide: refuse
    when the two builds compute differently).  ``notify`` prints a one-line note."""
    builds = _Builds(spec, implementation, input_shapes, options, python2, timeout)
    gpu_modules = "block" if cudnn == "no" else "allow"
    result, python3_failure = builds.run(gpu_modules=gpu_modules), None
    if result.error and result.report.get("looks_python2"):  # valid Python 3 that fails as Python 2 code does
        retry = builds.run(gpu_modules=gpu_modules, python2=True)
        if not retry.error:
            python3_failure, result, builds.python2 = result.error, retry, True
        elif retry.error.replace(" (read as Python 2)", "") != result.error:  # what --python2 would say
            result.error += f"; read as Python 2 (as --python2 does){_why(retry.error)[len('; as Python 3'):]}"
    choice = choose(builds, result, cudnn)
    graph = result.graph(origin=f"{builds.path} (captured)")
    graph.source = graph.source.replace(builds.absolute, builds.path, 1)  # the build file as the user named it
    if choice:
        graph.build["cudnn"] = choice
    for key in ("arguments", "defaults"):  # how the build function was called: recorded, and said
        if result.report.get(key):
            graph.build[key] = result.report[key]
    if notify and result.report.get("arguments"):
        notify(f"note: built with {builds.function}({result.report['arguments']})")
    for line in result.report.get("warnings") or []:  # what the build changed to export (the batch a size fixes)
        print(line, file=sys.stderr)
    translated = [os.path.basename(f) for f in result.report.get("read_as_python2") or []]
    if translated:
        graph.build["read_as_python2"] = translated
        if notify:
            notify(f"note: {', '.join(translated)} read as Python 2 (translated to Python 3 in memory; / between "
                   f"integers floors as in Python 2{_why(python3_failure)})")
    return graph


class _Builds:
    """Runs the build of one ``--network`` in a child, with settings a caller may vary per run."""

    def __init__(self, spec, implementation, input_shapes, options, python2, timeout):
        self.absolute = _resolved(spec)[0]
        self.path, self.function = parse_spec(spec)  # for messages: as the user wrote it
        self.spec, self.implementation, self.input_shapes, self.options = spec, implementation, input_shapes, options
        self.python2 = python2
        self.timeout = None if timeout is not None and timeout <= 0 else timeout

    def run(self, implementation=None, gpu_modules="allow", python2=None) -> "BuildResult":
        return build_in_child(self.spec, implementation or self.implementation, self.input_shapes, self.options,
                              self.python2 if python2 is None else python2, gpu_modules, self.timeout)


def _why(python3_failure) -> str:
    """``; as Python 3 it raised TypeError: ... at models.py:129`` from the Python 3 build's error."""
    if not python3_failure:
        return ""
    for marker, said in ((": the build function ", "it "), (": importing the network file failed: ",
                                                           "importing it failed: "), (": ", "")):
        if marker in python3_failure:
            return f"; as Python 3 {said}{python3_failure.split(marker, 1)[1]}"
    return ""


def build_in_child(spec: str, implementation: str = "auto", input_shapes=None, options=None, python2=False,
                   gpu_modules: str = "allow", timeout: float | None = DEFAULT_TIMEOUT, stdout=None,
                   stderr=None) -> BuildResult:
    """Run ``capture_network`` on ``spec`` in a child process; a child that fails to report is a
    NetworkError naming the build file.  The child's output goes to ``stdout``/``stderr`` (default:
    this process's)."""
    path, fn, arguments = _resolved(spec)
    request = {"spec": f"{path}:{fn}({arguments})" if arguments else f"{path}:{fn}", "lasagne": implementation,
               "python2": bool(python2), "gpu_modules": gpu_modules, "options": options or {},
               "input_shapes": [[k, list(v)] for k, v in (input_shapes or {}).items()]}
    workdir = tempfile.mkdtemp(prefix="lasagne2onnx-build-")
    try:
        with open(os.path.join(workdir, "request.json"), "w", encoding="utf-8") as f:
            json.dump(request, f)
        status, elapsed = _run_child(workdir, timeout, stdout or sys.stdout, stderr or sys.stderr)
        result = read_json(os.path.join(workdir, "result.json"))
        shown = parse_spec(spec)[0]
        if result is not None:
            return BuildResult(result, (path, shown))
        raise NetworkError(f"{shown}: {_what_happened(status, elapsed, timeout, workdir, path)}")
    finally:
        _remove(workdir)


def _resolved(spec: str):
    """``(absolute path, function, arguments text)`` of ``spec``."""
    from .build_args import split_spec

    path, fn, arguments = split_spec(spec)
    if not os.path.exists(path):
        raise NetworkError(f"{path}: network file not found")
    return os.path.abspath(path), fn, arguments


def _run_child(workdir, timeout, stdout, stderr):
    """Start the child, forward its output until it ends (or the time is up: then kill it and its
    process group); returns ``(exit status, seconds)``, status None when it was stopped."""
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no .pyc beside the user's files
    env["PYTHONUNBUFFERED"] = "1"  # progress shows as it happens
    start = time.monotonic()
    child = subprocess.Popen([sys.executable, "-m", "exporter.frontends.build_worker", workdir],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True, env=env)
    streams = {child.stdout.fileno(): _Forward(stdout), child.stderr.fileno(): _Forward(stderr)}
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    status = None
    try:
        while True:
            left = None if timeout is None else start + timeout - time.monotonic()
            if left is not None and left <= 0:
                _ask_where(child, workdir)
                break
            open_fds = selector.get_map()
            if open_fds:
                for key, _ in selector.select(timeout=min(0.2, left) if left is not None else 0.2):
                    if not _pump(key.fd, streams[key.fd]):
                        selector.unregister(key.fd)
            status = child.poll()
            if status is not None:
                break
            if not open_fds:
                time.sleep(0.02)
        if status is not None:  # what is left in the pipes (not waiting for processes the build code started)
            until = time.monotonic() + 0.5
            for key, _ in selector.select(timeout=0):
                while time.monotonic() < until and _pump(key.fd, streams[key.fd], drain=True):
                    pass
    finally:
        selector.close()
        _kill_group(child)
        for forward in streams.values():
            forward.close()
        child.stdout.close()
        child.stderr.close()
    return status, time.monotonic() - start


def _pump(fd, forward, drain=False) -> bool:
    """Read what is there; False at end of file."""
    try:
        data = os.read(fd, 1 << 16)
    except BlockingIOError:
        return False if drain else True
    if not data:
        return False
    forward.write(data)
    return True


class _Forward:
    """Copies the child's bytes to a text stream, up to FORWARD_LIMIT; counts the rest."""

    def __init__(self, stream):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.shown = self.dropped = 0

    def write(self, data: bytes):
        room = max(0, FORWARD_LIMIT - self.shown)
        self.shown += min(room, len(data))
        self.dropped += len(data) - min(room, len(data))
        if room and self.stream is not None:
            try:
                self.stream.write(self.decoder.decode(data[:room]))
                self.stream.flush()
            except (OSError, ValueError):  # our own stdout is closed or gone: the build goes on
                self.stream = None

    def close(self):
        if self.dropped and self.stream is not None:
            try:
                print(f"(the build code wrote {self.dropped:,} more bytes here; not shown)", file=self.stream)
            except (OSError, ValueError):
                pass


def _ask_where(child, workdir):
    """Before stopping a child that ran out of time: have its fault handler write where it is."""
    fault = os.path.join(workdir, "fault.txt")
    if WHERE_ARE_YOU is None:
        return
    try:
        size = os.path.getsize(fault)
        child.send_signal(WHERE_ARE_YOU)
    except OSError:
        return
    until = time.monotonic() + 1.0
    while time.monotonic() < until and child.poll() is None:
        time.sleep(0.02)
        try:
            if os.path.getsize(fault) > size:
                time.sleep(0.05)  # let it finish the dump
                return
        except OSError:
            return


def _kill_group(child):
    """End the child and whatever it started (its own process group), and reap it."""
    try:
        if hasattr(os, "killpg"):
            os.killpg(child.pid, signal.SIGKILL)
        else:  # pragma: no cover - no process groups (Windows): the child alone
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process in uninterruptible sleep
        pass


def _what_happened(status, elapsed, timeout, workdir, path) -> str:
    """Why the child left no result, in words."""
    where = _fault_location(os.path.join(workdir, "fault.txt"), path)
    if status is None:
        return (f"the build code did not finish within {timeout:g} s (--build-timeout; an endless loop, or "
                f"waiting for something?); it was stopped{where}")
    if status < 0:
        sig = -status
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        what = _SIGNAL_NOTES.get(sig, f"was ended by {name}")
        return f"the process running the build code {what}{where}; no network was captured"
    return (f"the build code ended its process (os._exit or an interpreter exit, status {status}){where} before "
            f"the network was captured")


def _fault_location(fault_file, path) -> str:
    """`` at build.py:12`` from Python's fault handler dump (a crash), the innermost frame of the user's."""
    try:
        with open(fault_file, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return ""
    from .user_sources import _machinery

    frames = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('File "') and '", line ' in line:
            filename, _, rest = line[len('File "'):].partition('", line ')
            frames.append((filename, rest.split()[0]))
    for filename, lineno in frames:  # the dump lists the innermost frame first
        if not _machinery(filename):
            return f" at {os.path.basename(filename)}:{lineno}"
    return ""


def _remove(workdir):
    import shutil

    shutil.rmtree(workdir, ignore_errors=True)
