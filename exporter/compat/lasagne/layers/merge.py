"""``lasagne.layers.merge``: concatenation and elementwise merges (with optional cropping)."""
from .._shared import is_tracing, require_theano, theano_op
from .._symbolic import elemwise as E, reduce as R, shape as S
from .base import MergeLayer, symbolic

__all__ = ["autocrop", "autocrop_array_shapes", "ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer"]

_T_add = theano_op("theano.tensor.add")  # ElemwiseSumLayer's merge function


def autocrop(inputs, cropping):
    """Crop the inputs to the smallest size on every axis with a cropping mode (Lasagne 0.2's formula)."""
    if not is_tracing():
        require_theano("lasagne.layers.autocrop")
    if cropping is None:
        return inputs
    ndim = inputs[0].ndim
    if not all(input.ndim == ndim for input in inputs):
        raise ValueError("Not all inputs are of the same dimensionality. Got {0} inputs of dimensionalities {1}."
                         .format(len(inputs), [input.ndim for input in inputs]))
    shapes = [input.shape for input in inputs]
    min_shape = R.min(S.stack(shapes), axis=0)
    slices_by_input = [[] for _ in range(len(inputs))]
    cropping = list(cropping)
    if ndim > len(cropping):
        cropping = list(cropping) + [None] * (ndim - len(cropping))
    for dim, cr in enumerate(cropping):
        if cr is None:
            for slices in slices_by_input:
                slices.append(slice(None))
        else:
            sz = min_shape[dim]
            if cr == "lower":
                for slices in slices_by_input:
                    slices.append(slice(None, sz))
            elif cr == "upper":
                for slices in slices_by_input:
                    slices.append(slice(E.neg(sz), None))
            elif cr == "center":
                for sh, slices in zip(shapes, slices_by_input):
                    offset = E.int_div(E.sub(sh[dim], sz), 2)
                    slices.append(slice(offset, E.add(offset, sz)))
            else:
                raise ValueError("Unknown crop mode '{0}'".format(cr))
    return [input[tuple(slices)] for input, slices in zip(inputs, slices_by_input)]


def autocrop_array_shapes(input_shapes, cropping):
    """Shapes after cropping: every axis with a mode ('lower', 'center', 'upper') is cut to the
    smallest size among the inputs (unknown if any size is unknown); ``None`` leaves it alone."""
    if cropping is None:
        return input_shapes
    ndim = len(input_shapes[0])
    if not all(len(sh) == ndim for sh in input_shapes):
        raise ValueError("Not all inputs are of the same dimensionality. Got {0} inputs of dimensionalities {1}."
                         .format(len(input_shapes), [len(sh) for sh in input_shapes]))
    cropping = list(cropping)
    if ndim > len(cropping):
        cropping = cropping + [None] * (ndim - len(cropping))
    result = []
    for sizes, cr in zip(zip(*input_shapes), cropping):
        if cr is None:
            result.append(sizes)
        elif cr in {"lower", "center", "upper"}:
            smallest = None if any(x is None for x in sizes) else min(sizes)
            result.append([smallest] * len(sizes))
        else:
            raise ValueError("Unknown crop mode '{0}'".format(cr))
    return [tuple(sh) for sh in zip(*result)]


class ConcatLayer(MergeLayer):
    """Concatenate the inputs along ``axis``; other axes must match (after optional ``cropping``)."""

    def __init__(self, incomings, axis=1, cropping=None, **kwargs):
        super(ConcatLayer, self).__init__(incomings, **kwargs)
        self.axis = axis
        if cropping is not None:
            cropping = list(cropping)  # the concatenation axis is never cropped
            cropping[axis] = None
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        output_shape = [next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes)]

        def match(shape1, shape2):
            axis = self.axis if self.axis >= 0 else len(shape1) + self.axis
            return (len(shape1) == len(shape2) and
                    all(i == axis or s1 is None or s2 is None or s1 == s2
                        for i, (s1, s2) in enumerate(zip(shape1, shape2))))

        if not all(match(shape, output_shape) for shape in input_shapes):
            raise ValueError("Mismatch: input shapes must be the same except in the concatenation axis")
        sizes = [input_shape[self.axis] for input_shape in input_shapes]
        output_shape[self.axis] = None if any(s is None for s in sizes) else sum(sizes)
        return tuple(output_shape)

    @symbolic
    def get_output_for(self, inputs, **kwargs):
        inputs = autocrop(inputs, self.cropping)
        return S.concatenate(inputs, axis=self.axis)


concat = ConcatLayer


class ElemwiseMergeLayer(MergeLayer):
    """Fold the inputs with a binary ``merge_function`` (e.g. ``theano.tensor.maximum``)."""

    def __init__(self, incomings, merge_function, cropping=None, **kwargs):
        super(ElemwiseMergeLayer, self).__init__(incomings, **kwargs)
        self.merge_function = merge_function
        self.cropping = cropping

    def get_output_shape_for(self, input_shapes):
        input_shapes = autocrop_array_shapes(input_shapes, self.cropping)
        output_shape = tuple(next((s for s in sizes if s is not None), None) for sizes in zip(*input_shapes))

        def match(shape1, shape2):
            return len(shape1) == len(shape2) and all(
                s1 is None or s2 is None or s1 == s2 for s1, s2 in zip(shape1, shape2))

        if not all(match(shape, output_shape) for shape in input_shapes):
            raise ValueError("Mismatch: not all input shapes are the same")
        return output_shape

    @symbolic
    def get_output_for(self, inputs, **kwargs):
        inputs = autocrop(inputs, self.cropping)
        output = None
        for input in inputs:
            output = input if output is None else self.merge_function(output, input)
        return output


class ElemwiseSumLayer(ElemwiseMergeLayer):
    """Weighted elementwise sum ``sum(coeff_i * input_i)``; ``coeffs`` is a number or one per input."""

    def __init__(self, incomings, coeffs=1, cropping=None, **kwargs):
        super(ElemwiseSumLayer, self).__init__(incomings, _T_add, cropping=cropping, **kwargs)
        if isinstance(coeffs, list):
            if len(coeffs) != len(incomings):
                raise ValueError("Mismatch: got %d coeffs for %d incomings" % (len(coeffs), len(incomings)))
        else:
            coeffs = [coeffs] * len(incomings)
        self.coeffs = coeffs

    @symbolic
    def get_output_for(self, inputs, **kwargs):
        inputs = [E.mul(input, coeff) if coeff != 1 else input for coeff, input in zip(self.coeffs, inputs)]
        return super(ElemwiseSumLayer, self).get_output_for(inputs, **kwargs)
