"""The module graph of ``exporter/`` and ``passes/`` has no import cycle (function-level imports
included: a cycle hidden inside a function is still a cycle), and ``passes/`` sits below the pipeline
that runs it: it imports only the foundation modules (IR dataclasses, errors, metadata, payload
helpers), which import nothing above themselves.

Read statically from the sources (``ast``), so nothing is executed.  Imports made by name at run time
(``importlib.import_module``: the CLI's commands, a package loading its family modules) are not seen.
"""
from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("exporter", "passes")

# what passes may import, and what these may import in turn: nothing of the pipeline above them
FOUNDATION = {"exporter", "exporter.errors", "exporter.ir", "exporter.metadata", "exporter.model_io",
              "exporter.io", "exporter.accuracy"}


def modules(root, packages=PACKAGES) -> dict:
    """dotted name -> (path, is_package) for every .py file under the packages."""
    found = {}
    for pkg in packages:
        for folder, _, files in os.walk(os.path.join(root, pkg)):
            for f in sorted(files):
                if not f.endswith(".py"):
                    continue
                path = os.path.join(folder, f)
                dotted = os.path.relpath(path, root)[:-3].replace(os.sep, ".")
                is_pkg = dotted.endswith(".__init__")
                found[dotted[:-len(".__init__")] if is_pkg else dotted] = (path, is_pkg)
    return found


def _targets(name, is_pkg, node, known) -> list:
    """The known modules an import statement in module ``name`` loads (with their parent packages)."""
    if isinstance(node, ast.Import):
        wanted = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = name.split(".") if is_pkg else name.split(".")[:-1]
            parts = parts[:len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        wanted = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out = []
    for target in wanted:
        while target and target not in known:  # "from exporter.ir import X" where X is not a module
            target = target.rpartition(".")[0]
        while target:  # importing a.b.c runs a and a.b first
            if target != name and not name.startswith(target + "."):
                out.append(target)
            target = target.rpartition(".")[0]
            if target not in known:
                break
    return out


def import_graph(root, packages=PACKAGES) -> dict:
    """module -> {imported module: first line number}, over module- and function-level imports."""
    known = modules(root, packages)
    graph = {}
    for name, (path, is_pkg) in known.items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        edges = graph.setdefault(name, {})
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(name, is_pkg, node, known):
                    edges.setdefault(target, node.lineno)
    return graph


def cycles(graph) -> list:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _describe(graph, component) -> str:
    members = set(component)
    return "; ".join(f"{a} -> {b} (line {line})" for a in component for b, line in sorted(graph[a].items())
                     if b in members)


def test_no_import_cycle():
    graph = import_graph(ROOT)
    assert {"exporter.convert", "exporter.optimize", "passes.onnx_rewrite"} <= set(graph)  # the walk ran
    found = cycles(graph)
    assert not found, "import cycles: " + " | ".join(_describe(graph, c) for c in found)


def test_passes_import_only_the_foundation():
    graph = import_graph(ROOT)
    bad = [f"{m} imports {t} (line {line})" for m, edges in sorted(graph.items()) if m.split(".")[0] == "passes"
           for t, line in sorted(edges.items()) if t.split(".")[0] != "passes" and t not in FOUNDATION]
    assert not bad, bad


def test_foundation_imports_nothing_above_it():
    graph = import_graph(ROOT)
    assert FOUNDATION <= set(graph), sorted(FOUNDATION - set(graph))
    bad = [f"{m} imports {t} (line {line})" for m in sorted(FOUNDATION) for t, line in sorted(graph[m].items())
           if t not in FOUNDATION]
    assert not bad, bad


def test_pipeline_sits_above_convert_and_optimize():
    graph = import_graph(ROOT)
    assert {"exporter.convert", "exporter.optimize"} <= set(graph["exporter.pipeline"])
    users = sorted(m for m, edges in graph.items() if "exporter.pipeline" in edges)
    assert all(m.startswith("exporter.commands.") or m == "exporter.cli" for m in users), users


def test_the_checks_see_function_level_cycles_and_relative_imports(tmp_path):
    """The checker itself: a cycle closed by an import inside a function, through a relative import."""
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from demo import c\n    return c\n")
    (pkg / "c.py").write_text("import os\n\ndef later():\n    from . import a\n")
    graph = import_graph(str(tmp_path), ("demo",))
    assert cycles(graph) == [["demo.a", "demo.b", "demo.c"]]
    (pkg / "c.py").write_text("import os\n")
    assert cycles(import_graph(str(tmp_path), ("demo",))) == []


@pytest.mark.parametrize("key", ["lasagne2onnx.layers", "lasagne2onnx.optimized", "lasagne2onnx.pickle."])
def test_metadata_keys_are_written_in_one_place(key):
    """Each metadata key is spelled once, in exporter/metadata.py."""
    spelled = []
    for name, (path, _) in modules(ROOT).items():
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), path)
        if any(isinstance(n, ast.Constant) and n.value == key for n in ast.walk(tree)):
            spelled.append(name)
    assert spelled == ["exporter.metadata"], spelled
