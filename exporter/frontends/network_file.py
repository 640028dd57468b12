"""Run the user's ``build.py:build_model`` and capture the network it returns.

``implementation`` picks the Lasagne the build code imports: ``real`` (Lasagne on Theano, which
must be installed), ``compat`` (the project's Theano-free Lasagne API), or ``auto`` (real when it
imports, compat otherwise).
"""
from __future__ import annotations

import importlib
import importlib.util
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


def capture_network(spec: str, implementation: str = "auto", kwargs=None):
    """Build the user's network and return its layer graph."""
    chosen = select_lasagne(implementation)
    fn = load_build_function(spec)
    try:
        net = fn(**(kwargs or {}))
    except ExportError:
        raise
    except Exception as e:
        raise NetworkError(f"{spec}: the build function raised {_where(e)}") from e
    if isinstance(net, dict):  # model-zoo style: {'prob': layer, ...}; take the last-added output
        net = list(net.values())[-1]
    import lasagne

    version = getattr(lasagne, "__version__", "?")
    return capture(net, source=f"{spec} (lasagne {version}, {chosen})")


def _where(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    loc = f" at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno}" if tb else ""
    return f"{type(e).__name__}: {e}{loc}"
