"""The walk of :mod:`.theano_graph`: Theano's ``Apply`` nodes from a layer's output back to its inputs,
written as :class:`~exporter.ir.ExprGraph` inputs and nodes with the Theano-free tracer's op names and
attributes (``docs/theano_ops.md``), through the tables of :mod:`.theano_graph_names` (an op they do
not map is refused, naming it and the user's line).  Runs in the legacy environment; Theano is
imported inside the functions, so this module imports anywhere.
"""
from __future__ import annotations

import numpy as np

from ..ir import ExprGraph, ExprInput, ExprNode
from .theano_graph_names import (_SCALAR, _T, CONSTANT_OP, DTYPES, FORWARD_IDENTITIES, THEANO_OP_NAMES, Refused,
                                 unknown_op)
from .theano_graph_names import where as where_of
from .theano_graph_userops import is_user_op, read_user_op
from .theano_shapes import class_path, static_shapes


# -- the walk ------------------------------------------------------------------------------------------------
class Reader:
    """Writes the Theano graph of ``out`` as ExprGraph inputs and nodes (``read(var)`` -> its name)."""

    def __init__(self, inputs, shapes, param_role, out, n_layer_inputs=None):
        import theano

        self.theano = theano
        self.inputs = {v: i for i, v in enumerate(inputs)}
        self.many_inputs = (len(inputs) if n_layer_inputs is None else n_layer_inputs) > 1
        self.param_role = param_role
        self.expr_inputs, self.nodes, self.used = [], [], []
        self.names = {}  # theano variable -> expression name
        self.loops = {}  # a Scan's Apply node -> the name of its theano.scan node
        self.types = {}  # expression name -> (dtype, broadcastable, shape)
        self.sizes = static_shapes(out, inputs, shapes or [None] * len(inputs))

    # -- emitting ------------------------------------------------------------------------------------------
    def emit(self, op, inputs, attrs, typed, where, constant=False):
        name = f"c{len(self.nodes)}" if constant else f"n{len(self.nodes)}"
        dtype, bc, shape = typed
        self.nodes.append(ExprNode(name=name, op=op, inputs=list(inputs), attrs=attrs, ndim=len(bc), dtype=dtype,
                                   broadcastable=list(bc), shape=list(shape), where=where))
        self.types[name] = typed
        return name

    def typed(self, var):
        """(dtype, broadcastable, static shape) of a Theano variable."""
        if not hasattr(var.type, "dtype"):
            raise Refused(f"it uses {var} of type {var.type}, which is not a tensor")
        dtype = str(var.type.dtype)
        if dtype not in DTYPES:
            raise Refused(f"it computes a {dtype} value ({var}), which cannot be exported")
        bc = [bool(b) for b in getattr(var.type, "broadcastable", ())]
        known = self.sizes.get(var) or [None] * len(bc)
        return dtype, bc, [1 if b else (None if s is None else int(s)) for s, b in zip(known, bc)]

    def constant(self, value, var=None):
        from ..theano_ops.values import encode

        value = np.asarray(value)
        typed = self.typed(var) if var is not None else (
            str(value.dtype), [d == 1 for d in value.shape], [int(d) for d in value.shape])
        if value.dtype.kind not in "biuf":
            raise Refused(f"it uses a constant of dtype {value.dtype}, which cannot be exported")
        return self.emit(CONSTANT_OP, [], {"value": encode(value.astype(typed[0]))}, typed, "", constant=True)

    # -- reading -----------------------------------------------------------------------------------------------
    def read(self, out):
        """Name of ``out``, after writing everything it depends on (iteratively: deep graphs do not recurse)."""
        stack = [(out, False)]
        while stack:
            var, expanded = stack.pop()
            if var in self.names:
                continue
            if var.owner is not None and var not in self.inputs and not expanded:
                self.check(var)  # before its inputs: a random op's state is no value to read
            operands = [] if var.owner is None or var in self.inputs else self.operands(var.owner)
            if expanded or not any(o not in self.names for o in operands):
                self.names[var] = self.leaf(var) if var.owner is None or var in self.inputs else self.apply(var)
                continue
            stack.append((var, True))
            stack.extend((o, False) for o in reversed(operands) if o not in self.names)
        return self.names[out]

    def leaf(self, var):
        theano = self.theano
        if var in self.inputs:
            i = self.inputs[var]
            name = f"input{i}" if self.many_inputs or i > 0 else "input"
            typed = self.typed(var)
            self.expr_inputs.append(ExprInput(name=name, source="input", index=i, dtype=typed[0],
                                              broadcastable=typed[1], shape=typed[2]))
            self.types[name] = typed
            return name
        if isinstance(var, theano.compile.SharedVariable):
            role = self.param_role(var)
            if role is None:
                return self.constant(var.get_value(borrow=True), var)
            name = f"param:{role}"
            typed = self.typed(var)
            self.expr_inputs.append(ExprInput(name=name, source="param", role=role, dtype=typed[0],
                                              broadcastable=typed[1], shape=typed[2]))
            self.types[name] = typed
            self.used.append(var)
            return name
        if isinstance(var, theano.gof.Constant):
            return self.constant(var.data, var)
        where = where_of(var)
        raise Refused(f"it uses the symbolic variable {var} ({var.type}{', made at ' + where if where else ''}), "
                      f"which is not one of its inputs (a network input or a variable of another network?)")

    def operands(self, node):
        """The inputs of ``node`` that are values of the expression (constant indices, axes and window
        sizes are read as attributes instead)."""
        kind = class_path(node.op)
        if kind in ("theano.tensor.subtensor.Subtensor", "theano.tensor.subtensor.IncSubtensor"):
            head = 1 if kind.endswith(".Subtensor") else 2
            return node.inputs[:head] + [i for i in node.inputs[head:] if _constant(i) is None]
        if kind == "theano.tensor.basic.Join":
            return node.inputs[1:]
        if kind == "theano.tensor.basic.Split":
            return node.inputs[:1]
        if kind == "theano.tensor.signal.pool.Pool":
            return node.inputs[:1]
        if kind == SCAN:
            steps, seqs, heads, _, non_seqs = _scan_layout(node)
            return [steps] + seqs + heads + [_buffer_init(h) for h in heads] + non_seqs
        return list(node.inputs)

    def reader(self, op):
        """How to read an Apply of ``op``, or None when the op has no counterpart."""
        kind = class_path(op)
        if kind in FORWARD_IDENTITIES:
            return Reader.forward
        if is_user_op(op):
            return read_user_op
        if kind == "theano.tensor.elemwise.Elemwise":
            return Reader.elemwise
        if kind in _READERS:
            return _READERS[kind]
        if isinstance(op, self.theano.tensor.elemwise.CAReduce):
            return Reader.careduce
        if isinstance(op, self.theano.scalar.ScalarOp):
            return Reader.scalar_apply
        return None

    def check(self, var):
        if self.reader(var.owner.op) is None:
            raise Refused(unknown_op(var.owner.op, where_of(var)))

    def apply(self, var):
        return self.reader(var.owner.op)(self, var, where_of(var))

    def forward(self, var, where):
        return self.names[var.owner.inputs[0]]

    def args(self, node, start=0, stop=None):
        return [self.names[i] for i in node.inputs[start:stop]]

    # -- elementwise -----------------------------------------------------------------------------------------
    def elemwise(self, var, where):
        node = var.owner
        scalar_op = node.op.scalar_op
        if isinstance(scalar_op, self.theano.scalar.Composite):
            return self.composite(var, where)
        return self.scalar(scalar_op, self.args(node), self.typed(var), where, node.op)

    def scalar(self, scalar_op, args, typed, where, shown):
        if class_path(scalar_op) == "theano.tensor.nnet.nnet.ScalarSoftsign":  # Theano's x / (1 + abs(x))
            (x,) = args
            one = self.constant(np.asarray(1, dtype=typed[0]))
            size = self.emit(_T + "add", [one, self.emit(_T + "abs_", [x], {}, self.types[x], where)], {},
                             self.broadcast([x], typed[0]), where)
            return self.emit(_T + "true_div", [x, size], {}, typed, where)
        op = THEANO_OP_NAMES.get(class_path(scalar_op))
        if op is None:
            raise Refused(unknown_op(shown, where))
        attrs = {"dtype": typed[0]} if op == _T + "cast" else {}
        if op in (_T + "add", _T + "mul") and len(args) > 2:  # variadic in Theano; a left fold of pairs here
            acc = args[0]
            for arg in args[1:-1]:
                acc = self.emit(op, [acc, arg], {}, self.broadcast([acc, arg], typed[0]), where)
            args = [acc, args[-1]]
        if op in (_T + "add", _T + "mul") and len(args) == 1:
            op = _T + "tensor_copy"
        return self.emit(op, args, attrs, typed, where)

    def broadcast(self, names, dtype):
        """The type of an elementwise result of the named values (lower ranks broadcast from the left)."""
        types = [self.types[n] for n in names]
        nd = max(len(t[1]) for t in types)
        bcs = [[True] * (nd - len(t[1])) + list(t[1]) for t in types]
        shapes = [[1] * (nd - len(t[2])) + list(t[2]) for t in types]
        bc, shape = [], []
        for i in range(nd):
            bc.append(all(b[i] for b in bcs))
            sizes = {s[i] for s, b in zip(shapes, bcs) if not b[i] and s[i] not in (None, 1)}
            shape.append(1 if bc[i] else (sizes.pop() if len(sizes) == 1 else None))
        return dtype, bc, shape

    def composite(self, var, where):
        """An ``Elemwise{Composite}`` (fused by an optimisation, or Theano's batch-normalisation op):
        its inner scalar graph written op by op over the Elemwise's inputs."""
        theano = self.theano
        node = var.owner
        comp = node.op.scalar_op
        inner_in, inner_out = list(comp.inputs), list(comp.outputs)
        env = {i: self.names[o] for i, o in zip(inner_in, node.inputs)}
        target = inner_out[var.index]
        for apply in theano.gof.graph.io_toposort(inner_in, [target]):
            args = []
            for i in apply.inputs:
                if i not in env:
                    if not isinstance(i, theano.gof.Constant):
                        raise Refused(unknown_op(node.op, where))
                    env[i] = self.constant(np.asarray(i.data, dtype=i.type.dtype))
                args.append(env[i])
            if len(apply.outputs) != 1 or isinstance(apply.op, theano.scalar.Composite):
                raise Refused(unknown_op(node.op, where))
            (o,) = apply.outputs
            typed = self.typed(var) if o is target else self.broadcast(args, str(o.type.dtype))
            env[o] = self.scalar(apply.op, args, typed, where, node.op)
        return env[target]  # (an inner input when the Composite passes one through)

    def scalar_apply(self, var, where):
        """A Theano scalar op applied to scalars (index arithmetic): an elementwise op on 0-d values."""
        return self.scalar(var.owner.op, self.args(var.owner), self.typed(var), where, var.owner.op)

    # -- reductions ----------------------------------------------------------------------------------------------
    def careduce(self, var, where):
        node = var.owner
        op = node.op
        names = {"Add": "sum", "Mul": "prod", "Maximum": "max", "Minimum": "min", "AND": "all", "OR": "any"}
        name = THEANO_OP_NAMES.get(class_path(op))
        if name is None:
            short = names.get(type(op.scalar_op).__name__) if class_path(op.scalar_op).startswith(_SCALAR) else None
            if short is None:
                raise Refused(unknown_op(op, where))
            name = _T + short
        return self.emit(name, self.args(node), _axes(op.axis, node.inputs[0].ndim, keepdims=False), self.typed(var),
                         where)

    def max_and_argmax(self, var, where):
        node = var.owner
        x = node.inputs[0]
        axis = _axes(node.op.axis, x.ndim, keepdims=False)
        if var.index == 0:
            return self.emit(_T + "max", self.args(node), axis, self.typed(var), where)
        arg = self.names[x]
        if axis["axis"] is None or (len(axis["axis"]) == x.ndim and x.ndim > 1):  # the index into the flattened x
            typed = self.types[arg]
            flat = self.emit(_T + "flatten", [arg], {"ndim": 1},
                             (typed[0], [all(typed[1])], [_product(typed[2])]), where)
            return self.emit(_T + "argmax", [flat], {"axis": [0], "keepdims": False}, self.typed(var), where)
        if len(axis["axis"]) > 1:
            raise Refused(f"argmax over several (not all) axes (at {where or 'an unknown line'}) is not exported")
        return self.emit(_T + "argmax", [arg], axis, self.typed(var), where)

    def argmax(self, var, where):
        node = var.owner
        axis = _axes(node.op.axis, node.inputs[0].ndim, keepdims=False)
        if axis["axis"] is None or len(axis["axis"]) != 1:
            raise Refused(f"argmax over several axes (at {where or 'an unknown line'}) is not exported")
        return self.emit(_T + "argmax", self.args(node, 0, 1), axis, self.typed(var), where)

    def cumsum(self, var, where):
        op = var.owner.op
        if op.mode != "add":
            raise Refused(f"cumulative {op.mode} (at {where or 'an unknown line'}) has no ONNX lowering")
        arg = self.names[var.owner.inputs[0]]
        if op.axis is None:  # over the flattened input, as Theano does
            typed = self.types[arg]
            arg = self.emit(_T + "flatten", [arg], {"ndim": 1}, (typed[0], [all(typed[1])], [_product(typed[2])]),
                            where)
            return self.emit(_T + "extra_ops.cumsum", [arg], {"axis": 0}, self.typed(var), where)
        return self.emit(_T + "extra_ops.cumsum", [arg], {"axis": int(op.axis) % var.ndim}, self.typed(var), where)

    # -- shapes and indexing -------------------------------------------------------------------------------------
    def dimshuffle(self, var, where):
        node = var.owner
        order = ["x" if p == "x" else int(p) for p in node.op.new_order]
        if order == list(range(node.inputs[0].ndim)):
            return self.names[node.inputs[0]]
        return self.emit(_T + "dimshuffle", self.args(node), {"new_order": order}, self.typed(var), where)

    def shape_i(self, var, where):
        node = var.owner
        x = self.names[node.inputs[0]]
        shape = self.emit(_T + "shape", [x], {}, ("int64", [False], [len(self.types[x][1])]), where)
        return self.emit(_T + "subtensor.Subtensor", [shape], {"idx_list": [{"index": int(node.op.i)}]},
                         self.typed(var), where)

    def alloc_diag(self, var, where):
        node = var.owner
        if node.inputs[0].ndim != 1 or (node.op.axis1, node.op.axis2) != (0, 1):
            raise Refused(f"it uses {node.op} of a {node.inputs[0].ndim}-d input (at {where or 'an unknown line'}): "
                          f"only a vector on the diagonal of a matrix is read")
        return self.emit(_T + "alloc_diag", self.args(node), {"offset": int(node.op.offset)}, self.typed(var), where)

    def extract_diag(self, var, where):
        node = var.owner
        n = node.inputs[0].ndim
        attrs = {"offset": int(node.op.offset), "axis1": int(node.op.axis1) % n, "axis2": int(node.op.axis2) % n}
        return self.emit(_T + "extract_diag", self.args(node), attrs, self.typed(var), where)

    def rebroadcast(self, var, where):
        node = var.owner
        bc = [bool(b) for b in var.broadcastable]
        if bc == [bool(b) for b in node.inputs[0].broadcastable]:
            return self.names[node.inputs[0]]
        return self.emit(_T + "patternbroadcast", self.args(node), {"broadcastable": bc}, self.typed(var), where)

    def index_list(self, node, idx_list, head):
        """(idx_list in the tracer's encoding, the node's input names): constant indices become ints,
        the others ``{"input": k}`` (k counting the node's inputs, ``head`` of which precede them)."""
        names = self.args(node, 0, head)
        rest = iter(node.inputs[head:])

        def part(entry):
            if entry is None:
                return None
            if isinstance(entry, (int, np.integer)):
                return int(entry)
            v = next(rest)
            c = _constant(v)
            if c is not None:
                return int(c)
            names.append(self.names[v])
            return {"input": len(names) - 1}

        out = []
        for entry in idx_list:
            if isinstance(entry, slice):
                out.append({"slice": [part(entry.start), part(entry.stop), part(entry.step)]})
            else:
                out.append({"index": part(entry)})
        return out, names

    def subtensor(self, var, where):
        idx, names = self.index_list(var.owner, var.owner.op.idx_list, 1)
        return self.emit(_T + "subtensor.Subtensor", names, {"idx_list": idx}, self.typed(var), where)

    def inc_subtensor(self, var, where):
        op = var.owner.op
        idx, names = self.index_list(var.owner, op.idx_list, 2)
        name = _T + ("set_subtensor" if op.set_instead_of_inc else "inc_subtensor")
        return self.emit(name, names, {"idx_list": idx}, self.typed(var), where)

    def take(self, var, where):
        return self.emit(_T + "take", self.args(var.owner), {"axis": 0}, self.typed(var), where)

    def reshape(self, var, where):
        return self.emit(_T + "reshape", self.args(var.owner), {"ndim": int(var.owner.op.ndim)}, self.typed(var), where)

    def flatten(self, var, where):
        return self.emit(_T + "flatten", self.args(var.owner), {"ndim": int(var.owner.op.outdim)}, self.typed(var),
                         where)

    def join(self, var, where):
        node = var.owner
        axis = _constant(node.inputs[0])
        if axis is None:
            raise Refused(f"concatenate along an axis that is not a constant (at {where or 'an unknown line'}) is not "
                          f"exported")
        return self.emit(_T + "concatenate", self.args(node, 1), {"axis": int(axis) % var.ndim}, self.typed(var),
                         where)

    def split(self, var, where):
        """Output k of ``T.split(x, sizes, n, axis)``: the slice of ``x`` after the first k sizes."""
        node = var.owner
        axis, sizes = _constant(node.inputs[1]), _constant(node.inputs[2])
        if axis is None or sizes is None:
            raise Refused(f"split with sizes or an axis that are not constants (at {where or 'an unknown line'}) is "
                          f"not exported")
        axis = int(axis) % var.ndim
        start = int(np.sum(sizes[:var.index]))
        idx = [{"slice": [None, None, None]}] * axis + [{"slice": [start, start + int(sizes[var.index]), None]}]
        return self.emit(_T + "subtensor.Subtensor", [self.names[node.inputs[0]]], {"idx_list": idx},
                         self.typed(var), where)

    def simple(self, var, where, attrs=None):
        """An op whose tracer node takes the same inputs and no attributes."""
        return self.emit(THEANO_OP_NAMES[class_path(var.owner.op)], self.args(var.owner), attrs or {},
                         self.typed(var), where)

    def make_vector(self, var, where):
        return self.simple(var, where, {"axis": 0})

    # -- loops ---------------------------------------------------------------------------------------------------------
    def scan(self, var, where):
        """Output k of Theano's ``Scan`` op, written as the tracer's ``theano.scan`` node and its
        ``theano.scan.output`` (see ``docs/theano_ops.md``).  The op's outer inputs are already what the
        loop reads: each tap of a sequence its own sequence, sliced, reversed and cut to the number of
        steps (the op's first input); an output fed back reads a buffer whose first row is its initial
        state (``set_subtensor`` of ``shape_padleft(initial)`` into an empty buffer of n_steps + 1 rows),
        and Theano's output is that buffer: the initial row, then the steps (the user's ``[1:]`` drops it)."""
        node = var.owner
        if node not in self.loops:
            self.loops[node] = self.loop(node, where)
        k = node.outputs.index(var)
        info = node.op.info
        body_out = node.op.outputs[k]
        stacked = self.emit("theano.scan.output", [self.loops[node]], {"index": k},
                            (str(body_out.type.dtype), [False] + [bool(b) for b in body_out.broadcastable],
                             [None] * (body_out.ndim + 1)), where)
        if k >= info["n_sit_sot"]:
            return stacked
        head = self.names[_scan_layout(node)[2][k]]
        return self.emit(_T + "concatenate", [head, stacked], {"axis": 0}, self.typed(var), where)

    def loop(self, node, where):
        op, info = node.op, node.op.info
        unsupported = [what for what, n in (("outputs reading several earlier values (taps)", info["n_mit_sot"]),
                                            ("gradients (mit_mot)", info["n_mit_mot"]),
                                            ("updates of shared variables", info["n_shared_outs"]),
                                            ("a stopping condition (until)", info["as_while"])) if n]
        if unsupported:
            raise Refused(f"theano.scan with {unsupported[0]} is not exported ({op}{' at ' + where if where else ''})")
        steps, seqs, heads, _, non_seqs = _scan_layout(node)
        inits = [_buffer_init(h) for h in heads]
        shapes = ([list(self.types[self.names[s]][2][1:]) for s in seqs]
                  + [list(self.types[self.names[i]][2]) for i in inits]
                  + [list(self.types[self.names[v]][2]) for v in non_seqs])
        step = Reader(list(op.inputs), shapes, lambda v: None, list(op.outputs))
        outputs = [step.read(o) for o in op.outputs]
        body = ExprGraph(inputs=sorted(step.expr_inputs, key=lambda i: i.index), nodes=step.nodes,
                         outputs=outputs).to_dict()
        first = step.types[outputs[0]]
        attrs = {"sequence_taps": [[0]] * len(seqs), "fed_back": [True] * len(heads) + [False] * info["n_nit_sot"],
                 "n_steps": None, "n_steps_input": True, "go_backwards": False, "body": body}
        return self.emit("theano.scan", [self.names[v] for v in seqs + inits + non_seqs + [steps]],
                         attrs, (first[0], [False] + list(first[1]), [None] + list(first[2])), where)

    # -- neural-network ops ----------------------------------------------------------------------------------------
    def abstract_conv2d(self, var, where, name=_T + "nnet.conv2d"):
        """``AbstractConv2d`` (``conv2d``), or its transpose ``AbstractConv2d_gradInputs`` (same attributes)."""
        op = var.owner.op
        if getattr(op, "unshared", False):
            raise Refused(f"unshared convolution (at {where or 'an unknown line'}) is not exported")
        mode = op.border_mode
        if not isinstance(mode, str):
            if any(isinstance(m, tuple) for m in mode):
                raise Refused(f"convolution with asymmetric padding {mode} (at {where or 'an unknown line'}) is not "
                              f"exported")
            mode = [int(m) for m in mode]
        attrs = {"border_mode": mode, "subsample": [int(s) for s in op.subsample],
                 "filter_flip": bool(op.filter_flip), "filter_dilation": [int(d) for d in op.filter_dilation],
                 "num_groups": int(getattr(op, "num_groups", 1))}
        return self.emit(name, self.args(var.owner), attrs, self.typed(var), where)

    def abstract_conv2d_grad_inputs(self, var, where):
        return self.abstract_conv2d(var, where, _T + "nnet.abstract_conv.AbstractConv2d_gradInputs")

    def conv_op(self, var, where):
        """The old ``theano.tensor.nnet.conv.conv2d`` (always a true convolution, 'valid' or 'full')."""
        op = var.owner.op
        attrs = {"border_mode": str(op.out_mode), "subsample": [int(op.dx), int(op.dy)], "filter_flip": True,
                 "filter_dilation": [1, 1], "num_groups": 1}
        return self.emit(_T + "nnet.conv2d", self.args(var.owner), attrs, self.typed(var), where)

    def pool(self, var, where):
        node = var.owner
        op = node.op
        if op.ndim != 2:
            raise Refused(f"{op.ndim}-d pooling (at {where or 'an unknown line'}) is not exported")
        ws, stride, pad = (_constant(i) for i in node.inputs[1:4])
        if ws is None or stride is None or pad is None:
            raise Refused(f"pool_2d with a window, stride or padding that is not constant (at "
                          f"{where or 'an unknown line'}) is not exported")
        attrs = {"ws": [int(v) for v in ws], "stride": [int(v) for v in stride], "pad": [int(v) for v in pad],
                 "ignore_border": bool(op.ignore_border), "mode": str(op.mode)}
        return self.emit(_T + "signal.pool.pool_2d", self.args(node, 0, 1), attrs, self.typed(var), where)

    def batch_norm_inference(self, var, where):
        """Theano's inference formula ``(x - mean) * (scale / sqrt(var + epsilon)) + bias``."""
        x, scale, bias, mean, variance, epsilon = self.args(var.owner)
        dtype = self.typed(var)[0]

        def op(name, *args, typed=None):
            return self.emit(_T + name, list(args), {}, typed or self.broadcast(list(args), dtype), where)

        std = op("sqrt", op("add", variance, epsilon))
        return op("add", op("mul", op("sub", x, mean), op("true_div", scale, std)), bias, typed=self.typed(var))


