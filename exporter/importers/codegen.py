"""Safe Python source emission for generated model code (``to-torch``'s ``model.py``).

Everything the importers put into generated source goes through one of these:

* :func:`docstring_text` for text inside a triple-quoted docstring (file names, notes): backslashes,
  quotes, control and non-ASCII characters are escaped, so the text can neither end the docstring
  nor form an invalid escape (``\\N``, ``\\x``);
* :func:`float_source` for a number: the shortest float32 decimal, or ``float('nan')`` /
  ``float('inf')`` / ``float('-inf')`` (a bare ``nan`` would be a NameError);
* identifiers come from :func:`exporter.importers.onnx_reader.identifier` (letters, digits, ``_``).

:func:`check_generated` then parses the whole source before anything executes it and refuses
anything beyond the shape a generator writes (a docstring, the torch imports, one class per traced
layer or Scan step, ``class Model``; methods that only reach local names, ``self``, ``torch``/``nn``/``F``
and a few builtins, and in an ``__init__`` the classes defined above it).  A
string that slipped past the escaping could only add code of another shape: it is refused, never run.
"""
from __future__ import annotations

import ast
import math

from ..errors import ExportError

SAFE_BUILTINS = frozenset({"float", "int", "len", "range", "tuple", "list", "min", "max", "super"})
_ALLOWED_IMPORTS = frozenset({"torch", "torch.nn", "torch.nn.functional", "math"})


def docstring_text(text: str) -> str:
    """``text`` escaped for the inside of a ``\"\"\"...\"\"\"`` docstring: it reads back as ``text``."""
    escaped = str(text).encode("unicode_escape").decode("ascii")  # backslashes, controls, non-ASCII
    return escaped.replace('"', '\\"')


def float_source(x, float32: bool = True) -> str:
    """Python source for the value ``x``: the shortest decimal that reads back as the same float32
    (as the same float64 with ``float32=False``); non-finite values spelled out."""
    from .onnx_reader import float_literal

    v = float_literal(x) if float32 else float(x)
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "float('-inf')"
    return repr(v)


class GeneratedSourceError(ExportError):
    """Generated source that does not have the shape the generator writes (never executed)."""


def check_generated(source: str, what: str = "generated model.py") -> ast.Module:
    """Parse ``source`` and refuse (GeneratedSourceError) anything a generator would not write: a
    docstring, the torch imports, the classes of traced layers and Scan steps (``class <Name>(nn.Module)``
    with a docstring, ``__init__`` and ``forward``), then ``class Model(nn.Module)``; a class's ``__init__``
    may instantiate the classes defined before it (a Scan step holding a Scan: its step's class)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise GeneratedSourceError(f"{what} is not valid Python ({e.msg}, line {e.lineno}); not written") from None
    body = list(tree.body)
    if body and _is_docstring(body[0]):
        body = body[1:]
    classes = set()
    for stmt in body:
        if isinstance(stmt, ast.Import):
            bad = [a.name for a in stmt.names if a.name not in _ALLOWED_IMPORTS]
        elif isinstance(stmt, ast.ClassDef) and _is_module_class(stmt) and "Model" not in classes \
                and stmt.name not in classes and (stmt.name == "Model" or stmt.name not in CLASS_RESERVED):
            bad = _check_class(stmt, frozenset(classes))
            classes.add(stmt.name)
        else:
            bad = [type(stmt).__name__ if not isinstance(stmt, ast.ClassDef) else f"class {stmt.name}"]
        _refuse(what, stmt, bad)
    return tree


# names the class of a traced layer must not take: what generated code reads at module level
CLASS_RESERVED = frozenset({"torch", "nn", "F", "math"}) | SAFE_BUILTINS


def _refuse(what, stmt, bad):
    """Stop at the first top-level statement of generated source holding anything unexpected."""
    if bad:
        raise GeneratedSourceError(f"{what} holds unexpected code ({', '.join(map(str, bad))}, line "
                                   f"{stmt.lineno}); not written")


def _is_docstring(stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str)


def _is_module_class(cls: ast.ClassDef) -> bool:
    """``class <name>(nn.Module):`` exactly: no decorators, keywords or other bases."""
    return (not cls.decorator_list and not cls.keywords and len(cls.bases) == 1
            and isinstance(cls.bases[0], ast.Attribute) and cls.bases[0].attr == "Module"
            and isinstance(cls.bases[0].value, ast.Name) and cls.bases[0].value.id == "nn")


def _check_class(cls: ast.ClassDef, instantiable=frozenset()) -> list:
    """What in ``cls`` a generator would not write.  ``instantiable``: the classes (defined before it) its
    ``__init__`` may create, as ``ClassName()`` calls without arguments; a class other than ``Model``
    may have a docstring."""
    bad = []
    body = list(cls.body)
    if cls.name != "Model" and body and _is_docstring(body[0]):
        body = body[1:]
    for stmt in body:
        if not (isinstance(stmt, ast.FunctionDef) and stmt.name in ("__init__", "forward") and not stmt.decorator_list):
            bad.append(f"class member {type(stmt).__name__}")
            continue
        local = {a.arg for a in stmt.args.args}
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                local.add(node.id)
        created = {id(c.func) for c in ast.walk(stmt) if stmt.name == "__init__" and isinstance(c, ast.Call)
                   and isinstance(c.func, ast.Name) and c.func.id in instantiable and not c.args and not c.keywords}
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local \
                    and node.id not in ("torch", "nn", "F", "math") and node.id not in SAFE_BUILTINS \
                    and id(node) not in created:
                bad.append(f"name {node.id!r}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("__") and not _is_super_init(node):
                bad.append(f"attribute {node.attr!r}")
            elif isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal, ast.Lambda, ast.ClassDef,
                                   ast.AsyncFunctionDef, ast.Await, ast.Yield, ast.YieldFrom, ast.Try, ast.With,
                                   ast.Delete, ast.Raise)):
                bad.append(type(node).__name__)
            elif isinstance(node, ast.FunctionDef) and node is not stmt:
                bad.append("nested function")
    return bad


def _is_super_init(node: ast.Attribute) -> bool:
    """``super().__init__``: the one dunder attribute a generated ``__init__`` reaches."""
    return (node.attr == "__init__" and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "super" and not node.value.args)


_LAYERS_MODULE_IMPORTS = frozenset({"__future__", "functools", "itertools", "keras", "math", "operator"})


def check_layers_module(source: str, what: str) -> ast.Module:
    """Refuse (GeneratedSourceError) a Keras layers module for writing beside a model unless it is the
    self-contained shape ``keras_layers`` has: a docstring, imports of Keras and the standard library
    modules above only, then classes, functions and assignments at the top level."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise GeneratedSourceError(f"{what} is not valid Python ({e.msg}, line {e.lineno}); not written") from None
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            bad = [a.name for a in stmt.names if a.name.split(".")[0] not in _LAYERS_MODULE_IMPORTS]
        elif isinstance(stmt, ast.ImportFrom):
            bad = [] if stmt.level == 0 and (stmt.module or "").split(".")[0] in _LAYERS_MODULE_IMPORTS \
                else [f"from {'.' * stmt.level}{stmt.module or ''}"]
        elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.Assign, ast.AnnAssign)):
            bad = [f"import {a.name}" for node in ast.walk(stmt) if isinstance(node, (ast.Import, ast.ImportFrom))
                   for a in node.names]
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt is tree.body[0]:
            bad = []
        else:
            bad = [type(stmt).__name__]
        _refuse(what, stmt, bad)
    return tree
