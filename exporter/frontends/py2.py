"""Python 2 build files, read as Python 3 in memory.

A build file (or a module it imports from its own folder) that is not valid Python 3 is translated
with fissix (a maintained fork of lib2to3) running 2to3's default fixers: print statements,
backticks, ``except E, e``, ``xrange``, ``dict.keys()``/``map``/``zip``/``filter``/``range`` wrapped
in ``list()`` where the code may index them, ``cPickle``/``urllib2``/``StringIO`` renamed,
``raise E, msg``, ``0777``/``10L`` literals, ``<>``, ``has_key`` and the rest.  Three fixers of our
own keep what Python 2 computed where 2to3 would change numbers or shapes:

* ``a / b`` (without ``from __future__ import division``) becomes :func:`python2_division`: floor
  division when both operands are integers (Python ints, numpy integer scalars or arrays), true
  division otherwise.  The types are only known when the code runs, so it is decided then;
* ``round(x[, n])`` becomes :func:`python2_round` (halves away from zero, a float result);
* ``string.letters``/``lowercase``/``uppercase`` become ``string.ascii_*``.

Nothing is written anywhere: the translation exists only as the code object that runs.
"""
from __future__ import annotations

import numbers

PY2_DIVISION = "__lasagne2onnx_py2_division__"
PY2_ROUND = "__lasagne2onnx_py2_round__"


# -- what the translated code calls -----------------------------------------------------------------
def _integral(x) -> bool:
    if isinstance(x, numbers.Integral):  # int, bool, numpy integer scalars
        return True
    kind = getattr(getattr(x, "dtype", None), "kind", None)  # numpy arrays (a dtype object, not a string)
    return kind in ("i", "u", "b") and hasattr(x, "__floordiv__")


def python2_division(a, b):
    """Python 2's ``a / b``: floors when both are integers, else divides."""
    if _integral(a) and _integral(b):
        return a // b
    div = getattr(type(a), "__div__", None)  # a Python 2 class that only defines __div__
    if div is not None and not hasattr(type(a), "__truediv__"):
        return div(a, b)
    return a / b


def python2_round(number, ndigits=0):
    """Python 2.7's ``round``: the exact binary value rounded half away from zero, returned as a float."""
    import decimal

    if isinstance(number, numbers.Real) and not isinstance(number, numbers.Integral):
        x = float(number)
        if x != x or x in (float("inf"), float("-inf")):
            return x
        context = decimal.Context(prec=1200, rounding=decimal.ROUND_HALF_UP)  # exact for every float
        q = decimal.Decimal(1).scaleb(-int(ndigits))
        return float(decimal.Decimal(x).quantize(q, context=context))
    if isinstance(number, numbers.Integral):
        return python2_round(float(number), ndigits)
    traced = getattr(type(number), "python2_round", None)  # a traced value in a user op's impl
    if traced is not None:
        return traced(number, ndigits)
    return round(number, ndigits)


NAMESPACE = {PY2_DIVISION: python2_division, PY2_ROUND: python2_round}


def install_helpers():
    """Make the translated code's helpers builtins: code translated here may run in a module that no
    loader of ours set up (``imp.load_source``, ``exec_module`` of a spec the user made, ``exec``), and
    functions defined there call them whenever they run.  Their names are reserved to this module."""
    import builtins

    for name, fn in NAMESPACE.items():
        setattr(builtins, name, fn)


# -- telling Python 2 code that parses as Python 3 ------------------------------------------------------
_PY2_NAMES = {"xrange", "unicode", "basestring", "long", "raw_input", "reduce", "unichr", "file", "execfile", "cmp",
              "apply", "intern", "coerce", "buffer"}
_PY2_MODULES = {"cPickle", "urllib2", "StringIO", "cStringIO", "Queue", "ConfigParser", "__builtin__", "httplib",
                "HTMLParser", "cookielib", "urlparse", "Tkinter", "commands", "copy_reg", "SocketServer", "thread",
                "dummy_thread", "anydbm", "dbhash", "htmlentitydefs", "robotparser", "xmlrpclib", "exceptions"}
_PY2_MESSAGES = ("'float' object cannot be interpreted as an integer", "'range' object does not support item assignment", "indices must be integers or slices, not float",
                 "has no attribute 'iteritems'", "has no attribute 'itervalues'", "has no attribute 'iterkeys'",
                 "has no attribute 'has_key'", "has no attribute 'letters'", "has no attribute 'lowercase'",
                 "has no attribute 'uppercase'", "has no attribute 'maketrans'", "has no attribute 'izip'",
                 "has no attribute 'imap'", "has no attribute 'ifilter'", "cannot import name 'izip'",
                 "cannot import name 'imap'", "cannot import name 'ifilter'", "cannot import name 'letters'")