_READERS = {
    "theano.tensor.elemwise.DimShuffle": Reader.dimshuffle,
    "theano.tensor.elemwise.Sum": Reader.careduce,
    "theano.tensor.elemwise.Prod": Reader.careduce,
    "theano.tensor.elemwise.Any": Reader.careduce,
    "theano.tensor.elemwise.All": Reader.careduce,
    "theano.tensor.basic.MaxAndArgmax": Reader.max_and_argmax,
    "theano.tensor.basic.Argmax": Reader.argmax,
    "theano.tensor.extra_ops.CumOp": Reader.cumsum,
    "theano.compile.ops.Shape": Reader.simple,
    "theano.compile.ops.Shape_i": Reader.shape_i,
    "theano.compile.ops.Rebroadcast": Reader.rebroadcast,
    "theano.tensor.basic.AllocDiag": Reader.alloc_diag,
    "theano.tensor.basic.ExtractDiag": Reader.extract_diag,
    "theano.tensor.basic.Reshape": Reader.reshape,
    "theano.tensor.basic.Flatten": Reader.flatten,
    "theano.tensor.subtensor.Subtensor": Reader.subtensor,
    "theano.tensor.subtensor.IncSubtensor": Reader.inc_subtensor,
    "theano.tensor.subtensor.AdvancedSubtensor1": Reader.take,
    "theano.tensor.opt.MakeVector": Reader.make_vector,
    "theano.tensor.basic.Join": Reader.join,
    "theano.tensor.basic.Split": Reader.split,
    "theano.tensor.basic.Alloc": Reader.simple,
    "theano.tensor.basic.ARange": Reader.simple,
    "theano.tensor.basic.Eye": Reader.simple,
    "theano.tensor.basic.Dot": Reader.simple,
    "theano.tensor.blas.Dot22": Reader.simple,
    "theano.tensor.blas.BatchedDot": Reader.simple,
    "theano.tensor.nnet.nnet.Softmax": Reader.simple,
    "theano.tensor.nnet.nnet.LogSoftmax": Reader.simple,
    "theano.tensor.nnet.abstract_conv.AbstractConv2d": Reader.abstract_conv2d,
    "theano.tensor.nnet.abstract_conv.AbstractConv2d_gradInputs": Reader.abstract_conv2d_grad_inputs,
    "theano.tensor.nnet.conv.ConvOp": Reader.conv_op,
    "theano.tensor.signal.pool.Pool": Reader.pool,
    "theano.tensor.nnet.bn.AbstractBatchNormInference": Reader.batch_norm_inference,
}


