"""The Python API: what the command line does, callable from a notebook.

* :func:`export` -- a live Lasagne network (a layer, a model-zoo dict of layers), a build function,
  a ``FILE.py:FN`` spec, a manifest or a :class:`~exporter.ir.LayerGraph`, plus weights (a path, the
  list ``get_all_param_values`` returns, or a dict), to an ``onnx.ModelProto`` and a report; written
  to ``path`` when one is given.
* :func:`check` -- ``python -m exporter check``: every layer against the original network's outputs.
* :func:`to_torch` -- the ``nn.Module`` of ``to-torch`` (its source and state dict written when ``out``
  is given).
* :func:`to_keras` -- the ``keras.Model`` of ``to-keras`` (saved when ``out`` is given).

Each runs the same functions as its command, so it validates the same things and raises the same
errors, as exceptions (:class:`exporter.errors.ExportError` and its subclasses) carrying the message
the command prints.  A build function or a live network runs in this process, on the Lasagne the
caller imported (the command line runs ``--network`` files in a process of their own).
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import NamedTuple

from .errors import ExportError, NetworkError, WeightsError
from .onnx_graph import DEFAULT_OPSET


class Exported(NamedTuple):
    """What :func:`export` returns: ``model, report = exporter.export(...)``."""

    model: object  # onnx.ModelProto
    report: dict


# -- export -------------------------------------------------------------------------------------------
def export(network, weights=None, path=None, *, input_shapes=None, opset: int = DEFAULT_OPSET, optimize="auto",
           check: bool = True, expect=None, lasagne: str = "auto", lstm_peepholes=None, trust_pickle: bool = False,
           external_data: str = "auto", build_kwargs=None, progress=None) -> Exported:
    """Export a Lasagne network to ONNX; returns ``(model, report)``.

    ``network``: a live Lasagne layer (the output layer; a list of them; a model-zoo dict of layers, its
    last entry the output), a build function (called here), a ``"build.py:fn"`` spec (as ``--network``;
    ``"build.py:fn(60, n=9)"`` with its arguments), a manifest path (``"arch.json"``, as ``--manifest``), a
    :class:`~exporter.ir.LayerGraph`, or None for the manifest embedded in the weights file.
    ``weights``: a ``.npz``/``.pkl`` path (as on the command line), the list of arrays
    ``lasagne.layers.get_all_param_values(net)`` returns, a dict of them (``arr_0..arr_N``, as
    ``np.load`` gives; or a model-zoo dict with ``'param values'``), or None to take a live network's
    own parameter values.  ``input_shapes``: ``{"input": (1, 3, 224, 224)}``, or one shape for a
    network's only input (``--input-shape``).  ``optimize``: "auto" (default), "on"/True or "off"/False.
    ``build_kwargs``: arguments for the build function or the spec's (literals only for a spec, whose
    build runs in a process of its own); refused with a network that has no build function.
    ``check`` runs the export once in onnxruntime; ``expect`` compares it with a reference ``.npz``
    (``--expect``).  ``path``: also write the model there (staged, moved into place only once every
    check passed).  ``progress``: None (on a terminal only), True or False.

    The report: ``layers``, ``parameters``, ``opset``, ``optimization`` (what the optimiser did),
    ``checked``, ``path``, ``source`` (where the architecture came from), ``build`` (what the build code's
    run chose: ``arguments``, ``defaults`` left, ``read_as_python2``, ``cudnn``).
    """
    from .cli import parse_input_shapes, progress_printer
    from .commands.export import (build_model, check_runs, compare_with_reference, optimize_model, record_extras,
                                  uses_external_data)
    from .model_io import attach, save_model
    from .weights import bind_weights, load_weights

    mode = _optimize_mode(optimize)
    external = _choice("external_data", external_data, {"auto": None, "always": True, "never": False})
    shapes = parse_input_shapes(_shape_args(input_shapes))
    options = {"lstm_peepholes": str(lstm_peepholes)} if lstm_peepholes else {}
    embedded, extras = None, {}
    if isinstance(weights, (str, bytes)) or hasattr(weights, "__fspath__"):
        label = os.fsdecode(weights)
        arrays, embedded, extras = load_weights(label, trust_pickle=trust_pickle)
    else:
        label, arrays = "weights", None if weights is None else weight_arrays(weights)
    graph, manifest, live = architecture(network, embedded, shapes, lasagne=lasagne, options=options,
                                         build_kwargs=build_kwargs, weights_file=label)
    if arrays is None:
        if live is None:
            raise WeightsError("no weights given: pass a weights file or get_all_param_values(net) (only a live "
                               "network brings its own)")
        label, arrays = "the network's parameters", live_parameters(live)
    bound = bind_weights(graph, arrays, label)
    del arrays
    n_params = sum(int(a.size) for a in bound.values())
    show = progress_printer(progress)
    skeleton, payloads = build_model(graph, bound, opset, show, manifest)
    if extras:
        record_extras(skeleton, extras, label, quiet=True)
    del bound
    skeleton, payloads, optimization = optimize_model(skeleton, payloads, mode, shapes)
    if path is not None:
        from .io import staged_output

        path = os.fspath(path)
        with staged_output(path, companions={".data": uses_external_data}) as staged:  # as the CLI stages it
            save_model(skeleton, staged, progress=show, payloads=payloads, external=external)
            _verify(staged, check, expect, shapes, check_runs, compare_with_reference)
    model = attach(skeleton, payloads)
    if path is None:
        _verify(model, check, expect, shapes, check_runs, compare_with_reference)
    report = {"layers": len(graph.layers), "parameters": n_params, "opset": opset, "optimization": optimization,
              "checked": bool(check), "path": path, "source": graph.source, "build": dict(graph.build)}
    return Exported(model, report)


def _verify(model, check, expect, shapes, check_runs, compare_with_reference):
    if check:
        check_runs(model, shapes)
    if expect is not None:
        compare_with_reference(model, os.fspath(expect), quiet=True)


def _optimize_mode(value) -> str:
    if value is True or value is False:
        return "on" if value else "off"
    return _choice("optimize", value, {m: m for m in ("auto", "on", "off")})


def _choice(what, value, choices: dict):
    if not isinstance(value, str) or value not in choices:
        raise ExportError(f"{what} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return choices[value]


def _shape_args(input_shapes) -> list:
    """``{"input": (1, 3, 8, 8)}`` or ``(1, 3, 8, 8)`` as ``--input-shape`` values (validated there)."""
    if input_shapes is None:
        return []
    if isinstance(input_shapes, dict):  # (a None key: the only input's shape, as parse_input_shapes gives it)
        items = input_shapes.items()
    else:
        items = [(None, input_shapes)]
    args = []
    for name, shape in items:
        try:
            dims = ",".join(str(d) for d in shape)
        except TypeError:
            dims = str(shape)
        args.append(dims if name is None else f"{name}={dims}")
    return args


def weight_arrays(weights) -> dict:
    """``arr_<i>`` -> array for a list of arrays, an ``np.load`` result, a dict of ``arr_<i>`` or a
    model-zoo dict (``'param values'`` / ``'values'``)."""
    import numpy as np

    if hasattr(weights, "files") and hasattr(weights, "__getitem__"):  # np.load(...) of an npz
        weights = {k: weights[k] for k in weights.files}
    if isinstance(weights, dict):
        for key in ("param values", "values"):
            if key in weights and isinstance(weights[key], (list, tuple)):
                return weight_arrays(weights[key])
        bad = [k for k in weights if not (isinstance(k, str) and k.startswith("arr_"))]
        if bad:
            raise WeightsError(f"weights: a dict of weights holds arr_0..arr_N (as np.load gives) or 'param values'; "
                               f"got key {bad[0]!r}")
        return {k: np.asarray(v) for k, v in weights.items()}
    if isinstance(weights, (list, tuple)):
        return {f"arr_{i}": np.asarray(v) for i, v in enumerate(weights)}
    raise WeightsError(f"weights: expected a file path, a list of arrays (get_all_param_values) or a dict of them, "
                       f"got {type(weights).__name__}")


def live_parameters(net) -> dict:
    """A live network's own parameter values, ``arr_<i>`` in ``get_all_params`` order."""
    from .frontends.lasagne_live import _lasagne_layers_module

    outs = list(net) if isinstance(net, (list, tuple)) else [net]
    layers = _lasagne_layers_module(outs[0])
    return weight_arrays(layers.get_all_param_values(outs))


