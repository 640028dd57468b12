"""Run the user's ``build.py:build_model`` and capture the network it returns.

``implementation`` picks the Lasagne the build code imports: ``real`` (Lasagne on Theano, which
must be installed), ``compat`` (the project's Theano-free Lasagne API), or ``auto`` (real when it
imports, compat otherwise).

The build file and the modules it imports from its own folder are compiled here, never from a
bytecode cache and never writing one: a file that is not valid Python 3 (or every file, with
``python2=True``) is read as Python 2 (:mod:`exporter.frontends.py2`).  ``gpu_modules`` decides what
``import lasagne.layers.dnn`` (or ``corrmm``, ``cuda_convnet``) does while the build code runs:
``"block"`` makes it fail as on a machine without cuDNN; either way the attempts are recorded.
This module runs inside the build process (``exporter.frontends.isolation``) and in the reference run.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import inspect
import os
import re
import sys
import traceback

from ..errors import ExportError, NetworkError
from .fixed_sizes import batch_shapes, only_batch, warning, watch_layer_sites
from .lasagne_live import capture, layer_names, network_output
from .user_loaders import user_code_loaders
from .user_sources import (_LIBRARY_DIRS, _PACKAGE_DIR, UserSources, _inside, _library, _machinery,  # noqa: F401
                           _package_of, _sources_for)

# modules that import only on a machine with a GPU (cuDNN, GpuCorrMM, cuda-convnet)
GPU_MODULES = ("lasagne.layers.dnn", "lasagne.layers.corrmm", "lasagne.layers.cuda_convnet")


def parse_spec(spec: str):
    """``(path, function)`` of ``FILE.py:FN`` or ``FILE.py:FN(ARGS)`` (see :mod:`.build_args`)."""
    from .build_args import split_spec

    return split_spec(spec)[:2]


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


def _import_file(path: str, python2: bool = False):
    path = os.path.abspath(path)  # tracebacks then tell the user's files by their absolute names
    sources = _sources_for(path, python2)
    package = _package_of(path)
    if package is not None:  # e.g. models/zoo/vgg16.py, which does `from ._vgg import build_vgg`
        root, dotted = package
        top = sys.modules.get(dotted.split(".")[0])
        if top is not None and os.path.abspath(os.path.dirname(getattr(top, "__file__", "") or "")) != \
                os.path.join(root, dotted.split(".")[0]):
            raise NetworkError(f"{path}: its package {dotted.split('.')[0]!r} clashes with an imported module "
                               f"of that name")
        _on_path(root)
        return importlib.import_module(dotted)
    mod_name = "_lasagne2onnx_user_network_" + os.path.splitext(os.path.basename(path))[0]
    module_spec = importlib.util.spec_from_file_location(mod_name, path, loader=sources.loader(mod_name, path))
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    _on_path(os.path.dirname(os.path.abspath(path)))
    module_spec.loader.exec_module(module)
    return module


def _on_path(folder: str):
    """Put ``folder`` first on ``sys.path`` for good, as ``python build.py`` does for the file's folder:
    the build function may import a module beside it when it runs, and what the file itself adds to
    ``sys.path`` stays as it left it.  (Build code runs in a process of its own: the build worker,
    or the reference run.)"""
    if not sys.path or sys.path[0] != folder:
        sys.path.insert(0, folder)


def load_build_function(spec: str, python2: bool = False):
    path, fn_name = parse_spec(spec)
    if not os.path.exists(path):
        raise NetworkError(f"{path}: network file not found")
    from .missing_modules import MissingModuleError, import_with_stand_ins

    try:
        module = import_with_stand_ins(lambda p: _import_file(p, python2), path, user_frame)
    except MissingModuleError as e:
        raise NetworkError(f"{path}: importing the network file failed: {e}") from e
    except ExportError:
        raise
    except (Exception, SystemExit, GeneratorExit) as e:  # sys.exit() in build code must not end the exporter
        raise NetworkError(f"{path}: importing the network file failed: "
                           f"{'it called ' if isinstance(e, SystemExit) else ''}{_where(e, read_as_python2(spec))}"
                           f"{_not_read_as_python2(e)}") from e
    fn = getattr(module, fn_name, None)
    if not callable(fn):
        raise NetworkError(f"{path}: no function named {fn_name!r}")
    return fn


def read_as_python2(spec: str) -> list:
    """The files of ``spec``'s folder that were read as Python 2 (absolute paths)."""
    path = os.path.abspath(parse_spec(spec)[0])
    for finder in sys.meta_path:
        if isinstance(finder, UserSources) and finder.main_path == path:
            return list(finder.read_as_python2)
    return []


