"""Helpers shared by the benchmark scripts.  Standard library only: the parent process stays small, so
the peak RSS that Linux reports for a child (which starts from its parent's RSS at exec time) is the
child's own."""
from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
LEGACY_PYTHON = os.environ.get("LASAGNE2ONNX_LEGACY_PYTHON", os.path.join(ROOT, ".venv-legacy", "bin", "python"))
THEANO_FLAGS = "floatX=float32,blas.ldflags=-lopenblas"


def env(**extra):
    e = dict(os.environ)
    e["PYTHONPATH"] = ROOT + (os.pathsep + e["PYTHONPATH"] if e.get("PYTHONPATH") else "")
    e.setdefault("PYTHONWARNINGS", "ignore")
    e.update({k: str(v) for k, v in extra.items()})
    return e


class ChildFailed(RuntimeError):
    pass


GNU_TIME = "/usr/bin/time"


def measure(cmd, cwd=None, environ=None, log=None):
    """Run ``cmd`` in a fresh process; returns ``(wall seconds, peak RSS bytes, stdout text)``.

    The peak RSS is the command's own maximum resident set size, taken by GNU time (``%M``) when
    ``/usr/bin/time`` exists, else ``ru_maxrss`` from ``wait4`` on the child.  (Linux starts a
    process's ``ru_maxrss`` at its parent's peak when it execs straight from that parent, which the
    extra ``time`` process avoids; without it this parent must stay small.)  The wall time includes
    the ~1 ms ``time`` adds.
    """
    base = log or os.path.join(cwd or ".", ".bench_child")
    out_path, rss_path = base + ".out", base + ".rss"
    cmd = [str(c) for c in cmd]
    gnu = os.access(GNU_TIME, os.X_OK)
    if gnu:
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_path] + cmd
    with open(out_path, "w+b") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=environ or env(), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    os.unlink(out_path)
    peak_kb = usage.ru_maxrss
    if gnu:
        with open(rss_path) as f:
            lines = f.read().split()
        os.unlink(rss_path)
        peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else peak_kb
    if p.returncode != 0:
        raise ChildFailed(f"{' '.join(cmd)} exited with {p.returncode}:\n{text[-3000:]}")
    return wall, peak_kb * 1024, text


def _tree(root):
    """``root`` and its descendants (pids), from /proc."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:  # gone, or no children files: fall back to scanning every process's parent
            todo.extend(_children_by_scan(pid))
    return pids


def _children_by_scan(parent):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rpartition(")")[2].split()
                if int(fields[1]) == parent:
                    out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _memory(pid):
    """(Pss, Rss) in bytes, or None when the process is gone.  Pss shares each page among the
    processes that map it (a child forked from a large parent shares its pages until it execs)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            fields = dict(line.split(":", 1) for line in f if line.startswith(("Rss:", "Pss:")))
        return int(fields["Pss"].split()[0]) * 1024, int(fields["Rss"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def measure_tree(cmd, cwd=None, environ=None, interval=0.005):
    """Run ``cmd`` and follow its whole process tree (children included, e.g. the build process of
    ``--network``): returns ``(wall seconds, tree peak, stdout text)``.

    *tree peak* is the largest total memory of the tree's processes seen at one moment, sampled
    every ``interval`` seconds from /proc: the sum of their proportional set sizes (Pss: a page
    mapped by several processes counts once in all, so a child forked from a large parent before
    it execs is not counted twice).  Linux only."""
    base = os.path.join(cwd or ".", ".bench_tree")
    cmd = [str(c) for c in cmd]
    peak = 0
    with open(base + ".out", "w+b") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, env=environ or env(), stdout=out, stderr=subprocess.STDOUT)
        while p.poll() is None:
            total = sum(m[0] for m in map(_memory, _tree(p.pid)) if m)
            peak = max(peak, total)
            time.sleep(interval)
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    os.unlink(base + ".out")
    if p.returncode != 0:
        raise ChildFailed(f"{' '.join(cmd)} exited with {p.returncode}:\n{text[-3000:]}")
    return wall, peak, text


def run(cmd, cwd=None, environ=None):
    """Run a helper step (not measured); raise with its output on failure."""
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=environ or env(), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    text = p.stdout.decode("utf-8", "replace")
    if p.returncode != 0:
        raise ChildFailed(f"{' '.join(map(str, cmd))} exited with {p.returncode}:\n{text[-3000:]}")
    return text


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def machine():
    import platform

    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.node() or 'host'}: {os.cpu_count()} CPUs ({cpu}), Python {sys.version.split()[0]}"


# -- models and timing (shared by the .venv children and the Theano worker in .venv-legacy) -------------
# name -> (how to build it, input shape without the batch dimension)
MODELS = {
    "small": ("models/example/build.py (conv+BN, pool, dense, softmax)", (1, 28, 28)),
    "vgg16": ("models/zoo/vgg16.py", (3, 224, 224)),
    "resnet50": ("models/zoo/resnet50.py", (3, 224, 224)),
}


def build_network(name):
    """The network's output layer, built with whichever ``lasagne`` is importable (real or compat)."""
    import importlib
    import importlib.util

    if name == "small":
        spec = importlib.util.spec_from_file_location("example_build", os.path.join(ROOT, "models", "example", "build.py"))
        example = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(example)
        net = example.build_model()
    else:
        net = importlib.import_module("models.zoo." + name).build_model()
    return list(net.values())[-1]


def time_batches(fn, inputs, batches, repeats, budget, min_seconds=1.0, max_runs=50):
    """Median seconds per call of ``fn(x)`` for each batch size after one warm-up call.

    Runs at least ``repeats`` times (more, up to ``max_runs``, while they total under ``min_seconds``),
    fewer when the warm-up shows that ``repeats`` runs would pass ``budget`` seconds; a batch whose
    warm-up alone is estimated (from the previous batch size) to pass the budget is skipped.
    Returns ``({batch: {"ms": median, "runs": n} or {"skipped": why}}, {batch: output})``.
    """
    results, outputs, prev = {}, {}, None
    for b in batches:
        if prev is not None:
            estimate = prev[1] * b / prev[0]
            if 2 * estimate > budget:
                results[b] = {"skipped": f"~{estimate:.0f} s per batch (extrapolated from batch {prev[0]}): "
                                         f"warm-up + 1 run would pass the {budget:.0f} s budget (--budget)"}
                continue
        x = inputs[b]
        t0 = time.perf_counter()
        outputs[b] = fn(x)
        warm = time.perf_counter() - t0
        n = max(1, min(repeats, int((budget - warm) / max(warm, 1e-9))))
        if warm * repeats < min_seconds:
            n = min(max_runs, max(repeats, int(min_seconds / max(warm, 1e-9))))
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t0)
        results[b] = {"ms": 1e3 * median(times), "min_ms": 1e3 * min(times), "runs": n, "warmup_ms": 1e3 * warm}
        prev = (b, median(times))
    return results, outputs