WHOLE_SIZES = "a size that is not a whole number"
_SUBSCRIPTED = ("'dict_keys'", "'dict_values'", "'dict_items'", "'map'", "'zip'", "'filter'")


def looks_like_python2(e: BaseException) -> bool:
    """Whether ``e``, raised by code read as Python 3, is what Python 2 code does there: a Python 2
    name or module, a list method on a view, a float where Python 2's ``/`` gave an int."""
    if isinstance(e, NameError) and getattr(e, "name", None) in _PY2_NAMES:
        return True
    if isinstance(e, ImportError) and (getattr(e, "name", None) or "").split(".")[0] in _PY2_MODULES:
        return True
    if _implicit_relative_import(e):
        return True
    text = str(e)
    if WHOLE_SIZES in text:  # the capture's own check (exporter.frontends.network_file)
        return True
    if "object is not subscriptable" in text:
        return text.startswith(_SUBSCRIPTED)
    if "of int, got" in text:  # Lasagne's as_tuple given a float: "... an iterable of int, got 2.5 instead"
        return True
    return isinstance(e, (TypeError, AttributeError, ImportError, ValueError)) and any(m in text for m in _PY2_MESSAGES)


def _implicit_relative_import(e: BaseException) -> bool:
    """A module not found that lies beside the file importing it, in a package: Python 2's implicit
    relative import (``import blocks`` in ``mynets/net.py`` meant ``mynets.blocks``)."""
    import os
    import traceback

    name = getattr(e, "name", None)
    if not isinstance(e, ModuleNotFoundError) or not name:
        return False
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # exporter/: its import machinery
    importer = next((f.filename for f in reversed(traceback.extract_tb(e.__traceback__))
                     if os.path.isabs(f.filename) and not f.filename.startswith(ours + os.sep)), None)
    if importer is None:
        return False
    folder = os.path.dirname(importer)
    beside = os.path.join(folder, name.split(".")[0])
    return os.path.exists(os.path.join(folder, "__init__.py")) and (
        os.path.exists(beside + ".py") or os.path.exists(os.path.join(beside, "__init__.py")))