def capture_network(spec: str, implementation: str = "auto", kwargs=None, input_shapes=None, options=None,
                    python2: bool = False, gpu_modules: str = "allow", report: dict | None = None):
    """Build the user's network and return its layer graph.

    ``input_shapes`` (input layer name -> shape) replaces the shape of those input layers as they
    are created, so Lasagne computes every other layer's shape from it.  ``gpu_modules``: "allow"
    or "block" (see the module's docstring).  ``report``, when given, receives what the build did
    that the graph does not say: ``lasagne`` (the implementation chosen), ``gpu_modules_imported``
    ({module: whether it imported} for the GPU modules the build code asked for) and
    ``read_as_python2`` (the files translated), ``arguments`` (the arguments the build function was
    called with, as text) and ``defaults`` (its parameters left at a literal default: ``n=5``).
    ``spec``'s own arguments (``FILE.py:FN(ARGS)``) come first, then ``kwargs``.
    """
    chosen = select_lasagne(implementation)
    report = {} if report is None else report
    report["lasagne"] = chosen
    try:
        # on the Theano-free API, Theano calls at import and build time build a graph; files the build code loads
        # by path (imp.load_source, exec_module, execfile, exec) are read as the user wrote them
        with _tracing(chosen), user_code_loaders():
            return _capture_network(spec, chosen, kwargs, input_shapes, options, python2, gpu_modules, report)
    except NetworkError as e:
        # read as Python 3, did it fail the way Python 2 code does? (the caller may read it as Python 2)
        cause = e.__cause__ if e.__cause__ is not None else e
        main = os.path.abspath(parse_spec(spec)[0])
        if not python2 and main not in report.get("read_as_python2", ()):
            from .py2 import looks_like_python2

            report["looks_python2"] = looks_like_python2(cause)
        raise


def _tracing(chosen):
    """The Theano-free API's tracing context (``lasagne._symbolic``), or nothing on the real Lasagne."""
    if chosen != "compat":
        return contextlib.nullcontext()
    from lasagne._shared import tracing

    return tracing()


def _capture_network(spec, chosen, kwargs, input_shapes, options, python2, gpu_modules, report):
    with gpu_module_probe(block=gpu_modules == "block") as attempts:
        report["gpu_modules_imported"] = attempts
        try:
            fn = load_build_function(spec, python2)
        finally:
            report["read_as_python2"] = read_as_python2(spec)
        import lasagne

        shapes = dict(input_shapes or {})
        # --input-shape input_P: an unnamed input layer by its name in the export, known once the network is
        # built; the build may need the size, so the unnamed ones take these in creation order, checked below
        guesses = sorted((k for k in shapes if isinstance(k, str) and re.fullmatch(r"input_\d+", k)),
                         key=lambda k: int(k.rpartition("_")[2]))
        call = _arguments(fn, spec, kwargs, report)
        with watch_layer_sites(lasagne.layers.Layer, _machinery) as sites:
            net, seen = _build(fn, spec, call, lasagne.layers.InputLayer, shapes, report, guesses=guesses)
        by_position = _unnamed_dict_inputs(net, shapes, seen)
        by_position.update(_unnamed_inputs_by_export_name(net, shapes, seen, by_position))
        if by_position or seen["guessed_wrong"]:  # --input-shape NAME for an unnamed input: build again, sizing it
            with watch_layer_sites(lasagne.layers.Layer, _machinery) as sites:
                net, seen = _build(fn, spec, call, lasagne.layers.InputLayer, shapes, report, by_position)
            _unnamed_inputs_by_export_name(net, shapes, seen, by_position)  # the names, for messages
        if not shapes:
            net, seen = _fix_the_batch(fn, spec, call, lasagne, net, seen, sites, shapes, report)
    _check_input_shapes_used(shapes, seen)
    net = network_output(net)  # a model-zoo dict: its last entry; its keys name its layers
    _check_whole_sizes(spec, net)

    version = getattr(lasagne, "__version__", "?")
    source = f"{spec} (lasagne {version}, {chosen}" + (f", input shapes {shapes})" if shapes else ")")
    return capture(net, source=source, options=options, build=spec)