def architecture(network, embedded=None, shapes=None, *, lasagne="auto", options=None, build_kwargs=None,
                 weights_file="weights"):
    """``(layer graph, manifest name or None, live output layer or None)`` of anything :func:`export` takes."""
    from .cli import apply_input_shapes, load_architecture
    from .ir import LayerGraph

    shapes = dict(shapes or {})
    if build_kwargs is not None and not isinstance(build_kwargs, dict):
        raise NetworkError(f"build_kwargs: expected a dict of the build function's arguments, got "
                           f"{type(build_kwargs).__name__}")
    if isinstance(network, LayerGraph):
        _refuse_build_kwargs(build_kwargs, "a LayerGraph")
        return apply_input_shapes(network, shapes), "the layer graph", None
    if network is None or isinstance(network, (str, bytes)) or hasattr(network, "__fspath__"):
        spec = None if network is None else os.fsdecode(network)
        manifest = spec if spec is not None and spec.endswith(".json") else None
        if manifest or spec is None:
            _refuse_build_kwargs(build_kwargs, f"the manifest {manifest}" if manifest else
                                 f"the manifest embedded in {weights_file}")
        elif build_kwargs:  # passed as the spec's own arguments: to the build process, recorded with the capture
            from .frontends.build_args import spec_with_arguments

            spec = spec_with_arguments(spec, build_kwargs=build_kwargs)
        ns = argparse.Namespace(manifest=manifest, network=None if manifest else spec, lasagne=lasagne,
                                input_shape=_shape_args(shapes), lstm_peepholes=(options or {}).get("lstm_peepholes"),
                                weights=weights_file)
        where = manifest or (f"{weights_file} (embedded manifest)" if spec is None else None)
        return load_architecture(ns, embedded), where, None
    if _is_live(network):
        _refuse_build_kwargs(build_kwargs, "a live network")
        return _capture_live(network, shapes, options), None, _output_of(network)
    if callable(network):
        from .frontends.build_args import defaults_left

        net = _call_build_function(network, shapes, lasagne, build_kwargs)
        graph = _capture_live(net, {}, options, source=_describe(network))
        defaults = defaults_left(network, (), build_kwargs or {})
        if defaults:  # for the hint when the weights do not fit
            graph.build["defaults"] = defaults
        return graph, None, _output_of(net)
    raise NetworkError(f"network: expected a Lasagne layer, a build function, 'build.py:fn', a manifest path or a "
                       f"LayerGraph, got {type(network).__name__}")


