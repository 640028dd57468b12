"""The importers' op table, generated from the registries (as onnx2torch generates its operators.md).

Every ONNX op either importer registers or refuses, or that a layer converter or a Theano-op lowering
declares it can emit (``emits=``), with what each importer does with it.  ``docs/importers.md`` holds
the table between :data:`BEGIN` and :data:`END`; ``python scripts/importer_op_table.py`` rewrites it,
``tests/test_importer_coverage.py`` checks the committed one is current.
"""
from __future__ import annotations

BEGIN = "<!-- op table: generated from the registries by scripts/importer_op_table.py; do not edit by hand -->"
END = "<!-- end of the op table -->"


def importers() -> dict:
    """target name -> its :class:`~exporter.importers.onnx_reader.OpRegistry` (imports both packages)."""
    from .to_keras.builder import REGISTRY as keras_registry
    from .to_torch.generator import REGISTRY as torch_registry
    from . import to_keras, to_torch  # noqa: F401  (every op family module registers itself)

    return {torch_registry.target: torch_registry, keras_registry.target: keras_registry}


def emitters() -> dict:
    """ONNX op -> the layer kinds (converters) and Theano ops (lowerings) that declare they can emit it."""
    from .. import registry

    registry.load_all()
    found = {}
    for table, what in ((registry.CONVERTERS, "{}"), (registry.LOWERINGS, "`{}`")):
        for entry in table.entries():
            for op in entry.emits:
                found.setdefault(op, []).append(what.format(entry.name))
    return {op: sorted(set(names)) for op, names in found.items()}


def _cell(reg, op) -> str:
    from .onnx_reader import READ_AS_CONSTANTS

    versions = reg.table.versions(op)
    if versions:
        sinces = [e.since for e in versions]
        if sinces == [1]:
            return "yes"
        spans = [f"{a}-{b - 1}" for a, b in zip(sinces, sinces[1:])] + [f"{sinces[-1]}+"]
        return "yes (opset " + ", ".join(spans) + ")"
    if op in reg.refused:
        return f"refused: {reg.refused[op]}"
    if op in READ_AS_CONSTANTS:
        return READ_AS_CONSTANTS[op]
    return "**no**"


def markdown() -> str:
    regs = importers()
    emitted = emitters()
    ops = sorted(set(emitted).union(*(set(r.supported()) | set(r.refused) for r in regs.values())))
    lines = [BEGIN, "", "| ONNX op | " + " | ".join(f"`{t}`" for t in regs) + " | emitted by |",
             "|---|" + "---|" * len(regs) + "---|"]
    for op in ops:
        cells = [_cell(reg, op) for reg in regs.values()]
        lines.append(f"| {op} | " + " | ".join(cells) + f" | {', '.join(emitted.get(op, []))} |")
    lines += ["", f"{len(ops)} ops; \"emitted by\" lists the layer kinds (converters in `exporter/layers`) and traced "
              "Theano ops (lowerings) that declare the op in `emits=`.", "", END]
    return "\n".join(lines)


def replace_section(text: str, table: str) -> str:
    """``text`` with the part from BEGIN to END replaced by ``table``."""
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + table + text[end:]


def section(text: str) -> str:
    return text[text.index(BEGIN):text.index(END) + len(END)]
