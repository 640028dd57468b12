"""``theano.scan`` while tracing: the step function is traced once on symbolic step values, and the
loop becomes one ``theano.scan`` node whose outputs are read by ``theano.scan.output`` nodes.

As Theano's ``scan`` does, ``fn`` gets, in order: one step of each sequence (one value per tap of a
``dict(input=x, taps=[...])``, tap 0 for a plain sequence), the previous value of each output that
``outputs_info`` feeds back (a tensor, or ``dict(initial=x)`` / ``dict(initial=x, taps=[-1])``;
None: not fed back), then the ``non_sequences`` themselves.  What the step reads from outside
(the non-sequences, network parameters, values computed before the loop) is not copied: the
scan node takes those outer values as inputs ("captured"), in the order the step's graph meets them.

The ``theano.scan`` node (:class:`~.graph.Apply`) records the loop in ``attrs``: ``sequence_taps``
(per sequence), ``fed_back`` (per output), ``n_steps`` (a literal number of steps, or None),
``n_steps_input`` (the number of steps is the node's last input), ``go_backwards``, and ``_step``:
the traced step (its inner inputs, its outputs, the captured values) that the tracer
(:mod:`exporter.frontends.theano_trace`) writes as the node's ``body`` expression.  The node's
inputs: the sequences, the initial states, the captured values, then the number of steps if symbolic.

What the stand-in cannot trace (a step that fails on symbolic values, updates of shared variables,
``theano.scan_module.until``, several taps of an output) gives lazy outputs: training code that
builds a loop still builds; a layer whose output depends on one is refused with the reason.
"""
from collections import OrderedDict

import numpy as np

from .context import NotTraceable, find_lazy, lazy
from .graph import Constant, SymbolicVariable, as_variable, make_node, user_location
from .registry import builder

SCAN_OP = "theano.scan"
OUTPUT_OP = "theano.scan.output"


class _Unsupported(Exception):
    pass


@builder("theano.scan", "theano.scan_module.scan", "theano.scan_module.scan.scan")
def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None, truncate_gradient=-1,
         go_backwards=False, mode=None, name=None, profile=False, allow_gc=None, strict=False, return_list=False):
    outs_info = _as_list(outputs_info)
    found = find_lazy([sequences, outputs_info, non_sequences, n_steps])
    try:
        if found is not None:
            raise _Unsupported(found.refusal().reason)
        outputs = _trace(fn, _as_list(sequences), outs_info, _as_list(non_sequences), n_steps, bool(go_backwards))
    except (_Unsupported, NotTraceable) as e:
        reason = f"theano.scan (at {user_location() or 'an unknown line'}) is not traced: {e}"
        outputs = [lazy(SCAN_OP, reason) for _ in range(max(len(outs_info), 1))]
    if len(outputs) == 1 and not return_list:
        return outputs[0], OrderedDict()
    return list(outputs), OrderedDict()


scan.accepts_lazy = True


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _trace(fn, sequences, outs_info, non_sequences, n_steps, go_backwards):
    inner, seqs, taps = [], [], []
    for i, seq in enumerate(sequences):
        if isinstance(seq, dict):
            if "input" not in seq:
                raise _Unsupported(f"sequence {i} is a dict without 'input'")
            x, seq_taps = as_variable(seq["input"]), seq.get("taps", [0])
            seq_taps = [0] if seq_taps is None else [int(t) for t in _as_list(seq_taps)]
        else:
            x, seq_taps = as_variable(seq), [0]
        if x.ndim == 0:
            raise _Unsupported(f"sequence {i} is a scalar; a sequence is scanned over its first axis")
        seqs.append(x)
        taps.append(seq_taps)
        inner += [_step_of(x, f"{x.name or f'sequence{i}'}[t{k:+d}]" if k else f"{x.name or f'sequence{i}'}[t]")
                  for k in seq_taps]
    inits, fed_back = [], []
    for i, info in enumerate(outs_info):
        if isinstance(info, dict):
            out_taps = info.get("taps", [-1])
            if info.get("initial") is not None and _as_list(out_taps) not in ([], [-1]):
                raise _Unsupported(f"output {i} reads its earlier values with taps {out_taps} (only its "
                                   f"previous value, tap -1, is traced)")
            info = info.get("initial")
        if info is None:
            fed_back.append(False)
            continue
        init = as_variable(info)
        fed_back.append(True)
        inits.append(init)
        inner.append(SymbolicVariable(f"{init.name or f'output{i}'}[t-1]", dtype=init.dtype,
                                      broadcastable=init.broadcastable, shape=init.static_shape))
    non_seqs = [as_variable(v) if not isinstance(v, SymbolicVariable) else v for v in non_sequences]
    steps, steps_input = _n_steps(n_steps, seqs, taps)
    result = fn(*(inner + non_seqs))
    outputs = _outputs(result)
    if not outs_info:
        fed_back = [False] * len(outputs)
    if len(outputs) != len(fed_back):
        raise _Unsupported(f"the step function returns {len(outputs)} values but outputs_info has {len(fed_back)} "
                           f"entries")
    states = iter(inits)
    for i, (out, fb) in enumerate(zip(outputs, fed_back)):
        if fb:
            init = next(states)
            if out.dtype != init.dtype or out.ndim != init.ndim:
                raise TypeError(f"theano.scan: output {i} of the step function is a {out.ndim}-d {out.dtype} "
                                f"value, but its initial state (outputs_info) is a {init.ndim}-d {init.dtype} one")
            if out.broadcastable != init.broadcastable:
                raise TypeError(f"theano.scan: output {i} of the step function has broadcastable pattern "
                                f"{out.broadcastable}, but its initial state has {init.broadcastable} "
                                f"(use theano.tensor.patternbroadcast, as Theano asks)")
    captured = _captured(outputs, inner)
    length = steps if steps is not None else _static_length(seqs, taps)
    node_inputs = seqs + inits + captured + ([steps_input] if steps_input is not None else [])
    attrs = {"sequence_taps": taps, "fed_back": fed_back, "n_steps": steps, "n_steps_input": steps_input is not None,
             "go_backwards": go_backwards, "_step": (inner, outputs, captured)}
    first = outputs[0]
    loop = make_node(SCAN_OP, node_inputs, attrs, dtype=first.dtype, broadcastable=(False,) + first.broadcastable,
                     shape=(length,) + tuple(first.static_shape))
    return [make_node(OUTPUT_OP, [loop], {"index": k}, dtype=o.dtype, broadcastable=(False,) + o.broadcastable,
                      shape=(length,) + tuple(o.static_shape)) for k, o in enumerate(outputs)]