SCAN = "theano.scan_module.scan_op.Scan"
_READERS[SCAN] = Reader.scan


# -- helpers of the walk -------------------------------------------------------------------------------------------------------
def _scan_layout(node):
    """A Scan's outer inputs: (number of steps, sequences, the heads of the fed-back outputs' buffers,
    the nit_sot sizes, the non-sequences); refuses a buffer that is not Theano's ``expand_empty``."""
    info = node.op.info
    n_seqs, n_mit_sot, n_sit_sot, n_nit_sot = info["n_seqs"], info["n_mit_sot"], info["n_sit_sot"], info["n_nit_sot"]
    n_bufs = info["n_mit_mot"] + n_mit_sot + n_sit_sot + info["n_shared_outs"]
    outer = list(node.inputs)
    seqs = outer[1:1 + n_seqs]
    bufs = outer[1 + n_seqs + info["n_mit_mot"] + n_mit_sot:1 + n_seqs + info["n_mit_mot"] + n_mit_sot + n_sit_sot]
    sizes = outer[1 + n_seqs + n_bufs:1 + n_seqs + n_bufs + n_nit_sot]
    return outer[0], seqs, [_buffer_head(b, node) for b in bufs], sizes, outer[1 + n_seqs + n_bufs + n_nit_sot:]


