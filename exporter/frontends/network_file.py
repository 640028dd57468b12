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
from .lasagne_live import capture


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


def load_build_function(spec: str):
    path, fn_name = parse_spec(spec)
    if not os.path.exists(path):
        raise NetworkError(f"{path}: network file not found")
    mod_name = "_lasagne2onnx_user_network_" + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:
        raise NetworkError(f"{path}: importing the network file failed: {_where(e)}") from e
    finally:
        sys.path.pop(0)
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise NetworkError(f"{path}: no function named {fn_name!r}")
    return fn


def capture_network(spec: str, implementation: str = "auto", kwargs=None, input_shapes=None):
    """Build the user's network and return its layer graph.

    ``input_shapes`` (input layer name -> shape) replaces the shape of those input layers as they
    are created, so Lasagne computes every other layer's shape from it.
    """
    chosen = select_lasagne(implementation)
    fn = load_build_function(spec)
    import lasagne

    shapes = dict(input_shapes or {})
    with _watch_input_layers(lasagne.layers.InputLayer, shapes) as seen:
        try:
            net = fn(**(kwargs or {}))
        except ExportError:
            raise
        except Exception as e:
            hint = "".join(
                f"; input layer {name!r} has unknown dimensions {shape}: give them with --input-shape "
                f"{name or 'NAME'}={','.join('N' if d is None else str(d) for d in shape)}"
                for name, shape in seen["unknown"][:1])
            raise NetworkError(f"{spec}: the build function raised {_where(e)}{hint}") from e
    missing = sorted(set(shapes) - seen["replaced"])
    if missing:
        raise NetworkError(f"--input-shape {missing[0]}: the network has no input layer named {missing[0]!r}"
                           + (f" (inputs: {', '.join(map(repr, seen['names']))})" if seen["names"] else ""))
    if isinstance(net, dict):  # model-zoo style: {'prob': layer, ...}; take the last-added output
        net = list(net.values())[-1]

    version = getattr(lasagne, "__version__", "?")
    source = f"{spec} (lasagne {version}, {chosen}" + (f", input shapes {shapes})" if shapes else ")")
    return capture(net, source=source)


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
        if name in shapes:
            want = tuple(shapes[name])
            if len(have) != len(want) or any(h is not None and h != d for h, d in zip(have, want)):
                raise NetworkError(f"--input-shape {name}={','.join(map(str, want))} does not fit the "
                                   f"input layer's shape {have}")
            bound.arguments["shape"] = want
            seen["replaced"].add(name)
        elif any(d is None for d in have[1:]):
            seen["unknown"].append((name, have))
        return original(*bound.args, **bound.kwargs)

    input_cls.__init__ = __init__
    try:
        yield seen
    finally:
        input_cls.__init__ = original


def _where(e: BaseException) -> str:
    tb = [f for f in traceback.extract_tb(e.__traceback__)  # the user's code, not the machinery loading it
          if not f.filename.startswith("<frozen") and os.path.abspath(f.filename) != os.path.abspath(__file__)]
    loc = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
    return f"{type(e).__name__}: {e}{loc}"