def _step_of(x, name):
    """A free variable typed as one step of ``x`` (``x[t]``)."""
    return SymbolicVariable(name, dtype=x.dtype, broadcastable=x.broadcastable[1:], shape=x.static_shape[1:])


def _n_steps(n_steps, seqs, taps):
    """(a literal number of steps or None, the symbolic number of steps or None)."""
    if n_steps is None:
        if not seqs:
            raise _Unsupported("neither sequences nor n_steps say how many steps to take")
        return None, None
    if isinstance(n_steps, (int, np.integer)) or (isinstance(n_steps, Constant) and n_steps.ndim == 0):
        value = int(n_steps.data if isinstance(n_steps, Constant) else n_steps)
        if value < 0:
            raise _Unsupported("a negative n_steps (Theano refuses it)")
        return value, None
    v = as_variable(n_steps)
    if v.ndim != 0 or v.dtype not in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"):
        raise _Unsupported(f"n_steps must be an integer scalar, got a {v.ndim}-d {v.dtype} value")
    if v.static_value is not None:
        return int(v.static_value), None
    return None, v


def _static_length(seqs, taps):
    lengths = []
    for x, t in zip(seqs, taps):
        n = x.static_shape[0]
        if n is None:
            return None
        lengths.append(n - (max(max(t), 0) - min(min(t), 0)))
    return max(min(lengths), 0) if lengths else None


def _outputs(result):
    """The step's outputs (Theano's get_updates_and_outputs): a variable, or a list/tuple of them; updates
    of shared variables and a stopping condition are not exported."""
    if isinstance(result, dict) or (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        updates = result if isinstance(result, dict) else result[1]
        if updates:
            raise _Unsupported("its step function updates shared variables")
        result = [] if isinstance(result, dict) else result[0]
    found = find_lazy(_as_list(result))
    if found is not None:
        if found.refusal().op.endswith(".until"):
            raise _Unsupported("its step returns theano.scan_module.until (a loop that stops on a condition)")
        raise _Unsupported(found.refusal().reason)
    outputs = [as_variable(r) for r in _as_list(result)]
    if not outputs:
        raise _Unsupported("its step function returns no output")
    return outputs


def _captured(outputs, inner):
    """The outer values the step reads (leaves of its graph that are not its inner inputs, and what is
    computed from outer values only), in the order a walk from the outputs first meets them."""
    inner_ids = {id(v) for v in inner}
    depends = {}  # id -> whether the variable depends on an inner input

    order, stack = [], [(o, False) for o in reversed(outputs)]
    while stack:
        v, expanded = stack.pop()
        if id(v) in depends:
            continue
        owner = v.owner
        if id(v) in inner_ids:
            depends[id(v)] = True
            continue
        if owner is None or owner.kind in ("random", "lazy"):
            depends[id(v)] = False
            order.append(v)
            continue
        if not expanded:
            stack.append((v, True))
            stack.extend((i, False) for i in reversed(owner.inputs) if id(i) not in depends)
            continue
        depends[id(v)] = any(depends[id(i)] for i in owner.inputs)
        order.append(v)
    captured, seen = [], set()

    def visit(v):  # outer values whose users depend on an inner input (or that are outputs themselves)
        if id(v) not in seen and not isinstance(v, Constant):
            seen.add(id(v))
            captured.append(v)

    for v in order:
        if depends.get(id(v)) and v.owner is not None:
            for i in v.owner.inputs:
                if not depends[id(i)]:
                    visit(i)
    for o in outputs:
        if not depends[id(o)]:
            visit(o)
    return captured
