"""Run the user's ``build.py:build_model`` and capture the network it returns.

``implementation`` picks the Lasagne the build code imports: ``real`` (Lasagne on Theano, which
must be installed), ``compat`` (the project's Theano-free Lasagne API), or ``auto`` (real when it
imports, compat otherwise).
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import os
import sys
import traceback

from ..errors import ExportError, NetworkError
from .lasagne_live import capture, network_output


def parse_spec(spec: str):
    path, sep, fn = spec.rpartition(":")
    if not sep or not path or not fn:
        raise NetworkError(f"--network expects FILE.py:FUNCTION, got {spec!r}")
    return path, fn


def real_lasagne_available() -> bool:
    try:
        from .theano_compat import install_downsample_standin

        install_downsample_standin()
        import lasagne  # noqa: F401

        return "compat" not in (getattr(lasagne, "__file__", "") or "").split(os.sep)
    except Exception:
        return False


def select_lasagne(implementation: str = "auto") -> str:
    """Make ``import lasagne`` resolve to the chosen implementation; returns the one chosen."""
    if implementation not in ("auto", "real", "compat"):
        raise NetworkError(f"--lasagne must be auto, real or compat, not {implementation!r}")
    if implementation in ("auto", "real") and real_lasagne_available():
        return "real"
    if implementation == "real":
        raise NetworkError("--lasagne real: Lasagne/Theano cannot be imported in this environment")
    from .. import compat

    compat.activate()
    return "compat"


def _package_of(path: str):
    """``(root, dotted name)`` when ``path`` lies in a package (its folder has ``__init__.py``), so
    that its relative imports work; else None."""
    folder = os.path.dirname(os.path.abspath(path))
    parts = [os.path.splitext(os.path.basename(path))[0]]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        parts.insert(0, os.path.basename(folder))
        folder = os.path.dirname(folder)
    return (folder, ".".join(parts)) if len(parts) > 1 else None


def _import_file(path: str):
    package = _package_of(path)
    if package is not None:  # e.g. models/zoo/vgg16.py, which does `from ._vgg import build_vgg`
        root, dotted = package
        top = sys.modules.get(dotted.split(".")[0])
        if top is not None and os.path.abspath(os.path.dirname(getattr(top, "__file__", "") or "")) != \
                os.path.join(root, dotted.split(".")[0]):
            raise NetworkError(f"{path}: its package {dotted.split('.')[0]!r} clashes with an imported module "
                               f"of that name")
        sys.path.insert(0, root)
        try:
            return importlib.import_module(dotted)
        finally:
            sys.path.remove(root)
    mod_name = "_lasagne2onnx_user_network_" + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


def load_build_function(spec: str):
    path, fn_name = parse_spec(spec)
    if not os.path.exists(path):
        raise NetworkError(f"{path}: network file not found")
    try:
        module = _import_file(path)
    except ExportError:
        raise
    except Exception as e:
        raise NetworkError(f"{path}: importing the network file failed: {_where(e)}") from e
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise NetworkError(f"{path}: no function named {fn_name!r}")
    return fn


def capture_network(spec: str, implementation: str = "auto", kwargs=None, input_shapes=None, options=None):
    """Build the user's network and return its layer graph.

    ``input_shapes`` (input layer name -> shape) replaces the shape of those input layers as they
    are created, so Lasagne computes every other layer's shape from it.
    """
    chosen = select_lasagne(implementation)
    with _tracing(chosen):  # on the Theano-free API, Theano calls at import and build time build a graph
        return _build_and_capture(spec, chosen, kwargs, input_shapes, options)


def _tracing(chosen):
    """The Theano-free API's tracing context (``lasagne._symbolic``), or nothing on the real Lasagne."""
    if chosen != "compat":
        return contextlib.nullcontext()
    from lasagne._shared import tracing

    return tracing()


def _build_and_capture(spec, chosen, kwargs, input_shapes, options):
    fn = load_build_function(spec)
    import lasagne

    shapes = dict(input_shapes or {})
    with _watch_input_layers(lasagne.layers.InputLayer, shapes) as seen:
        try:
            net = fn(**(kwargs or {}))
        except ExportError:
            raise
        except Exception as e:
            if seen["unknown"]:  # an input left unsized, most likely by a misnamed --input-shape
                _check_input_shapes_used(shapes, seen)
            hint = "".join(
                f"; input layer {name!r} has unknown dimensions {shape}: give them with --input-shape "
                f"{name + '=' if name else ''}{','.join('N' if d is None else str(d) for d in shape)} "
                f"(N: your sizes)"
                for name, shape in seen["unknown"][:1])
            raise NetworkError(f"{spec}: the build function raised {_where(e)}{hint}") from e
    _check_input_shapes_used(shapes, seen)
    net = network_output(net)  # a model-zoo dict: its last entry; its keys name its layers

    version = getattr(lasagne, "__version__", "?")
    source = f"{spec} (lasagne {version}, {chosen}" + (f", input shapes {shapes})" if shapes else ")")
    return capture(net, source=source, options=options)


def _check_input_shapes_used(shapes, seen):
    """Every --input-shape must have reached an input layer."""
    if None in shapes and len(seen["names"]) != 1:
        raise NetworkError(f"--input-shape without a name needs a network with one input layer; this one has "
                           f"{len(seen['names'])} ({', '.join(repr(n) if n else 'unnamed' for n in seen['names'])}): "
                           f"use NAME=D0,D1,...")
    missing = sorted(set(shapes) - seen["replaced"], key=str)
    if missing:
        raise NetworkError(f"--input-shape {missing[0]}: the network has no input layer named {missing[0]!r}"
                           + (f" (inputs: {', '.join(repr(n) if n else 'unnamed' for n in seen['names'])}"
                              + ("; give an unnamed network's only input as --input-shape D0,D1,..." if
                                 seen["names"] == [None] else "") + ")" if seen["names"] else ""))


@contextlib.contextmanager
def _watch_input_layers(input_cls, shapes):
    """While the build function runs: give input layers named in ``shapes`` that shape, and note
    the input layers created with unknown dimensions beyond the batch axis (for error hints)."""
    original = input_cls.__init__
    signature = inspect.signature(original)
    seen = {"replaced": set(), "unknown": [], "names": []}

    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original(self, *args, **kwargs)
        name, shape = bound.arguments.get("name"), bound.arguments.get("shape")
        seen["names"].append(name)
        try:
            have = tuple(shape)
        except TypeError:
            return original(self, *args, **kwargs)
        key = name if name in shapes else (None if None in shapes and None not in seen["replaced"] else False)
        if key is not False:
            want = tuple(shapes[key])
            if len(have) != len(want) or any(h is not None and h != d for h, d in zip(have, want)):
                raise NetworkError(f"--input-shape {'' if key is None else key + '='}{','.join(map(str, want))} "
                                   f"does not fit the shape {have} of input layer {name!r}")
            bound.arguments["shape"] = want
            seen["replaced"].add(key)
        elif any(d is None for d in have[1:]):
            seen["unknown"].append((name, have))
        return original(*bound.args, **bound.kwargs)

    input_cls.__init__ = __init__
    try:
        yield seen
    finally:
        input_cls.__init__ = original


def _where(e: BaseException) -> str:
    exporter_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tb = [f for f in traceback.extract_tb(e.__traceback__)  # the user's code, not the machinery loading it
          if not f.filename.startswith("<frozen") and os.path.abspath(f.filename) != os.path.abspath(__file__)
          and not os.path.abspath(f.filename).startswith(os.path.join(exporter_dir, "compat") + os.sep)]
    loc = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
    return f"{type(e).__name__}: {e}{loc}"