# -- translation ----------------------------------------------------------------------------------
def _fixers():
    """Our fixers (fissix's BaseFix subclasses), built on first use: fissix is imported only
    when a Python 2 file turns up."""
    from fissix import fixer_base, pytree
    from fissix.fixes.fix_tuple_params import FixTupleParams
    from fissix.fixer_util import Call, Comma, Name, is_probably_builtin
    from fissix.pgen2 import token
    from fissix.pygram import python_symbols as syms

    class FixPython2Division(fixer_base.BaseFix):
        """``a / b`` -> ``__lasagne2onnx_py2_division__(a, b)``; ``x /= y`` -> ``x = ...(x, y)``."""

        PATTERN = "term< any+ > | expr_stmt< any '/=' any >"

        def start_tree(self, tree, filename):
            super().start_tree(tree, filename)
            self.skip = "division" in getattr(tree, "future_features", ())

        def match(self, node):
            if self.skip:
                return False
            if node.type == syms.term:
                return {"node": node} if any(c.type == token.SLASH for c in node.children) else False
            return super().match(node)

        def transform(self, node, results):
            if node.type == syms.expr_stmt:
                target, _, value = node.children
                operand = target.clone()
                operand.prefix = ""
                call = Call(Name(PY2_DIVISION), [operand, Comma(), _spaced(value.clone())])
                return pytree.Node(syms.expr_stmt, [target.clone(), pytree.Leaf(token.EQUAL, "=", prefix=" "),
                                                    _spaced(call)], prefix=node.prefix)
            kids = node.children
            left = kids[0].clone()
            left.prefix = ""
            for op, right in zip(kids[1::2], kids[2::2]):
                right = right.clone()
                if op.type == token.SLASH:
                    left = Call(Name(PY2_DIVISION), [left, Comma(), _spaced(right)])
                else:
                    left = pytree.Node(syms.term, [left, op.clone(), right])
            left.prefix = node.prefix
            return left

    class FixPython2Round(fixer_base.BaseFix):
        """The builtin ``round(...)`` -> ``__lasagne2onnx_py2_round__(...)``."""

        PATTERN = "power< name='round' trailer< '(' [any] ')' > any* >"

        def transform(self, node, results):
            name = results["name"]
            if is_probably_builtin(name):
                name.replace(Name(PY2_ROUND, prefix=name.prefix))

    class FixTupleParamsInPlace(FixTupleParams):
        """2to3's tuple parameters (``def c_code(self, node, name, (x,), (z,), sub):``, common in Theano
        ops), unpacked on the line of the body's first statement when it is a simple one
        (``(x,) = xxx_todo_changeme; (z,) = xxx_todo_changeme1; return ...``): 2to3 puts each on a line of
        its own, which moves every later line of the file, and the lines errors name."""

        def transform(self, node, results):
            suite = results.get("suite")
            body = suite[0] if suite else None
            before = list(body.children) if body is not None else []
            out = super().transform(node, results)
            if body is None or "lambda" in results or len(before) < 3 or before[1].type != token.INDENT:
                return out
            added = [c for c in body.children if all(c is not b for b in before)]
            if not added:
                return out
            following = body.children[body.children.index(added[-1]) + 1]
            if following.type != syms.simple_stmt:
                return out  # an if/for/with first: the unpacking keeps lines of its own
            prefix, parts = added[0].prefix, []  # (the INDENT leaf before, or a docstring's line and indent)
            for stmt in added:
                parts.extend([stmt.children[0].clone(), pytree.Leaf(token.SEMI, ";")])
                stmt.remove()
            rest = [c.clone() for c in following.children]
            for part in parts + rest[:1]:
                part.prefix = "" if part.type == token.SEMI else " "
            parts[0].prefix = prefix
            merged = pytree.Node(syms.simple_stmt, parts + rest)
            following.replace(merged)
            return out

    class FixStringConstants(fixer_base.BaseFix):
        """``string.letters`` -> ``string.ascii_letters`` (also ``lowercase``, ``uppercase``)."""

        PATTERN = ("power< 'string' trailer< '.' (name='letters'|name='lowercase'|name='uppercase') > any* >"
                   " | import_from< 'from' 'string' 'import' imported=any >")

        def transform(self, node, results):
            if "name" in results:
                leaf = results["name"]
                leaf.replace(Name("ascii_" + leaf.value, prefix=leaf.prefix))
                return None
            for leaf in results["imported"].leaves():
                parent = leaf.parent
                renamed = parent is not None and parent.type == syms.import_as_name and parent.children[0] is not leaf
                if leaf.type == token.NAME and leaf.value in _STRING_CONSTANTS and not renamed:
                    if parent is not None and parent.type == syms.import_as_name:
                        leaf.replace(Name("ascii_" + leaf.value, prefix=leaf.prefix))
                    else:  # from string import letters -> from string import ascii_letters as letters
                        leaf.replace(pytree.Node(syms.import_as_name, [
                            Name("ascii_" + leaf.value, prefix=leaf.prefix), Name("as", prefix=" "),
                            Name(leaf.value, prefix=" ")]))
            return None

    def _spaced(node):
        node.prefix = " "
        return node

    return [FixPython2Division, FixPython2Round, FixStringConstants, FixTupleParamsInPlace]


_STRING_CONSTANTS = ("letters", "lowercase", "uppercase")
_TOOLS = {}


def _tool(with_package_imports: bool):
    """A fissix RefactoringTool with 2to3's default fixers plus ours.  ``fix_import`` (implicit
    relative imports made explicit) applies to modules in packages only: a plain folder's modules
    are found on ``sys.path``."""
    if with_package_imports in _TOOLS:
        return _TOOLS[with_package_imports]
    from fissix.refactor import RefactoringTool, get_fixers_from_package

    ours = _fixers()
    # execfile(f) stays a call: the build's own execfile (network_file.user_code_loaders) reads f as the user
    # wrote it and names f in errors, where 2to3's exec(compile(open(f).read(), f, 'exec')) would read it as Python 3
    names = [n for n in get_fixers_from_package("fissix.fixes")
             if (with_package_imports or not n.endswith(".fix_import")) and not n.endswith(".fix_execfile")
             and not n.endswith(".fix_tuple_params")]

    class Translator(RefactoringTool):
        inherited = frozenset()  # __future__ features the code inherits (exec'd by code that imported them)

        def refactor_string(self, data, name):
            if "print_function" in self.inherited:
                from fissix import pygram

                self.driver.grammar = pygram.python_grammar_no_print_statement
            return super().refactor_string(data, name)

        def refactor_tree(self, tree, name):
            tree.future_features = frozenset(tree.future_features) | self.inherited
            return super().refactor_tree(tree, name)

        def get_fixers(self):
            pre, post = super().get_fixers()
            for cls in ours:
                fixer = cls(self.options, self.fixer_log)
                (pre if fixer.order == "pre" else post).append(fixer)
            return sorted(pre, key=lambda f: f.run_order), sorted(post, key=lambda f: f.run_order)

    tool = _TOOLS[with_package_imports] = Translator(names)
    return tool


