"""``theano.scalar`` stand-in: the base classes of users' scalar ops (``ScalarOp``,
``UnaryScalarOp``, ``BinaryScalarOp``), the output-type rules they pass (``same_out_nocomplex``,
``upgrade_to_float`` ...) and the scalar types (``float32`` ...); see ``lasagne._symbolic.userops``.
Any other public name is a stand-in (``theano._standin``)."""
from lasagne._symbolic.userops import (BinaryScalarOp, ScalarOp, ScalarType as Scalar,  # noqa: F401
                                       UnaryScalarOp, float_out, int_out, same_out, same_out_float_only,
                                       same_out_nobool, same_out_nocomplex, upcast_out, upcast_out_no_complex,
                                       upcast_out_nobool, upgrade_to_float, upgrade_to_float_no_complex)

from .._standin import module_getattr

for _dtype in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
               "float32", "float64"):
    globals()[_dtype] = Scalar(_dtype)

from . import basic  # noqa: E402,F401  (theano.scalar.basic.UnaryScalarOp without an import of its own; before
__getattr__ = module_getattr(globals())  # this, which would make ``from . import basic`` find a stand-in)
