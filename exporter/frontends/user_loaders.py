"""The other ways build code loads the user's Python files, read as the user wrote them.

``import`` of a module of the user's goes through :class:`exporter.frontends.user_sources.UserSources`.
Old build code also loads files by path, and those files are as often Python 2:

* ``imp.load_source(name, path)``, ``importlib.util.spec_from_file_location`` + ``exec_module``,
  ``importlib.machinery.SourceFileLoader(name, path).load_module()`` and modules found through
  ``PYTHONPATH``: every source file whose loader is the standard ``SourceFileLoader`` and that is the
  user's (not the standard library's, an installed package's, the exporter's or the Theano/Lasagne
  stack's) is compiled by :func:`exporter.frontends.py2.compile_user_source`;
* ``execfile(path)`` (Python 2's builtin, which 2to3 would turn into a Python 3 reading; code read as
  Python 3 that calls it gets Python 3's NameError, and the build is read again as Python 2);
* ``exec(text)`` and ``compile(text, path, "exec")`` called from the user's code.

Each is read as Python 3 when it is valid Python 3, as Python 2 when it is not or when the project
is read as Python 2 (``--python2``, or a build file read as Python 2), and it is noted among the
files read as Python 2.  Errors keep the user's file and line.  ``imp`` (gone from Python 3.12) is
:mod:`exporter.frontends.imp_standin` while the build code runs, on every Python.
"""
import __future__
import builtins
import contextlib
import importlib.machinery
import os
import sys

# what the real Theano/Lasagne stack brings: never the user's code, wherever it lies (a git checkout on PYTHONPATH)
_STACK = frozenset({"theano", "lasagne", "numpy", "scipy", "six", "pygpu", "pylearn2", "nolearn", "fissix"})
_INHERITED = ("division", "print_function")  # __future__ features exec'd code inherits from its caller
_active = 0


@contextlib.contextmanager
def user_code_loaders():
    """While the build code runs (nested calls share one set of hooks)."""
    global _active
    if _active:
        _active += 1
        try:
            yield
        finally:
            _active -= 1
        return
    from . import imp_standin, py2, user_sources  # noqa: F401  (imported before the hooks see their imports)

    saved = {"get_code": importlib.machinery.SourceFileLoader.__dict__.get("get_code"),
             "imp": sys.modules.get("imp"), "builtins": {n: getattr(builtins, n, None)
                                                         for n in ("exec", "compile", "execfile")}}
    original = {"get_code": importlib.machinery.SourceFileLoader.get_code, "exec": builtins.exec,
                "compile": builtins.compile}

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        if not users_file(path, fullname):
            return original["get_code"](self, fullname)
        # compiled under its absolute name (imp.load_source("m", "lib/m.py")): errors then name it as the user's
        return compile_file(os.path.abspath(path), self.get_data(path), in_package="." in fullname)

    def exec_(source, *args, **kwargs):
        caller = sys._getframe(1)
        if isinstance(source, (str, bytes, bytearray)):
            source = _compile_text(source, "<string>", caller, original["compile"])
        if not args and "globals" not in kwargs:  # exec(code): the caller's namespaces, as the builtin takes them
            args = (caller.f_globals, caller.f_locals)
        return original["exec"](source, *args, **kwargs)

    def compile_(source, filename, mode, flags=0, dont_inherit=False, optimize=-1, **kwargs):
        caller = sys._getframe(1)
        if mode == "exec" and not flags and not kwargs and isinstance(source, (str, bytes, bytearray)):
            name = os.fsdecode(filename)
            return _compile_text(source, os.path.abspath(name) if os.path.isfile(name) else name, caller,
                                 original["compile"])
        if not dont_inherit:  # the caller's __future__ features, which the builtin would take from its frame
            flags |= caller.f_code.co_flags & _FUTURE_FLAGS
        return original["compile"](source, filename, mode, flags, True, optimize, **kwargs)

    def execfile(filename, globals=None, locals=None):
        """Python 2's ``execfile``: the file run in the caller's namespaces (or those given).  Code read as
        Python 3 gets Python 3's NameError: it is Python 2 code, and the build is then read as Python 2."""
        if not project_python2():
            raise NameError("name 'execfile' is not defined", name="execfile")
        if globals is None:
            caller = sys._getframe(1)
            globals, locals = caller.f_globals, caller.f_locals if locals is None else locals
        path = os.path.abspath(os.fsdecode(filename))  # tracebacks then name the file as the user's
        with open(path, "rb") as f:
            data = f.read()
        original["exec"](compile_file(path, data), globals, globals if locals is None else locals)

    importlib.machinery.SourceFileLoader.get_code = get_code
    builtins.exec, builtins.compile, builtins.execfile = exec_, compile_, execfile
    sys.modules["imp"] = imp_standin
    _active = 1
    try:
        yield
    finally:
        _active = 0
        if saved["get_code"] is None:
            del importlib.machinery.SourceFileLoader.get_code
        else:
            importlib.machinery.SourceFileLoader.get_code = saved["get_code"]
        for name, value in saved["builtins"].items():
            if value is None:
                delattr(builtins, name)
            else:
                setattr(builtins, name, value)
        if saved["imp"] is None:
            sys.modules.pop("imp", None)
        else:
            sys.modules["imp"] = saved["imp"]