def _arguments(fn, spec, kwargs, report) -> tuple:
    """``(args, kwargs)`` for the build function: ``spec``'s own, then ``kwargs``; refused (naming them)
    when the function cannot take them.  Notes the arguments and the defaults left in ``report``."""
    from .build_args import arguments, check_call, defaults_left, spec_with_arguments, split_spec

    text = split_spec(spec_with_arguments(spec, build_kwargs=kwargs))[2]
    args, kw = arguments(text)
    check_call(fn, args, kw, parse_spec(spec)[0])
    if text:
        report["arguments"] = text
    defaults = defaults_left(fn, args, kw)
    if defaults:
        report["defaults"] = defaults
    return args, kw


def _fix_the_batch(fn, spec, call, lasagne, net, seen, sites, shapes, report):
    """A ReshapeLayer's fixed size that allows one batch only (``(64 * 700, 90)`` after an input of batch
    None): the network built again with that batch (``shapes`` updated, a warning in ``report["warnings"]``);
    refused naming the layer and its line when no batch, or not the batch alone, decides it."""
    layers = lasagne.layers.get_all_layers(network_output(net))
    found = only_batch(layers, layer_names(layers), sites)
    if found is None:
        return net, seen
    inputs = list(zip(seen["names"], seen["layers"]))
    shapes.update(batch_shapes(found, inputs, spec))
    try:
        net, seen = _build(fn, spec, call, lasagne.layers.InputLayer, shapes, report)
        layers = lasagne.layers.get_all_layers(network_output(net))
        still = only_batch(layers, layer_names(layers), {})
    except NetworkError:
        still = found
    if still is not None:
        raise NetworkError(f"{spec}: {found.describe()}, so {found.why}; the network runs only on inputs of "
                           f"one size, and not on a batch of {found.batch}: give the input's sizes with --input-shape")
    report.setdefault("warnings", []).append(warning(found, shapes))
    return net, seen


def _build(fn, spec, call, input_cls, shapes, report, by_position=None, guesses=()):
    """``(what the build function returned, the input layers seen)``: ``fn`` called with ``call``
    (``(args, kwargs)``); see :func:`_watch_input_layers`."""
    from .missing_modules import MissingModuleError

    args, kwargs = call
    with _watch_input_layers(input_cls, shapes, by_position, guesses) as seen:
        try:
            return fn(*args, **kwargs), seen
        except MissingModuleError as e:
            raise NetworkError(f"{spec}: {e}") from e
        except ExportError:
            raise
        except (Exception, SystemExit, GeneratorExit) as e:  # sys.exit() in build code must not end the exporter
            # an op the Theano-free API does not model (theano.scan ...) is the cause, whatever the input sizes
            unmodelled = any(c.__name__ == "TheanoRequiredError" for c in type(e).__mro__)
            if seen["unknown"] and not unmodelled:  # an input left unsized, most likely by a misnamed --input-shape
                _check_input_shapes_used(shapes, seen)
            several = len(seen["names"]) > 1  # an unnamed one is then addressed by its name in the export
            hint = "".join(
                f"; input layer {name or 'unnamed'!r} has unknown dimensions {shape}: give them with --input-shape "
                f"{name + '=' if name else 'input_P=' if several else ''}"
                f"{','.join('N' if d is None else str(d) for d in shape)} (N: your sizes"
                f"{'; input_P: its name in the export, P its position among the layers' if several and not name else ''})"
                for name, shape in ([] if unmodelled else seen["unknown"][:1]))
            raise NetworkError(f"{spec}: the build function {_failure(e, report['read_as_python2'])}"
                               f"{_not_read_as_python2(e)}{hint}") from e
        finally:
            report["read_as_python2"] = read_as_python2(spec)


