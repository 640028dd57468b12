"""A size fixed by the build code against an unknown batch (issue 17).

``InputLayer((None, 700, 90))`` then ``ReshapeLayer(l, (64 * 700, 90))``: Lasagne accepts it (an unknown size
skips its check), but the network runs only on a batch of 64.  Exported as it is, the model declares a free
batch that every other batch crashes.  :func:`only_batch` finds such a layer, while the live network is at
hand, and says which batch the code allows: the caller builds the network again with that batch given to its
input layers (as ``--input-shape`` does) and warns, or refuses naming the layer, the line that made it and the
``--input-shape`` that works.  :func:`watch_layer_sites` records that line for every layer the build makes.
"""
from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys

from ..errors import NetworkError


@contextlib.contextmanager
def watch_layer_sites(layer_cls, is_machinery):
    """While the build function runs, ``sites[id(layer)]`` is the ``file.py:line`` of the user's code that
    made each layer (the innermost frame ``is_machinery(filename)`` does not claim)."""
    original = layer_cls.__init__
    sites = {}

    def __init__(self, *args, **kwargs):
        frame = sys._getframe(1)
        while frame is not None and is_machinery(frame.f_code.co_filename):
            frame = frame.f_back
        if frame is not None:
            sites.setdefault(id(self), f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}")
        return original(self, *args, **kwargs)

    layer_cls.__init__ = __init__
    try:
        yield sites
    finally:
        layer_cls.__init__ = original


class FixedSize:
    """A ReshapeLayer whose fixed target size decides an unknown size of its input: ``batch`` is the only
    value that fits (None: no value does, or more than one size is unknown: ``why`` says which)."""

    def __init__(self, name, layer, where, batch, why):
        self.name, self.layer, self.where, self.batch, self.why = name, layer, where, batch, why

    def describe(self) -> str:
        layer = self.layer
        return (f"layer {self.name!r} ({type(layer).__name__}{' at ' + self.where if self.where else ''}) reshapes "
                f"its input of shape {tuple(layer.input_shape)} to the fixed shape {_shape_text(layer.shape)}")


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def fixed_size(layer):
    """``(batch, why)`` when ``layer`` is a ReshapeLayer whose sizes are all fixed (no -1, no symbolic size)
    while its input has unknown sizes that are not copied with ``[i]``, else None."""
    if type(layer).__name__ != "ReshapeLayer" or not hasattr(layer, "shape") or not hasattr(layer, "input_shape"):
        return None
    in_shape, target = list(layer.input_shape), list(layer.shape)
    out = []
    for s in target:
        if isinstance(s, list) and len(s) == 1 and isinstance(s[0], numbers.Integral) and s[0] < len(in_shape):
            if in_shape[s[0]] is None:
                in_shape[s[0]] = 1  # copied: cancels out, as Lasagne masks it
                continue
            out.append(in_shape[s[0]])
        elif isinstance(s, numbers.Integral) and s > 0:
            out.append(int(s))
        else:  # -1 takes whatever is left; a symbolic size follows the input
            return None
    unknown = [i for i, d in enumerate(in_shape) if d is None]
    if not unknown:
        return None
    total, known = math.prod(out), math.prod(d for d in in_shape if d is not None)
    if len(unknown) > 1:
        return None, f"{len(unknown)} of its input's sizes are unknown"
    if total % known:
        return None, f"{total} values cannot be cut into pieces of {known}: no size of axis {unknown[0]} fits"
    return total // known, f"axis {unknown[0]} of its input must then be {total // known}"


def only_batch(layers, names, sites):
    """The first ReshapeLayer among ``layers`` (``get_all_layers`` order) with a fixed size against an unknown
    input size (a :class:`FixedSize`), or None."""
    for layer, name in zip(layers, names):
        found = fixed_size(layer)
        if found is not None:
            return FixedSize(name, layer, sites.get(id(layer)), *found)
    return None


def batch_shapes(found, inputs, spec):
    """``{--input-shape key: shape}`` giving every input layer of unknown batch (``inputs``: ``(name,
    layer)`` in creation order) the batch ``found.batch``; raises the refusal when it cannot."""
    hint = _hint(found, inputs)
    if found.batch is None and found.why.endswith("unknown"):
        raise NetworkError(f"{spec}: {found.describe()}, but {found.why}: the network runs only on inputs whose "
                           f"sizes give {math.prod(d for d in _fixed(found.layer.shape))} values there: "
                           f"{hint[len('(or '):-1]}")
    if found.batch is None:
        raise NetworkError(f"{spec}: {found.describe()}, but {found.why}; no batch size runs it: fix the size in "
                           f"the build code (-1, or input_var.shape[0]) {hint}")
    free = [(name, layer) for name, layer in inputs if tuple(layer.shape)[:1] == (None,)]
    if not free or any(d is None for _, layer in free for d in tuple(layer.shape)[1:]):
        raise NetworkError(f"{spec}: {found.describe()}, so {found.why}; the network runs only on inputs of "
                           f"that size {hint}")
    if len(inputs) == 1:
        return {None: (found.batch,) + tuple(inputs[0][1].shape)[1:]}
    if any(name is None for name, _ in free):
        raise NetworkError(f"{spec}: {found.describe()}, so {found.why}: the network runs only on a batch of "
                           f"{found.batch}; name its input layers and give --input-shape NAME="
                           f"{found.batch},... for each")
    return {name: (found.batch,) + tuple(layer.shape)[1:] for name, layer in free}


def _fixed(shape):
    return [d for d in shape if isinstance(d, numbers.Integral)]


def _hint(found, inputs):
    shapes = [tuple(layer.shape) for _, layer in inputs]
    if len(shapes) != 1:
        return "(or give every input's sizes with --input-shape NAME=D0,D1,...)"
    shape = shapes[0]
    example = ",".join(str(found.batch) if i == 0 and found.batch and d is None else "N" if d is None else str(d)
                       for i, d in enumerate(shape))
    return f"(or give the input's sizes with --input-shape {example})"


def warning(found, shapes) -> str:
    given = "; ".join(f"--input-shape {'' if k is None else k + '='}{','.join(map(str, v))}" for k, v in shapes.items())
    return (f"warning: {found.describe()}, so the network runs only on a batch of {found.batch}: exported with that "
            f"batch fixed (as {given})")
