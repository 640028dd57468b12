"""Regenerate the op table of docs/importers.md from the importers' registries and the exporter's
``emits=`` declarations:

    .venv/bin/python scripts/importer_op_table.py           # rewrite the table in docs/importers.md
    .venv/bin/python scripts/importer_op_table.py --check   # exit 1 if the committed table is stale
"""
import os
import sys

from _doc_section import main

if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.exit(main("docs/importers.md", "exporter.importers.op_table", "the op table", __doc__))