def _unnamed_dict_inputs(net, shapes, seen) -> dict:
    """``{creation position: NAME}`` for each --input-shape NAME that no input layer was named but that
    is the key of an unnamed input layer in the model-zoo dict the build function returned (the
    layer is shown, and exported, as NAME)."""
    if not isinstance(net, dict):
        return {}
    by_position = {}
    for name in shapes:
        if name is None or name in seen["replaced"]:
            continue
        layer = net.get(name)
        for i, created in enumerate(seen["layers"]):
            if created is layer and seen["names"][i] is None:
                by_position[i] = name
    return by_position


def _unnamed_inputs_by_export_name(net, shapes, seen, taken) -> dict:
    """``{creation position: NAME}`` for each --input-shape NAME that no input layer was named but that
    is the exporter's name of an unnamed input layer (``input_<its position in the network>``, the name
    of its ONNX input).  Also notes those names in ``seen["export_names"]``, for messages."""
    try:
        import lasagne

        layers = lasagne.layers.get_all_layers(list(net.values())[-1] if isinstance(net, dict) else net)
    except Exception:  # not layers: capture says so
        return {}
    named = {id(layer): name for layer, name in zip(layers, layer_names(layers))}
    if isinstance(net, dict):  # a model-zoo dict's keys name its unnamed layers
        named.update({id(layer): key for key, layer in net.items() if isinstance(key, str) and key
                      and getattr(layer, "name", "") is None})
    seen["export_names"] = [name or named.get(id(layer)) for name, layer in zip(seen["names"], seen["layers"])]
    wrong = {key for i, key in seen["guessed"].items() if named.get(id(seen["layers"][i])) != key}
    seen["guessed_wrong"] = bool(wrong)
    seen["replaced"] -= wrong
    by_position = {}
    for key in shapes:
        if key is None or key in seen["replaced"] or key in taken.values():
            continue
        for i, (name, layer) in enumerate(zip(seen["names"], seen["layers"])):
            if name is None and named.get(id(layer)) == key and i not in taken:
                by_position[i] = key
    return by_position


def _check_whole_sizes(spec, net):
    """Refuse a layer whose output shape holds a fraction (2.5 channels: Python 2's integer ``/``
    read as Python 3, typically), which would otherwise be rounded away unseen."""
    import numbers

    try:
        import lasagne

        layers = lasagne.layers.get_all_layers(net)
    except Exception:  # not layers: capture says so
        return
    for name, layer in zip(layer_names(layers), layers):
        shape = tuple(getattr(layer, "output_shape", ()) or ())
        if any(isinstance(d, numbers.Real) and not isinstance(d, numbers.Integral) and not float(d).is_integer()
               for d in shape):
            from .py2 import WHOLE_SIZES

            raise NetworkError(f"{spec}: the build function returned a network whose layer {name!r} "
                               f"({type(layer).__name__}) has output shape {shape}: {WHOLE_SIZES}")


class _GpuModuleProbe(importlib.abc.MetaPathFinder):
    """Notes the build code's imports of :data:`GPU_MODULES`; with ``block``, makes them fail."""

    def __init__(self, block: bool):
        self.block = block
        self.attempts = {}  # module -> imported (bool)

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in GPU_MODULES:
            return None
        if self.block:
            self.attempts[fullname] = False
            raise ImportError(f"No module named {fullname!r} (building as on a machine without cuDNN or a GPU: "
                              f"--cudnn no)", name=fullname)
        self.attempts.setdefault(fullname, None)  # resolved below, once the import is over
        return None


