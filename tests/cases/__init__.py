"""Test networks, written once as ordinary Lasagne build code.

Each case is a function that imports ``lasagne`` and returns the network's output layer.  The same
function runs under the real Lasagne on Theano (the legacy reference environment, where it yields
the reference outputs and the reference layer graph) and under the project's Theano-free Lasagne
API.  ``inputs`` gives the concrete array shape fed to each InputLayer (by layer name).
"""
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

CASES = {}


@dataclass
class Case:
    name: str
    build: Callable
    inputs: dict
    needs_02: bool = False  # uses a Lasagne 0.2 layer that the legacy tests back-port from its formula
    tags: tuple = field(default_factory=tuple)
    expect_error: str | None = None  # the capture must fail with an error containing this text
    int_inputs: dict = field(default_factory=dict)  # input name -> (dtype, low, high): integers in [low, high)


def case(inputs, needs_02=False, tags=(), expect_error=None, name=None, int_inputs=None):
    def deco(fn):
        n = name or fn.__name__
        if n in CASES:
            raise ValueError(f"case {n} defined twice")
        CASES[n] = Case(n, fn, dict(inputs), needs_02, tuple(tags), expect_error, dict(int_inputs or {}))
        return fn

    return deco


def load_all():
    for m in pkgutil.iter_modules(__path__):
        if m.name.startswith("_"):  # helpers imported by cases, not cases
            continue
        importlib.import_module(f"{__name__}.{m.name}")
    return CASES
