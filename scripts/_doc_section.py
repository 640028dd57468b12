"""The command behind scripts/importer_op_table.py and scripts/theano_ops_table.py: rewrite (or, with
``--check``, check) the generated section of a document from a module's ``markdown()`` and ``replace_section()``."""
import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main(doc: str, module: str, what: str, description: str) -> int:
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help=f"only check that {doc} is current")
    args = ap.parse_args()
    sys.path.insert(0, ROOT)
    import importlib

    table = importlib.import_module(module)
    path = os.path.join(ROOT, doc)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    new = table.replace_section(text, table.markdown())
    if args.check:
        if new != text:
            print(f"{path}: {what} is stale; run python {os.path.relpath(sys.argv[0], ROOT)}", file=sys.stderr)
            return 1
        return 0
    if new != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(new)
        print(f"updated {what} in {path}")
    return 0