@contextlib.contextmanager
def gpu_module_probe(block: bool = False):
    """While the build code runs: record its imports of the GPU-only Lasagne modules (module ->
    whether it imported) and, with ``block``, make them raise ImportError."""
    probe = _GpuModuleProbe(block)
    if block:  # forget them if something imported them already, so the import reaches the probe
        for name in GPU_MODULES:
            sys.modules.pop(name, None)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules and hasattr(sys.modules[parent], child):
                delattr(sys.modules[parent], child)
    sys.meta_path.insert(0, probe)
    try:
        yield probe.attempts
    finally:
        sys.meta_path.remove(probe)
        for name, imported in list(probe.attempts.items()):
            if imported is None:
                probe.attempts[name] = name in sys.modules


def _check_input_shapes_used(shapes, seen):
    """Every --input-shape must have reached an input layer.  Unnamed input layers are shown by the
    exporter's name for them (``input_0``: their ONNX input's name, which --input-shape takes) once
    the network is built, else as ``unnamed``."""
    names = [n or e or "unnamed" for n, e in zip(seen["names"], seen.get("export_names") or [None] * len(seen["names"]))]
    listed = ", ".join(n if n == "unnamed" else repr(n) for n in names)
    inputs = [n for i, n in enumerate(names) if i not in seen.get("computed", ())]  # not computed from another
    if None in shapes and len(inputs) != 1:
        example = next((n for n in inputs if n != "unnamed"), "NAME")
        raise NetworkError(f"--input-shape without a name needs a network with one input layer; this one has "
                           f"{len(inputs)} ({', '.join(n if n == 'unnamed' else repr(n) for n in inputs)}): use "
                           f"{example}=D0,D1,...")
    missing = sorted(set(shapes) - seen["replaced"], key=str)
    if missing:
        raise NetworkError(f"--input-shape {missing[0]}: the network has no input layer named {missing[0]!r}"
                           + (f" (inputs: {listed}"
                              + ("; give an unnamed network's only input as --input-shape D0,D1,..." if
                                 seen["names"] == [None] else "") + ")" if seen["names"] else ""))


