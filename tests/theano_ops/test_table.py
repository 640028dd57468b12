"""The op table's documentation (docs/theano_ops.md) lists every lowering and every ONNX op they emit."""
import os
import re

from tests.theano_ops.harness import ROOT


def test_docs_list_every_lowering_and_emitted_op():
    import exporter.theano_ops  # noqa: F401  (registers the lowerings)
    from exporter.registry import LOWERINGS

    with open(os.path.join(ROOT, "docs", "theano_ops.md")) as f:
        doc = f.read()
    documented = set(re.findall(r"`([\w.]+)`", doc))
    missing = [op for op in LOWERINGS.names() if op not in documented and op.rsplit(".", 1)[-1] not in documented]
    assert not missing, f"lowerings missing from docs/theano_ops.md: {missing}"
    listed = set(re.findall(r"\w+", doc.split("Every ONNX op above:")[1].split(".")[0]))
    emitted = {op for entry in LOWERINGS.entries() for op in entry.emits}
    assert emitted <= listed, f"ONNX ops missing from the list in docs/theano_ops.md: {sorted(emitted - listed)}"


def test_the_generated_traced_and_refused_table_is_current():
    """docs/theano_ops.md's "Coverage (generated)" section is what the registry says (one row per lowering, one per
    op refused by name): ``python scripts/theano_ops_table.py`` rewrites it."""
    from exporter import registry
    from exporter.theano_ops import table

    with open(os.path.join(ROOT, "docs", "theano_ops.md")) as f:
        text = f.read()
    assert table.BEGIN in text and table.replace_section(text, table.markdown()) == text, \
        "stale: run python scripts/theano_ops_table.py"
    section = text[text.index(table.BEGIN):text.index(table.END)]
    assert all(f"| `{e.name}` | {e.since} |" in section for e in registry.LOWERINGS.entries())