def _refuse_build_kwargs(build_kwargs, what: str):
    """``build_kwargs`` with a network that has no build function to pass them to: refused, never ignored."""
    if build_kwargs:
        raise NetworkError(f"build_kwargs {sorted(build_kwargs)}: {what} has no build function to pass them to "
                           f"(they are for a build function or a 'FILE.py:fn' network)")


def _is_live(obj) -> bool:
    if isinstance(obj, dict):
        return bool(obj) and all(_is_live(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return bool(obj) and all(_is_live(v) for v in obj)
    from .frontends.lasagne_live import is_layer

    return is_layer(obj)


def _output_of(net):
    from .frontends.lasagne_live import network_output

    return network_output(net) if isinstance(net, dict) else net


def _describe(fn) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return f"build function {name}"


def _capture_live(net, shapes, options, source=None):
    from .cli import apply_input_shapes
    from .frontends.lasagne_live import capture, network_output

    out = network_output(net)
    lasagne_module = sys.modules.get(type(out if not isinstance(out, (list, tuple)) else out[0]).__module__.split(".")[0])
    version = getattr(lasagne_module, "__version__", "?")
    graph = capture(out, source=f"{source or 'live network'} (lasagne {version}, in process)", options=options)
    return apply_input_shapes(graph, shapes)


def _call_build_function(fn, shapes, implementation, build_kwargs):
    """Call the user's build function here, on the Lasagne already imported (else the one
    ``implementation`` picks), giving ``shapes`` to the input layers as they are created."""
    from .frontends.network_file import _check_input_shapes_used, _watch_input_layers, _where, select_lasagne

    if "lasagne" not in sys.modules:
        select_lasagne(implementation)
    import lasagne

    from .frontends.build_args import check_call

    what = _describe(fn)
    check_call(fn, (), build_kwargs or {}, what)
    with _watch_input_layers(lasagne.layers.InputLayer, shapes) as seen:
        try:
            net = fn(**(build_kwargs or {}))
        except ExportError:
            raise
        except Exception as e:
            if seen["unknown"]:
                _check_input_shapes_used(shapes, seen)
            hint = "".join(
                f"; input layer {name!r} has unknown dimensions {shape}: give them with input_shapes="
                f"{{{name!r}: ({', '.join('N' if d is None else str(d) for d in shape)})}} (N: your sizes)"
                for name, shape in seen["unknown"][:1])
            raise NetworkError(f"{what}: the build function raised {_where(e)}{hint}") from e
    _check_input_shapes_used(shapes, seen)
    if isinstance(net, (list, tuple)):  # ``return network, train_fn``: the layers (a warning names the rest)
        from .frontends.lasagne_live import network_output

        net = network_output(net)
    if not _is_live(net):
        raise NetworkError(f"{what}: the build function must return a Lasagne layer (or a dict of layers), got "
                           f"{type(net).__name__}")
    return net


def select_lasagne(implementation: str = "auto") -> str:
    """Make ``import lasagne`` give the real Lasagne ("real", needs Theano), the Theano-free API
    ("compat") or whichever imports ("auto"); returns the one chosen.  Call it before importing
    lasagne in a notebook without Theano."""
    from .frontends.network_file import select_lasagne as select

    return select(implementation)


# -- check --------------------------------------------------------------------------------------------
def check(model, *, against=None, network=None, reference=None, reference_python=None, input=None,
          input_shapes=None, seed: int = 0, tolerance=None, save_reference=None, lasagne: str = "auto",
          trust_pickle: bool = False, build_kwargs=None, progress=None) -> dict:
    """``python -m exporter check``: compare every layer of an exported model with the original
    network's outputs.  ``model`` is a path or a ModelProto; the reference is ``reference`` (a layers
    .npz written by ``exporter/reference_run.py``) or ``reference_python`` (a Python with Theano +
    Lasagne, with ``against`` = the weights file and ``network`` = ``"build.py:fn"``; ``build_kwargs``:
    its build function's arguments, as for :func:`export`; by default those the export recorded).

    Returns a dict: ``rows`` (per layer: ``layer``, ``class``, ``shape``, ``max_abs``, ``rel``,
    ``status`` OK/DIFFERS/fused), ``summary`` (the line naming the first layer that differs),
    ``ok`` (every layer within the tolerance), ``source``.
    """
    from .commands.check import compare

    if build_kwargs:
        if network is None:
            _refuse_build_kwargs(build_kwargs, "a check without network='build.py:fn'")
        from .frontends.build_args import spec_with_arguments

        network = spec_with_arguments(os.fsdecode(network), build_kwargs=build_kwargs)
    with _model_file(model) as model_path:
        args = _namespace("check", [model_path], against=_path(against), network=_path(network),
                          reference=_path(reference), reference_python=_path(reference_python), input=_path(input),
                          input_shape=_shape_args(input_shapes), seed=seed, save_reference=_path(save_reference),
                          lasagne=lasagne, trust_pickle=trust_pickle, progress=progress,
                          **({} if tolerance is None else {"tolerance": tolerance}))
        result = compare(args)
    return {"rows": result["rows"], "summary": result["summary"], "ok": result["status"] == 0,
            "source": result["source"]}


# -- importers ------------------------------------------------------------------------------------------
def to_torch(model, out=None, *, check: bool = True, progress=None):
    """``to-torch``: the exported model (a path, a ModelProto or what :func:`export` returned) as a
    PyTorch ``nn.Module`` built from standard modules, checked against onnxruntime (``check``).
    With ``out`` (a directory), also writes ``model.py`` and ``state_dict.pt`` there."""
    from .importers.torch_cli import check_out_dir, convert_checked, write_outputs
    from .progress import printer

    model = _model_of(model)
    if out is not None:
        check_out_dir(os.fspath(out))
    show = printer(progress, label="")
    _, source, module, _ = convert_checked(model, check, show)
    if out is not None:
        write_outputs(os.fspath(out), source, module, show)
    return module


def to_keras(model, out=None, *, data_format: str = "channels_last", check: bool = True, progress=None):
    """``to-keras``: the exported model as a ``keras.Model`` (Keras' torch backend), checked against
    onnxruntime (``check``).  With ``out`` (a ``.keras`` path), also saves it there, with
    ``lasagne2onnx_keras_layers.py`` beside it when it uses layers Keras lacks."""
    from .importers.keras_cli import build_checked, check_out_name, save
    from .progress import printer

    model = _model_of(model)
    _choice("data_format", data_format, {"channels_last": 0, "channels_first": 0})
    if out is not None:
        check_out_name(out)
    show = printer(progress, label="")
    keras_model, info, _ = build_checked(model, data_format, check, show)
    if out is not None:
        save(keras_model, os.fspath(out), show, info["custom_layers"])
    return keras_model


# -- helpers --------------------------------------------------------------------------------------------
def _model_of(model):
    if isinstance(model, Exported):
        return model.model
    return os.fspath(model) if hasattr(model, "__fspath__") else model


def _path(value):
    return None if value is None else os.fspath(value)


class _model_file:
    """A path for ``model``: the path itself, or a temporary file holding a ModelProto."""

    def __init__(self, model):
        self.model, self.tmp = _model_of(model), None

    def __enter__(self) -> str:
        if isinstance(self.model, (str, bytes)):
            return os.fsdecode(self.model)
        import tempfile

        self.tmp = tempfile.TemporaryDirectory(prefix="lasagne2onnx-")
        path = os.path.join(self.tmp.name, "model.onnx")
        with open(path, "wb") as f:
            f.write(self.model.SerializeToString())
        return path

    def __exit__(self, *exc):
        if self.tmp is not None:
            self.tmp.cleanup()


def _namespace(command: str, positionals, **values) -> argparse.Namespace:
    """The command's arguments as its parser would give them for ``positionals``, with ``values`` set
    (every default and every check on the command's own arguments stays the CLI's)."""
    from .cli import build_parser

    parser = build_parser(command)
    args = parser.parse_args(list(positionals))
    for key, value in values.items():
        if not hasattr(args, key):
            raise TypeError(f"{command}: unknown argument {key!r}")
        setattr(args, key, value)
    return args
