"""Regenerate the traced/refused table of docs/theano_ops.md from the op table's registry:

    .venv/bin/python scripts/theano_ops_table.py           # rewrite the section in docs/theano_ops.md
    .venv/bin/python scripts/theano_ops_table.py --check   # exit 1 if the committed section is stale
"""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "theano_ops.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that docs/theano_ops.md is current")
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    from exporter.theano_ops import table

    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    new = table.replace_section(text, table.markdown())
    if args.check:
        if new != text:
            print(f"{DOC}: the traced/refused table is stale; run python scripts/theano_ops_table.py",
                  file=sys.stderr)
            return 1
        return 0
    if new != text:
        with open(DOC, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"updated the traced/refused table in {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
