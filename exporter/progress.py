"""Progress of long commands, drawn with rich on a terminal and silent elsewhere.

:func:`printer` returns a callback ``(done, total, what)`` (or None when nothing is to be drawn) that the
export, the writer and the importers call as they go.  Each kind of work is a rich progress bar on
stderr, started at its first call and stopped once ``done`` reaches ``total``:

* ``what`` starting with ``writing``: bytes written, shown in MB;
* anything else: a count (layers converted, steps of an import), shown as ``label what``.

Drawn when stderr is a terminal and ``CI`` is not set, or when forced (``--progress``).
"""
from __future__ import annotations

import os
import sys

_active = []  # rich Progress displays started and not yet stopped


def wanted(force: bool | None = None, stream=None) -> bool:
    """Whether to draw: ``force`` when given, else on a terminal outside CI."""
    if force is not None:
        return bool(force)
    stream = stream or sys.stderr
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("CI")


def printer(enabled: bool | None = None, stream=None, label: str = "converted"):
    """A progress callback ``(done, total, what)``, or None when progress is not wanted (see :func:`wanted`)."""
    stream = stream or sys.stderr
    if not wanted(enabled, stream):
        return None
    bars = {}  # kind -> (rich Progress, task id)

    def show(done, total, what):
        kind = "bytes" if what.startswith("writing") else "count"
        if kind not in bars:
            bars[kind] = _start(stream, kind, what if kind == "bytes" else f"{label} {what}".strip(), total)
        bar, task = bars[kind]
        if kind == "bytes":
            bar.update(task, completed=done / 1e6, total=max(total, 1) / 1e6, description=what)
        else:
            bar.update(task, completed=done, total=max(total, 1), description=f"{label} {what}"[:60].strip())
        bar.refresh()  # every step drawn at least once, however quick
        if done >= total:
            _stop(bar)
            del bars[kind]

    return show


def _start(stream, kind, what, total):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=stream, force_terminal=True if not stream.isatty() else None, stderr=stream is sys.stderr)
    amount = TextColumn("{task.completed:,.1f} / {task.total:,.1f} MB") if kind == "bytes" else MofNCompleteColumn()
    bar = Progress(TextColumn("{task.description}"), BarColumn(), amount, TimeElapsedColumn(), console=console,
                   redirect_stdout=False, redirect_stderr=False)
    task = bar.add_task(what, total=max(total, 1) / (1e6 if kind == "bytes" else 1))
    bar.start()
    _active.append(bar)
    return bar, task


def _stop(bar):
    bar.stop()
    if bar in _active:
        _active.remove(bar)


def steps(progress, names):
    """Report the named steps of a command through ``progress`` (which may be None): returns
    ``step(name)``, to call as each step starts, and ``done()``."""
    names = list(names)

    def step(name):
        if progress:
            progress(names.index(name), len(names), name)

    def done():
        if progress:
            progress(len(names), len(names), names[-1])

    return step, done


def stop_all():
    """End every progress display (before an error message, so that it gets a line of its own)."""
    for bar in list(_active):
        _stop(bar)