class TranslationError(Exception):
    """fissix could not parse the file as Python 2 either; ``position``: ``(line, column)`` or None."""

    def __init__(self, message, position=None):
        super().__init__(message)
        self.position = position


def _error_position(e):
    """``(line, column)`` of a fissix parse error (ParseError's context, TokenError's second argument)."""
    context = getattr(e, "context", None)
    where = context[1] if isinstance(context, tuple) and len(context) == 2 else (e.args[1] if len(e.args) > 1 else None)
    if isinstance(where, tuple) and len(where) == 2 and all(isinstance(v, int) for v in where):
        return where
    return None


def translate(source: str, path: str, in_package: bool = False, inherited=frozenset()) -> str:
    """The Python 3 text of the Python 2 ``source`` (the file at ``path``, used for messages and to
    resolve implicit relative imports inside a package).  ``inherited``: the ``__future__`` features
    (``division``, ``print_function``) of the code that ``exec``s it, which Python 2 passed on."""
    if not source.endswith("\n"):
        source += "\n"
    tool = _tool(in_package)  # an ImportError here (no fissix) is not a parse error: it propagates as such
    tool.inherited = frozenset(inherited)
    try:
        tree = tool.refactor_string(source, path)
    except Exception as e:  # fissix's parse errors (ParseError, TokenError, IndentationError)
        raise TranslationError(f"{type(e).__name__}: {e}", _error_position(e)) from None
    finally:
        tool.inherited = frozenset()
    if tree is None:  # fissix logged the parse error instead of raising it
        raise TranslationError("not valid Python 2")
    _FUTURES[path] = frozenset(tree.future_features) & {"division", "print_function"}
    return str(tree)


_FUTURES = {}  # path -> the __future__ features of the file translated (2to3 removes the imports)


def future_features(path: str) -> frozenset:
    """The ``__future__`` features (``division``, ``print_function``) of the translated file ``path``."""
    return _FUTURES.get(path, frozenset())


def _expand_indent_tabs(source: str) -> str:
    """Python 2 took a tab in indentation for 8 columns (Python 3 refuses to mix tabs and spaces)."""
    lines = []
    for line in source.splitlines(keepends=True):
        body = line.lstrip(" \t")
        lines.append(line[:len(line) - len(body)].expandtabs(8) + body)
    return "".join(lines)


def _compile(source, path: str):
    """``compile`` without the compiler's SyntaxWarning/DeprecationWarning (``invalid escape sequence
    '\\s'`` in a regular expression written for Python 2): old code's style, not the user's concern
    when exporting."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return compile(source, path, "exec", dont_inherit=True)


def _further(py3_error: SyntaxError, py2_error: TranslationError, source: str, path: str) -> SyntaxError:
    """The SyntaxError of the reading that got further into a file valid in neither: Python 3's, or,
    when Python 2's parse stopped at a later line (a Python 2 file with a mistake), one at that line."""
    position = py2_error.position
    if position is None or (py3_error.lineno or 0) >= position[0]:
        return py3_error
    line, column = position
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else None
    return SyntaxError("invalid syntax (read as Python 2)", (path, line, column + 1, text))


def compile_user_source(data, path: str, python2: bool = False, in_package: bool = False, inherited=frozenset()):
    """``(code object, read_as_python2)`` for the source ``data`` (bytes, or text) of ``path``: compiled
    as Python 3 unless ``python2`` is set or it is not valid Python 3, then translated (and compiled)
    as Python 2; one that is not Python 2 although ``python2`` is set, as Python 3.  A file that is
    valid in neither raises Python 3's SyntaxError (at the user's file and line).  ``inherited``: see
    :func:`translate`."""
    import importlib.util

    if not python2:
        try:
            return _compile(data, path), False
        except SyntaxError as e:
            py3_error = e
    else:
        py3_error = None
    source = data if isinstance(data, str) else importlib.util.decode_source(data)
    try:
        text = translate(source, path, in_package, inherited)
    except TranslationError as e:
        if py3_error is None:  # read as Python 2 by request (--python2), but it is not: Python 3 only?
            try:
                return _compile(data, path), False
            except SyntaxError as error:
                py3_error = error
        raise _further(py3_error, e, source, path) from None
    except ImportError as e:  # fissix missing: an environment without it (the old Theano one) reads Python 3 only
        raise ImportError(f"{py3_error or 'a Python 2 file'}: reading it as Python 2 needs fissix "
                          f"(pip install fissix)") from e
    install_helpers()
    try:
        try:
            return _compile(text, path), True
        except TabError:
            return _compile(translate(_expand_indent_tabs(source), path, in_package, inherited), path), True
    except SyntaxError as e:
        e.msg = f"{e.msg} (after reading the file as Python 2)"
        raise