@contextlib.contextmanager
def _watch_input_layers(input_cls, shapes, by_position=None, guesses=()):
    """While the build function runs: give input layers named in ``shapes`` (or created at a position
    in ``by_position``, ``{position: name in shapes}``) that shape, and note the input layers created
    with unknown dimensions beyond the batch axis (for error hints).  ``guesses``: names in ``shapes``
    handed to the unnamed input layers in the order they are created (noted in ``seen["guessed"]``)."""
    original = input_cls.__init__
    signature = inspect.signature(original)
    seen = {"replaced": set(), "unknown": [], "names": [], "layers": [], "guessed": {}, "guessed_wrong": False,
            "computed": set()}
    by_position = by_position or {}
    guesses = list(guesses)

    def __init__(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original(self, *args, **kwargs)
        name, shape = bound.arguments.get("name"), bound.arguments.get("shape")
        position = len(seen["names"])
        seen["names"].append(name)
        seen["layers"].append(self)
        try:
            have = tuple(shape)
        except TypeError:
            return original(self, *args, **kwargs)
        # an input layer over a computed value (InputLayer(input_var=T.zeros((x.shape[0], ...))): pixel-rnn's
        # padding) is no input of the model: an unnamed --input-shape is not meant for it
        computed = getattr(bound.arguments.get("input_var"), "owner", None) is not None
        if computed:
            seen["computed"].add(position)
        key = name if name in shapes and not (name is None and computed) else (
            None if None in shapes and None not in seen["replaced"] and not computed else False)
        if key is False and position in by_position:
            key = by_position[position]
        if key is False and name is None and not by_position and not computed:
            while guesses and (guesses[0] in seen["replaced"]):
                guesses.pop(0)
            if guesses:
                key = seen["guessed"][position] = guesses.pop(0)
        if key is not False:
            want = tuple(shapes[key])
            if len(have) != len(want) or any(h is not None and h != d for h, d in zip(have, want)):
                raise NetworkError(f"--input-shape {'' if key is None else key + '='}{','.join(map(str, want))} "
                                   f"does not fit the shape {have} of input layer {key if name is None else name!r}")
            bound.arguments["shape"] = want
            seen["replaced"].add(key)
        elif any(d is None for d in have[1:]) and not computed:
            seen["unknown"].append((name, have))
        return original(*bound.args, **bound.kwargs)

    input_cls.__init__ = __init__
    try:
        yield seen
    finally:
        input_cls.__init__ = original


def user_frame(tb):
    """The innermost frame of ``tb`` in the user's code (their build file or a module of theirs),
    else the innermost frame; None for an empty traceback."""
    frames = traceback.extract_tb(tb)
    return next((f for f in reversed(frames) if not _machinery(f.filename)), frames[-1] if frames else None)


def _where(e: BaseException, python2_files=()) -> str:
    """``TypeError: message at build.py:12``: the user's line, not a line of Lasagne's or of the
    Theano-free API's; marked when that file was read as Python 2."""
    frame = user_frame(e.__traceback__)
    loc = ""
    if isinstance(e, SyntaxError) and e.filename and os.path.isabs(e.filename) and not _machinery(e.filename):
        # the line that does not parse (in the file the build code imports or loads), not where it was loaded
        loc = f" at {os.path.basename(e.filename)}:{e.lineno}"
        if os.path.abspath(e.filename) in python2_files:
            loc += " (read as Python 2)"
        if frame is not None and not _machinery(frame.filename) and frame.filename != e.filename:
            loc += f" (loaded at {os.path.basename(frame.filename)}:{frame.lineno})"
        return f"{type(e).__name__}: {e.msg}{loc}"
    if frame is not None:
        loc = f" at {os.path.basename(frame.filename)}:{frame.lineno}"
        if os.path.abspath(frame.filename) in python2_files:
            loc += " (read as Python 2)"
    if isinstance(e, SyntaxError) and frame is not None and _machinery(frame.filename):
        loc = ""  # compiled by the exporter's loaders: the message names the file (build.py, line 3)
    if isinstance(e, SystemExit):
        return f"sys.exit({e.code!r}){loc}"
    return f"{type(e).__name__}{': ' if str(e) else ''}{e}{loc}"


def _not_read_as_python2(e: BaseException) -> str:
    """A hint when ``e`` looks like Python 2 code failing in a module the exporter does not read as
    the user's (one on the PYTHONPATH, or in an installed package), where ``--python2`` cannot help."""
    from .py2 import looks_like_python2

    if isinstance(e, SyntaxError):
        filename = e.filename
    else:
        frame = user_frame(e.__traceback__)
        filename = frame.filename if frame is not None and looks_like_python2(e) else None
    if not filename or not os.path.isabs(filename) or _inside(filename, _PACKAGE_DIR) \
            or any(_inside(filename, d) for d in _LIBRARY_DIRS if "site-packages" not in d.split(os.sep)):
        return ""
    finders = [f for f in sys.meta_path if isinstance(f, UserSources)]
    if not finders or any(os.path.abspath(filename) in f.compiled for f in finders):
        return ""  # one of the user's modules: it was read as Python 2 where it needed to be
    return (f" ({os.path.basename(filename)} is not read as Python 2, even with --python2: only the user's modules "
            f"are, never an installed package's)")


def _failure(e: BaseException, python2_files=()) -> str:
    """What the build code did: ``raised TypeError: ... at build.py:12`` or ``called sys.exit(0) at ...``."""
    return f"{'called' if isinstance(e, SystemExit) else 'raised'} {_where(e, python2_files)}"
