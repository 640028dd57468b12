"""Users' own Theano ops for tests/cases/user_op_cases.py, defined at module level as in BinaryNet's
binary_net.py (Theano pickles an op it compiles C code for: a class local to a function cannot be)."""
import numpy as np
import theano
import theano.tensor as T


class Round3(theano.scalar.UnaryScalarOp):
    """BinaryNet's round3: C's round() when Theano compiles it, numpy.round in Python."""

    def c_code(self, node, name, inputs, outputs, sub):
        (x,), (z,) = inputs, outputs
        return "%(z)s = round(%(x)s);" % locals()

    def impl(self, x):
        return np.round(x)

    def grad(self, inputs, gout):
        (gz,) = gout
        return (gz,)


round3_scalar = Round3(theano.scalar.same_out_nocomplex, name="round3")
round3 = T.Elemwise(round3_scalar)


class SignBinarize(theano.Op):
    """An op with make_node + perform (no C code): +1 where x >= 0, else -1, in x's dtype."""

    __props__ = ()

    def make_node(self, x):
        x = T.as_tensor_variable(x)
        return theano.Apply(self, [x], [x.type()])

    def perform(self, node, inputs, output_storage):
        (x,) = inputs
        output_storage[0][0] = np.where(x >= 0, 1, -1).astype(x.dtype)

    def infer_shape(self, node, shapes):
        return shapes


class ShiftedClip(theano.scalar.BinaryScalarOp):
    """A binary scalar op with impl only: clip(x - y, -1, 1) * 0.75 (in float64, as frompyfunc)."""

    def impl(self, x, y):
        return np.clip(x - y, -1.0, 1.0) * 0.75


shifted_clip = T.Elemwise(ShiftedClip(theano.scalar.upgrade_to_float, name="shifted_clip"))


class SignIf(theano.scalar.UnaryScalarOp):
    """Python control flow on the value: cannot be traced."""

    def impl(self, x):
        return 1.0 if x > 0 else -1.0


sign_if = T.Elemwise(SignIf(theano.scalar.same_out_nocomplex, name="sign_if"))
