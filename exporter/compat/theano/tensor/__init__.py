"""``theano.tensor`` stand-in: variable constructors and the functions of ``theano.tensor``.

The functions keep the names real Theano's have (``theano.tensor.mean.__name__ == 'mean'``); the
elementwise ops that are objects in Theano (``tanh``, ``maximum`` ...) are plain functions named
after their scalar op here.  While tracing they build graph nodes (``lasagne._symbolic``);
otherwise they raise.  Any other public name is a stand-in (``theano._standin``).
"""
from lasagne._shared import SymbolicVariable, theano_op
from lasagne._symbolic.graph import Constant as TensorConstant, TensorType  # noqa: F401

from .._standin import install_builders, module_getattr
from . import elemwise, nnet, shared_randomstreams  # noqa: F401
from .elemwise import Elemwise  # noqa: F401

_FUNCTIONS = ("tanh mean max min sum prod var std maximum minimum add sub mul true_div int_div neg sqr sqrt "
              "exp log abs_ clip dot tensordot switch concatenate stack flatten reshape dimshuffle argmax "
              "argmin cast zeros ones zeros_like ones_like alloc arange eq neq lt le gt ge floor ceil "
              "round pow sgn inv cos sin log1p expm1 constant as_tensor_variable").split()
for _name in _FUNCTIONS:
    globals()[_name] = theano_op(f"theano.tensor.{_name}")
# Lasagne's layers default to these very functions (GlobalPoolLayer: mean, FeaturePoolLayer: max,
# ElemwiseSumLayer: add): hand out the objects the compat Lasagne uses, so that each is one object
from lasagne.layers.merge import _T_add as add  # noqa: E402
from lasagne.layers.pool import _T_max as max, _T_mean as mean  # noqa: E402
sigmoid = nnet.sigmoid
softplus = nnet.softplus

def _var_factory(ndim, dtype=None):
    def make(name=None, dtype=dtype):
        if dtype is None:
            import theano

            dtype = theano.config.floatX
        return SymbolicVariable(name, ndim=ndim, dtype=dtype)

    return make


_RANKS = {"scalar": 0, "vector": 1, "row": 1, "col": 1, "matrix": 2, "tensor3": 3, "tensor4": 4, "tensor5": 5}
for _name, _ndim in _RANKS.items():
    globals()[_name] = _var_factory(_ndim)
    for _prefix, _dtype in (("f", "float32"), ("d", "float64"), ("i", "int32"), ("l", "int64"), ("b", "int8")):
        globals()[_prefix + _name] = _var_factory(_ndim, _dtype)
globals()["row"] = lambda name=None, dtype=None: SymbolicVariable(name, broadcastable=(True, False), dtype=dtype)
globals()["col"] = lambda name=None, dtype=None: SymbolicVariable(name, broadcastable=(False, True), dtype=dtype)


TensorVariable = SymbolicVariable
Variable = SymbolicVariable
install_builders(globals(), "theano.tensor.")


__getattr__ = module_getattr(globals())
