"""Stand-ins for modules a build file imports but this Python does not have.

Research scripts import what their training and plotting need at the top of the file that builds
the network (``import skimage.transform``, ``matplotlib``, ``cv2``, a data loader of theirs); the
network itself rarely uses them.  When importing the build file fails on such an import, left
uncaught by the file (a ``try: ... except ImportError`` fallback is the file's own business), the
import is retried with a stand-in in that module's place, and a warning names it.  The stand-in
computes nothing: a call given only plain values (numbers, strings, other stand-ins), such as
``colorlog.basicConfig(level=colorlog.DEBUG)``, gives a stand-in result; calling it with anything
else, subclassing it, iterating, indexing, comparing, testing or doing arithmetic with anything
taken from it raises an error naming the module, the use and the import's line, so a network that
needs the module is refused, never built differently.

A name an installed module no longer has (``from scipy.misc import imresize``, removed in SciPy 1.3, in
check's reference environment) gets a stand-in the same way, set on that module while the file imports.

Not stood in: Theano and Lasagne (their own stand-ins decide), numpy, and what looks like Python 2
(``cPickle``, an implicit relative import: the file is read as Python 2 instead).
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import types

from ..errors import NetworkError

NEVER = {"theano", "lasagne", "numpy", "exporter"}
MOST = 20  # stand-ins for one build file: more than that is not a file that merely plots


class MissingModuleWarning(UserWarning):
    """A build file's import was served by a stand-in."""


class MissingModuleError(NetworkError):
    """The build used a stand-in."""


def stand_in_name(e: BaseException, user_frame) -> str | None:
    """The top-level module to stand in for, when ``e`` is an uncaught ``import`` of a module this
    Python lacks, raised by an import statement in the user's own code (``user_frame``), else None."""
    from .py2 import looks_like_python2

    name = getattr(e, "name", None)
    if not isinstance(e, ModuleNotFoundError) or not name or name.split(".")[0] in NEVER or looks_like_python2(e):
        return None
    if user_frame is None or not (user_frame.line or "").lstrip().startswith(("import ", "from ")):
        return None
    return name.split(".")[0]


class _Absent:
    """Anything taken from a stood-in module: any use raises."""

    def __init__(self, dotted: str, where: str, installed: bool = False):
        object.__setattr__(self, "_dotted", dotted)
        object.__setattr__(self, "_where", where)
        object.__setattr__(self, "_installed", installed)  # a name gone from an installed module

    def _refuse(self, use: str):
        if self._installed:
            module, _, name = self._dotted.partition("(")[0].rpartition(".")
            raise MissingModuleError(f"the build {use} {self._dotted}, but {module!r} has no {name!r} in this Python "
                                     f"(a stand-in took its place for the import at {self._where}, as the network "
                                     f"seemed not to need it): install the version of {module.split('.')[0]} the "
                                     f"code was written for here")
        top = self._dotted.split(".")[0]
        raise MissingModuleError(f"the build {use} {self._dotted}, but {top!r} is not installed in this Python (a stand-in "
                           f"took its place for the import at {self._where}, as the network seemed not to need it): "
                           f"install {top} here")

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Absent(f"{self._dotted}.{name}", self._where, self._installed)

    def __setattr__(self, name, value):
        self._refuse("sets an attribute of")

    def __call__(self, *args, **kwargs):
        # ``colorlog.basicConfig(level=colorlog.DEBUG)``, ``standard_library.install_aliases()``: a call given
        # only plain values (or other stand-ins) cannot have changed the network, and its result is a stand-in
        # that refuses any use; one given anything else (a layer, an array it might fill in) is refused now
        if not all(_plain(a) for a in (*args, *kwargs.values())):
            self._refuse("calls")
        return _Absent(f"{self._dotted}()", self._where, self._installed)

    def __mro_entries__(self, bases):
        self._refuse("subclasses")

    def __repr__(self):
        return f"<stand-in for {self._dotted} (not installed)>"


