"""Arguments for the user's build function: ``--network "build.py:build_model(60, 60, 10)"``,
``--network "build.py:build_cnn(n=9)"``, ``--build-arg n=9`` and the API's ``build_kwargs``.

Arguments are Python literals (numbers, strings, bytes, tuples, lists, dicts, sets, True/False/None),
read with :mod:`ast` and :func:`ast.literal_eval`: never evaluated.  They travel as their source text
inside the spec (``FILE.py:FN(ARGS)``), to the build process and to the reference run alike, and are
recorded in the manifest (``build.arguments``) and the model's metadata (``lasagne2onnx.arguments``).

A ``--build-arg NAME=VALUE`` value is a Python literal (``n=9``, ``sizes=(64,128)``, ``name='x'``);
a value that is not one and does not look like one either (``mode=train``, ``path=/data/x``) is the
string as written; one that starts like a literal but is not one (``[1, 2``) is refused.
"""
from __future__ import annotations

import ast
import inspect

from ..errors import NetworkError

USAGE = "--network expects FILE.py:FUNCTION or FILE.py:FUNCTION(ARGUMENTS)"
LITERALS = "Python literals: numbers, strings, tuples, lists, dicts, True/False/None"


def split_spec(spec: str):
    """``(path, function, arguments text or "")`` of ``FILE.py:FN`` or ``FILE.py:FN(ARGS)``; the text
    is checked to hold literals only (:func:`arguments`)."""
    if spec.rstrip().endswith(")"):
        for i, char in enumerate(spec):
            if char != "(":
                continue
            path, sep, fn = spec[:i].rpartition(":")
            if sep and path and fn.strip().isidentifier():
                return path, fn.strip(), _call_text(spec, spec[i:])
    path, sep, fn = spec.rpartition(":")
    if not sep or not path or not fn.isidentifier():
        raise NetworkError(f"{USAGE}, got {spec!r}")
    return path, fn, ""


def _call_text(spec: str, parenthesised: str) -> str:
    """The arguments of ``(ARGS)`` as canonical text (each argument as written, comma-separated)."""
    source = "f" + parenthesised
    try:
        call = ast.parse(source, mode="eval").body
    except SyntaxError as e:
        raise NetworkError(f"--network {spec}: cannot read the arguments {parenthesised} ({e.msg})") from None
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "f":
        raise NetworkError(f"{USAGE}, got {spec!r}")
    parts = []
    for node in call.args:
        parts.append(_literal_text(spec, source, node))
    for keyword in call.keywords:
        if keyword.arg is None:
            raise NetworkError(f"--network {spec}: **{ast.get_source_segment(source, keyword.value)} is not "
                               f"supported: name each argument")
        parts.append(f"{keyword.arg}={_literal_text(spec, source, keyword.value)}")
    text = ", ".join(parts)
    arguments(text, spec)  # a keyword given twice
    return text


def _literal_text(spec, source, node) -> str:
    text = ast.get_source_segment(source, node)
    if isinstance(node, ast.Starred):
        raise NetworkError(f"--network {spec}: {text} is not supported: give each argument")
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise NetworkError(f"--network {spec}: the argument {text} is not a Python literal (the arguments are read, "
                           f"never run: {LITERALS})") from None
    return text


def arguments(text: str, where: str = "--network"):
    """``(args tuple, kwargs dict)`` of canonical arguments text."""
    if not text:
        return (), {}
    call = ast.parse(f"f({text})", mode="eval").body
    kwargs = {}
    for keyword in call.keywords:
        if keyword.arg in kwargs:
            raise NetworkError(f"{where}: the argument {keyword.arg!r} is given twice")
        kwargs[keyword.arg] = ast.literal_eval(keyword.value)
    return tuple(ast.literal_eval(node) for node in call.args), kwargs