def _buffer_head(buf, node):
    """``shape_padleft(initial)`` (Rebroadcast of a DimShuffle) that Theano's scan set into the empty buffer
    of a fed-back output."""
    owner = buf.owner
    head = owner.inputs[1] if owner is not None and class_path(owner.op) == "theano.tensor.subtensor.IncSubtensor" \
        and owner.op.set_instead_of_inc and class_path(owner.inputs[0].owner.op if owner.inputs[0].owner else None) \
        == "theano.tensor.basic.AllocEmpty" else None
    inner = head
    while inner is not None and inner.owner is not None and class_path(inner.owner.op) == "theano.compile.ops.Rebroadcast":
        inner = inner.owner.inputs[0]
    if inner is None or inner.owner is None or class_path(inner.owner.op) != "theano.tensor.elemwise.DimShuffle" \
            or list(inner.owner.op.new_order) != ["x"] + list(range(inner.ndim - 1)):
        raise Refused(f"the initial state of an output of {node.op} is not the buffer theano.scan makes of "
                      f"outputs_info; it is not exported")
    return head


def _buffer_init(head):
    """The initial state a buffer's head pads (the DimShuffle's input)."""
    while head.owner is not None and class_path(head.owner.op) == "theano.compile.ops.Rebroadcast":
        head = head.owner.inputs[0]
    return head.owner.inputs[0]
def _constant(var):
    """The numpy value of a Theano constant (through ScalarFromTensor / TensorFromScalar), else None."""
    import theano

    while var.owner is not None and class_path(var.owner.op) in ("theano.tensor.basic.ScalarFromTensor",
                                                                  "theano.tensor.basic.TensorFromScalar"):
        var = var.owner.inputs[0]
    if isinstance(var, theano.gof.Constant):
        return np.asarray(var.data)
    return None


def _axes(axis, ndim, keepdims):
    if axis is None:
        return {"axis": None, "keepdims": keepdims}
    return {"axis": sorted(int(a) % max(ndim, 1) for a in axis), "keepdims": keepdims}


def _product(sizes):
    return None if any(s is None for s in sizes) else int(np.prod(sizes))