def _plain(value, depth=0) -> bool:
    """A value a call into a stand-in cannot use to change the network: None, a number, a string, a stand-in,
    or a tuple/list/dict of those."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, _Absent, _AbsentModule)):
        return True
    if isinstance(value, (tuple, list)) and depth < 3:
        return all(_plain(v, depth + 1) for v in value)
    if isinstance(value, dict) and depth < 3:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def _refusing(use):
    def method(self, *args):
        self._refuse(use)
    return method


for _dunder in ("__iter__", "__len__", "__getitem__", "__setitem__", "__contains__", "__bool__", "__index__",
                "__int__", "__float__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
                "__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
                "__floordiv__", "__rfloordiv__", "__pow__", "__rpow__", "__neg__", "__matmul__", "__rmatmul__",
                "__array__", "__enter__"):
    setattr(_Absent, _dunder, _refusing("uses"))


class _AbsentModule(types.ModuleType):
    def __init__(self, name: str, where: str):
        super().__init__(name, f"stand-in for {name}, which is not installed")
        self.__path__ = []  # a package: its submodules are stood in too
        self._where = where

    def __repr__(self):
        return f"<stand-in for module {self.__name__} (not installed)>"

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Absent(f"{self.__name__}.{name}", self._where)


class _StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self):
        self.where: dict = {}  # top-level module -> the user's line that imported it

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top not in self.where:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        return _AbsentModule(spec.name, self.where[spec.name.split(".")[0]])

    def exec_module(self, module):
        pass


@contextlib.contextmanager
def stand_ins():
    """A finder that stands in for the modules added to it (``finder.add(top, where)``); on leaving,
    they leave ``sys.modules`` (what the build file took from them stays a stand-in)."""
    finder = _StandIns()
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        for name in [m for m in sys.modules if m.split(".")[0] in finder.where]:
            if isinstance(sys.modules[name], _AbsentModule):
                del sys.modules[name]


_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from '([\w.]+)'")


def missing_name(e: BaseException, user_frame):
    """``(module, name)`` when ``e`` is ``from module import name`` in the user's code failing because an
    installed module no longer has that name (``from scipy.misc import imresize``: removed in SciPy 1.3),
    else None."""
    if type(e) is not ImportError:
        return None
    m = _CANNOT_IMPORT.match(str(e))
    if not m or m.group(2).split(".")[0] in NEVER or not isinstance(sys.modules.get(m.group(2)), types.ModuleType):
        return None
    if user_frame is None or not (user_frame.line or "").lstrip().startswith("from "):
        return None
    return m.group(2), m.group(1)


@contextlib.contextmanager
def _absent_names():
    """Stand-ins set as attributes of installed modules (``added[(module, name)] = where``), removed on leaving
    (what the build file took from them stays a stand-in)."""
    added = {}
    try:
        yield added
    finally:
        for module, name in added:
            if isinstance(getattr(sys.modules.get(module), name, None), _Absent):
                delattr(sys.modules[module], name)


def import_with_stand_ins(import_file, path: str, user_frame):
    """``import_file(path)``, again with a stand-in each time it fails on a missing module, or on a name an
    installed module no longer has (see the module's docstring); warns once per stand-in."""
    import warnings

    with stand_ins() as finder, _absent_names() as names:
        while True:
            try:
                return import_file(path)
            except ImportError as e:
                frame = user_frame(e.__traceback__)
                gone = missing_name(e, frame)
                if gone is not None and gone not in names and len(names) + len(finder.where) < MOST:
                    where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
                    names[gone] = where
                    setattr(sys.modules[gone[0]], gone[1], _Absent(".".join(gone), where, installed=True))
                    warnings.warn(f"{where} imports {gone[1]!r} from {gone[0]!r}, which has no such name in this "
                                  f"Python (removed in newer versions); a stand-in took its place (the build fails, "
                                  f"naming it, if the network uses it)", MissingModuleWarning, stacklevel=2)
                    continue
                if not isinstance(e, ModuleNotFoundError):
                    raise
                top = stand_in_name(e, frame)
                if top is None or top in finder.where or len(finder.where) + len(names) >= MOST:
                    raise
                where = f"{os.path.basename(frame.filename)}:{frame.lineno}"
                finder.where[top] = where
                warnings.warn(f"{where} imports {top!r}, which is not installed in this Python; a stand-in took its "
                              f"place (the build fails, naming it, if the network uses it)", MissingModuleWarning,
                              stacklevel=2)  # then the file is imported afresh (a new module object)