_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag


def users_file(path: str, fullname: str = "") -> bool:
    """Whether the source file ``path`` (module ``fullname``) is the user's code."""
    from .user_sources import _library

    if not path or not path.endswith(".py") or _library(path):
        return False
    top = fullname.split(".")[0]
    if top not in _STACK and top not in _installed_top_levels():
        return True
    # that package's own file (a git checkout on PYTHONPATH, an editable install), not a file of the user's
    # loaded under that name (imp.load_source("utils", "lib/a.py"))
    parts = os.path.abspath(path).split(os.sep)
    return top not in parts[:-1] and parts[-1] != top + ".py"


def _installed_top_levels() -> frozenset:
    """Top-level modules of the installed distributions (an editable install lies outside site-packages)."""
    global _TOP_LEVELS
    if _TOP_LEVELS is None:
        try:
            from importlib.metadata import packages_distributions

            _TOP_LEVELS = frozenset(packages_distributions())
        except Exception:  # Python < 3.10, or an unreadable distribution
            _TOP_LEVELS = frozenset()
    return _TOP_LEVELS


_TOP_LEVELS = None


def _finders():
    from .user_sources import UserSources

    return [f for f in sys.meta_path if isinstance(f, UserSources)]


def project_python2() -> bool:
    """Whether the build is read as Python 2 (``--python2``, or its build file was)."""
    return any(f.python2 for f in _finders())


def compile_file(path: str, data, in_package: bool = False, inherited=frozenset()):
    """The code object of the user's file ``path`` (source ``data``), noted among the files read."""
    from .py2 import compile_user_source

    finders = _finders()
    if finders:
        finders[0].compiled.add(path)
    code, python2 = compile_user_source(data, path, python2=project_python2(), in_package=in_package,
                                        inherited=inherited)
    if finders:
        if python2 and path not in finders[0].read_as_python2:
            finders[0].read_as_python2.append(path)
    return code


def _compile_text(source, filename: str, caller, compile_):
    """Text that the user's code runs (``exec``, ``compile``): read as the user wrote it; any other
    caller's, compiled as the builtin does (with the caller's ``__future__`` features)."""
    from .user_sources import _machinery

    if _machinery(caller.f_code.co_filename) or not users_file(caller.f_code.co_filename):
        return compile_(source, filename, "exec", caller.f_code.co_flags & _FUTURE_FLAGS, True)
    from .py2 import future_features

    inherited = {name for name in _INHERITED if isinstance(caller.f_globals.get(name), __future__._Feature)} \
        | future_features(caller.f_code.co_filename)
    if isinstance(source, bytearray):
        source = bytes(source)
    if os.path.isabs(filename):
        return compile_file(filename, source, inherited=inherited)
    from .py2 import compile_user_source

    return compile_user_source(source, filename, python2=project_python2(), inherited=inherited)[0]
