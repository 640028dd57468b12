"""Regenerate the op table of docs/importers.md from the importers' registries and the exporter's
``emits=`` declarations:

    .venv/bin/python scripts/importer_op_table.py           # rewrite the table in docs/importers.md
    .venv/bin/python scripts/importer_op_table.py --check   # exit 1 if the committed table is stale
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "importers.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that docs/importers.md is current")
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    from exporter.importers import op_table

    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    new = op_table.replace_section(text, op_table.markdown())
    if args.check:
        if new != text:
            print(f"{DOC}: the op table is stale; run python scripts/importer_op_table.py", file=sys.stderr)
            return 1
        return 0
    if new != text:
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"updated the op table in {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
