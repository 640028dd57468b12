"""Which files are the user's, and the finder that compiles the user's modules as they wrote them
(Python 2 or 3): shared by :mod:`.network_file` (the build file and its imports) and :mod:`.user_loaders`
(modules the build code loads by path)."""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import sysconfig


def _package_of(path: str):
    """``(root, dotted name)`` when ``path`` lies in a package (its folder has ``__init__.py``), so
    that its relative imports work; else None."""
    folder = os.path.dirname(os.path.abspath(path))
    parts = [os.path.splitext(os.path.basename(path))[0]]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    return (folder, ".".join(parts)) if len(parts) > 1 else None


class UserSources(importlib.abc.MetaPathFinder):
    """Finds the user's modules and compiles them with :func:`exporter.frontends.py2.compile_user_source`:
    as Python 3, or as Python 2 when they are not valid Python 3 or when the build file itself was read
    as Python 2.  The user's modules are those under the build file's folder (its package, if it is in
    one) and under the folders the user's code adds to ``sys.path`` (``sys.path.insert(0, '../project')``
    in a wrapper), never the standard library's, an installed package's or the exporter's own."""

    def __init__(self, main_path: str, scope: str, python2: bool = False):
        self.main_path = os.path.abspath(main_path)
        self.scope = os.path.abspath(scope)
        self.python2 = python2
        self.read_as_python2 = []  # absolute paths, in the order they were imported
        self.compiled = set()  # absolute paths of the modules compiled here
        self.path_before = {os.path.abspath(p) for p in sys.path if isinstance(p, str)}

    def scopes(self) -> list:
        """The folders whose modules are the user's: the build file's, then those added to ``sys.path``
        since (in ``sys.path`` order)."""
        added = [os.path.abspath(p) for p in sys.path if isinstance(p, str) and p
                 and os.path.abspath(p) not in self.path_before]
        return [self.scope] + [p for p in dict.fromkeys(added) if p != self.scope and not _library(p)]

    def find_spec(self, fullname, path=None, target=None):
        scopes = self.scopes()
        if path is None:  # a top-level module: only if a folder has one of that name (a quick look first)
            if not any(os.path.exists(os.path.join(s, fullname) + ".py")
                       or os.path.exists(os.path.join(s, fullname, "__init__.py"))
                       or os.path.basename(s) == fullname for s in scopes):
                return None
        elif not any(_inside(os.path.join(p, "x"), s) for p in path for s in scopes):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        origin = getattr(spec, "origin", None)
        if not origin or not origin.endswith(".py") or not any(_inside(origin, s) for s in scopes) \
                or _library(origin):
            return None
        spec.loader = _UserSourceLoader(fullname, origin, self)
        return spec

    def loader(self, fullname: str, path: str):
        return _UserSourceLoader(fullname, path, self)


class _UserSourceLoader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname, path, sources):
        super().__init__(fullname, path)
        self.sources = sources

    def _compile(self, fullname):
        from .py2 import compile_user_source

        path = self.get_filename(fullname)
        self.sources.compiled.add(os.path.abspath(path))
        in_package = "." in fullname or self.is_package(fullname)
        code, python2 = compile_user_source(self.get_data(path), path, python2=self.sources.python2,
                                            in_package=in_package)
        if python2:
            if os.path.abspath(path) == self.sources.main_path:
                self.sources.python2 = True  # a Python 2 project: read the modules beside it as Python 2 too
            self.sources.read_as_python2.append(os.path.abspath(path))
        return code, python2

    def get_code(self, fullname):
        return self._compile(fullname)[0]

    def exec_module(self, module):
        from .py2 import NAMESPACE

        code, python2 = self._compile(module.__name__)
        if python2:
            module.__dict__.update(NAMESPACE)
        exec(code, module.__dict__)


def _inside(path: str, folder: str) -> bool:
    return os.path.abspath(path).startswith(folder.rstrip(os.sep) + os.sep)


def _library(path: str) -> bool:
    """Whether ``path`` lies in the standard library, an installed package (of this Python or another:
    a ``site-packages`` folder) or the exporter: never the user's code, never translated."""
    path = os.path.abspath(path)
    parts = path.split(os.sep)
    return "site-packages" in parts or "dist-packages" in parts or path == _PACKAGE_DIR \
        or any(path == d or _inside(path, d) for d in (_PACKAGE_DIR,) + _LIBRARY_DIRS)


def _sources_for(path: str, python2: bool) -> UserSources:
    """The finder for ``path``'s folder, installed first on ``sys.meta_path`` (one per folder)."""
    package = _package_of(path)
    scope = os.path.join(package[0], package[1].split(".")[0]) if package else os.path.dirname(os.path.abspath(path))
    for finder in sys.meta_path:
        if isinstance(finder, UserSources) and finder.scope == os.path.abspath(scope) \
                and finder.main_path == os.path.abspath(path):
            finder.python2 = finder.python2 or python2
            return finder
    sources = UserSources(path, scope, python2)
    sys.meta_path.insert(0, sources)
    return sources


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # exporter/
_LIBRARY_DIRS = tuple(sorted({os.path.abspath(p) for key in ("stdlib", "platstdlib", "purelib", "platlib")
                              for p in [sysconfig.get_paths().get(key)] if p}))


def _machinery(filename: str) -> bool:
    """Whether a traceback frame is ours, the standard library's or an installed package's (Lasagne,
    Theano, numpy) rather than the user's."""
    if filename.startswith("<") or not os.path.isabs(filename):  # <frozen ...>, compiled code (_common.pyx)
        return True
    path = os.path.abspath(filename)
    return any(path.startswith(d + os.sep) for d in (_PACKAGE_DIR,) + _LIBRARY_DIRS)
