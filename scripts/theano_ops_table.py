"""Regenerate the traced/refused table of docs/theano_ops.md from the op table's registry:

    .venv/bin/python scripts/theano_ops_table.py           # rewrite the section in docs/theano_ops.md
    .venv/bin/python scripts/theano_ops_table.py --check   # exit 1 if the committed section is stale
"""
import sys

from _doc_section import main

if __name__ == "__main__":
    sys.exit(main("docs/theano_ops.md", "exporter.theano_ops.table", "the traced/refused table", __doc__))
