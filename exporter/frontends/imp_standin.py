"""``imp`` for build code, on every Python (the module is gone from Python 3.12, deprecated before).

What old build code calls: ``load_source``, ``load_module``/``find_module`` for source files and
packages, ``new_module``, ``reload``, ``get_suffixes`` and the constants.  Source files load through
the standard ``SourceFileLoader``, which reads the user's files as they wrote them while the build
code runs (:mod:`exporter.frontends.user_loaders`).  Anything else is the real ``imp``'s where it
exists, else an AttributeError naming it.
"""
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import types

SEARCH_ERROR, PY_SOURCE, PY_COMPILED, C_EXTENSION, PY_RESOURCE, PKG_DIRECTORY, C_BUILTIN, PY_FROZEN = range(8)


def new_module(name):
    return types.ModuleType(name)


def get_suffixes():
    return ([(s, "rb", C_EXTENSION) for s in importlib.machinery.EXTENSION_SUFFIXES]
            + [(s, "r", PY_SOURCE) for s in importlib.machinery.SOURCE_SUFFIXES]
            + [(s, "rb", PY_COMPILED) for s in importlib.machinery.BYTECODE_SUFFIXES])


def load_source(name, pathname, file=None):
    """Run the source file ``pathname`` as module ``name`` (the one in ``sys.modules`` run again)."""
    return _load(name, importlib.machinery.SourceFileLoader(name, os.fspath(pathname)))


def load_package(name, path):
    path = os.fspath(path)
    init = path if os.path.isfile(path) else os.path.join(path, "__init__.py")
    return _load(name, importlib.machinery.SourceFileLoader(name, init), package=os.path.dirname(init))


def load_module(name, file, filename, details):
    """``load_module(*find_module(name))``: a source file or a package."""
    kind = details[2] if details and len(details) > 2 else PY_SOURCE
    if kind == PKG_DIRECTORY:
        return load_package(name, filename)
    if kind == PY_SOURCE:
        return load_source(name, filename)
    if kind == C_BUILTIN or kind == PY_FROZEN:
        return importlib.import_module(name)
    return _real("load_module")(name, file, filename, details)


def find_module(name, path=None):
    """``(file, pathname, (suffix, mode, type))`` of a top-level module, as ``imp`` gave it."""
    if name in sys.builtin_module_names:
        return None, name, ("", "", C_BUILTIN)
    for folder in sys.path if path is None else path:
        folder = folder or os.getcwd()
        package = os.path.join(folder, name)
        if os.path.isfile(os.path.join(package, "__init__.py")):
            return None, package, ("", "", PKG_DIRECTORY)
        for suffix, mode, kind in get_suffixes():
            candidate = package + suffix
            if os.path.isfile(candidate):
                return open(candidate, mode), candidate, (suffix, mode, kind)
    raise ImportError(f"No module named {name!r}", name=name)


def reload(module):
    return importlib.reload(module)


def acquire_lock():
    pass


def release_lock():
    pass


def lock_held():
    return False


def _load(name, loader, package=None):
    spec = importlib.util.spec_from_file_location(
        name, loader.path, loader=loader, submodule_search_locations=[package] if package else None)
    module = sys.modules.get(name)
    if module is not None:  # imp runs the file again in the existing module
        module.__spec__, module.__loader__, module.__file__ = spec, loader, loader.path
        loader.exec_module(module)
        return sys.modules.get(name, module)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return sys.modules.get(name, module)


def _real(attr):
    if sys.version_info < (3, 12):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            spec = importlib.machinery.PathFinder.find_spec("imp")
            if spec is not None:
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                if hasattr(module, attr):
                    return getattr(module, attr)
    raise AttributeError(f"imp.{attr}: not provided while the build code runs (the imp module is gone from "
                         f"Python 3.12; use importlib)")


def __getattr__(attr):
    if attr.startswith("__"):
        raise AttributeError(attr)
    return _real(attr)
