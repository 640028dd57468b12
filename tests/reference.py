"""Reference data from the real Lasagne on Theano, computed once per content hash and cached.

The legacy environment (``.venv-legacy``, see ``scripts/setup-legacy.sh``) runs
``tests/legacy/reference_worker.py`` over every case in ``tests/cases``; results land in
``.cache/reference/<hash>/`` where the hash covers every file that can change them.  A file lock
makes parallel test workers share one computation.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from filelock import FileLock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY_PYTHON = os.environ.get("LASAGNE2ONNX_LEGACY_PYTHON", os.path.join(ROOT, ".venv-legacy", "bin", "python"))
THEANO_FLAGS = "floatX=float32,blas.ldflags=-lopenblas"
# what the reference depends on: the cases, the worker and the capture code it runs
HASHED = ["tests/cases", "tests/legacy", "tests/random_params.py", "models/zoo", "exporter/frontends", "exporter/layers", "exporter/ir.py",
          "exporter/compat/lasagne/_symbolic", "exporter/registry.py", "exporter/errors.py", "exporter/schema.py"]
WORKERS = int(os.environ.get("LASAGNE2ONNX_REFERENCE_WORKERS", "2"))


def content_hash(extra=()) -> str:
    """Hash of the HASHED files, plus the ``extra`` ones (files or folders) when given."""
    h = hashlib.sha256()
    for rel in list(HASHED) + list(extra):
        path = os.path.join(ROOT, rel)
        files = [path] if os.path.isfile(path) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs if f.endswith(".py"))
        for f in files:
            h.update(os.path.relpath(f, ROOT).encode())
            with open(f, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()[:16]


@dataclass
class Reference:
    name: str
    graph_json: str | None  # None also when the real capture refused a "traced" case (capture_error)
    weights_path: str | None
    io: dict | None
    error: str | None
    capture_error: str | None = None

    @property
    def inputs(self) -> dict:
        return {k[3:]: v for k, v in self.io.items() if k.startswith("in:")}

    @property
    def outputs(self) -> dict:
        return {k[4:]: v for k, v in self.io.items() if k.startswith("out:")}


WORKER = os.path.join("tests", "legacy", "reference_worker.py")


def _run_worker(out_dir, names, worker=WORKER):
    env = dict(os.environ, THEANO_FLAGS=THEANO_FLAGS, PYTHONWARNINGS="ignore")
    proc = subprocess.run([LEGACY_PYTHON, os.path.join(ROOT, worker), out_dir, *names],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"reference worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}")
    return proc.stdout


def ensure_references(names, worker=WORKER, hashed_extra=()) -> str:
    """Compute (or reuse) references for ``names``; returns the cache directory.

    ``worker`` (a script path relative to the repository root, run in the legacy environment as
    ``worker OUT_DIR NAME...``, writing ``NAME.io.npz`` or ``NAME.error`` last) and ``hashed_extra``
    (files it depends on beyond HASHED) let other reference sets share this cache: see
    tests/zoo_full.py."""
    if not os.path.exists(LEGACY_PYTHON):
        raise RuntimeError(f"the legacy Theano environment is missing ({LEGACY_PYTHON}); run scripts/setup-legacy.sh")
    out_dir = os.path.join(ROOT, ".cache", "reference", content_hash(hashed_extra))
    os.makedirs(out_dir, exist_ok=True)
    with FileLock(out_dir + ".lock"):
        todo = [n for n in names if not any(os.path.exists(os.path.join(out_dir, n + ext)) for ext in (".io.npz", ".error"))]
        if todo:
            chunks = [todo[i::WORKERS] for i in range(WORKERS) if todo[i::WORKERS]]
            with ThreadPoolExecutor(len(chunks)) as pool:
                for log in pool.map(lambda c: _run_worker(out_dir, c, worker), chunks):
                    sys.stderr.write(log)
    return out_dir


def compat_capture(case):
    """The layer graph of ``case`` built on the Theano-free Lasagne API (inside the tracer, as
    ``--network`` runs build code), with the reference worker's seeds so that random draws at build
    time (initial values, masks) are the same."""
    import zlib

    from exporter import compat

    compat.activate()
    import lasagne
    from lasagne._shared import tracing

    from exporter.frontends.lasagne_live import capture

    seed = zlib.crc32(case.name.encode())
    np.random.seed(seed % 2**31)
    lasagne.random.set_rng(np.random.RandomState(seed % 2**31))
    with tracing():
        net = case.build()
    return capture(net, source="compat (Theano-free tracer)", options={"lstm_peepholes": "0.1"})


def reference_graph(ref, case):
    """The graph to export for a reference: the real Lasagne's capture (a layer without a converter
    read from Theano's own graph of its get_output_for, exporter/frontends/theano_graph.py), or, for a
    "traced" case that reader refused, the Theano-free tracer's capture of the same build code, with a
    warning saying so (checked here against what Theano computed: the same layers, in order, with
    Theano's sizes)."""
    import warnings

    from exporter.ir import LayerGraph

    if ref.graph_json is not None:
        return LayerGraph.from_json(ref.graph_json)
    assert "traced" in case.tags and ref.capture_error, f"{ref.name}: no captured graph"
    warnings.warn(f"{ref.name}: the real Lasagne's capture refused it ({ref.capture_error.splitlines()[0]}); "
                  f"exporting the Theano-free tracer's capture of the same build code instead")
    graph = compat_capture(case)
    assert [l.name for l in graph.layers] == [k for k in ref.outputs], "traced layers differ from Theano's"
    for l in graph.layers:
        theano_shape = ref.outputs[l.name].shape
        assert len(l.output_shape) == len(theano_shape) and all(
            s is None or s == t for s, t in zip(l.output_shape, theano_shape)),             f"{l.name}: Lasagne shape {l.output_shape}, Theano computed {theano_shape}"
    return graph


def load_reference(name) -> Reference:
    out_dir = ensure_references([name])
    err = os.path.join(out_dir, name + ".error")
    if os.path.exists(err):
        with open(err) as f:
            return Reference(name, None, None, None, f.read())
    graph_json = capture_error = None
    if os.path.exists(os.path.join(out_dir, name + ".capture_error")):
        with open(os.path.join(out_dir, name + ".capture_error")) as f:
            capture_error = f.read()
    else:
        with open(os.path.join(out_dir, name + ".json")) as f:
            graph_json = f.read()
    with np.load(os.path.join(out_dir, name + ".io.npz")) as z:
        io = {k: z[k] for k in z.files}
    return Reference(name, graph_json, os.path.join(out_dir, name + ".npz"), io, None, capture_error)