def spec_with_arguments(spec: str, build_args=(), build_kwargs=None) -> str:
    """``spec`` with ``--build-arg NAME=VALUE`` values and ``build_kwargs`` (API values) added to the
    arguments it writes itself; a keyword given twice is refused."""
    path, fn, text = split_spec(spec)
    parts = [text] if text else []
    parts += [build_arg_text(a) for a in build_args or ()]
    parts += [f"{name}={value_text(name, value)}" for name, value in (build_kwargs or {}).items()]
    if len(parts) == (1 if text else 0):
        return spec
    joined = ", ".join(parts)
    arguments(joined, f"--network {path}:{fn}{' with --build-arg' if build_args else ' with build_kwargs'}")
    return f"{path}:{fn}({joined})"


def build_arg_text(arg: str) -> str:
    """``NAME=VALUE`` (a ``--build-arg``) as ``NAME=<literal text>``."""
    name, sep, value = arg.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise NetworkError(f"--build-arg expects NAME=VALUE (VALUE a Python literal, e.g. n=9 or sizes=(64,128)), "
                           f"got {arg!r}")
    value = value.strip()
    try:
        ast.literal_eval(value)
        ast.parse(value, mode="eval")
        return f"{name}={value}"
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    if not value or value[0] in "\"'([{0123456789+-." or value in ("True", "False", "None"):
        raise NetworkError(f"--build-arg {arg}: {value or 'an empty value'} is not a Python literal ({LITERALS}; "
                           f"a word that looks like none, such as mode=train, is taken as a string)")
    return f"{name}={value!r}"


def value_text(name: str, value) -> str:
    """The literal text of the API value ``build_kwargs[name]``, refused when it has none."""
    text = repr(value)
    try:
        same = ast.literal_eval(text)
        ok = same == value and _same_types(same, value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        ok = False
    if not ok:
        raise NetworkError(f"build_kwargs[{name!r}]: a {type(value).__name__} cannot be passed to a 'FILE.py:fn' "
                           f"build, which runs in a process of its own: its arguments must be {LITERALS} (to pass "
                           f"other objects, import the build function and pass network=build_fn)")
    return text


def _same_types(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return all(_same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return all(_same_types(a[k], b[k]) for k in a)
    return True


def check_call(fn, args, kwargs, what: str):
    """Refuse arguments ``fn`` cannot take (NetworkError naming them) before calling it."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or a callable object Python cannot describe: let the call say
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as e:
        name = getattr(fn, "__name__", "the build function")
        given = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
        raise NetworkError(f"{what}: {name}({given}): {e} (arguments: FILE.py:{name}(ARGS) or --build-arg NAME=VALUE; "
                           f"build_kwargs in the Python API)") from None


def defaults_left(fn, args, kwargs) -> str:
    """``n=5, p=0.5``: the parameters with a number (or a tuple or list of numbers, or a bool) for default
    that the call leaves at their default: what sizes a network (``input_var=None``, ``name="net"`` do not)."""
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return ""
    left = []
    for name, parameter in bound.signature.parameters.items():
        if name in bound.arguments or parameter.default is inspect.Parameter.empty \
                or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if not _sizes(parameter.default):
            continue
        left.append(f"{name}={parameter.default!r}")
    return ", ".join(left)


def _sizes(value) -> bool:
    if isinstance(value, (list, tuple)):
        return bool(value) and all(_sizes(v) for v in value)
    return type(value) in (int, float, bool)


def weights_hint(build: dict) -> str:
    """What to try when the weights do not fit a network built with defaults left (``build`` of the
    layer graph: ``defaults``, ``arguments``)."""
    defaults = build.get("defaults") if isinstance(build, dict) else None
    if not isinstance(defaults, str) or not defaults:
        return ""
    first = defaults.split("=", 1)[0]
    return (f" (the build function took {defaults} by default: if the weights were trained with other values, pass "
            f"them, e.g. --build-arg {first}=... or FILE.py:FN({first}=...); build_kwargs in the Python API)")
