"""``lasagne.layers.merge``: concatenation and elementwise merges (with optional cropping)."""
from .._shared import require_theano, theano_op
from .base import MergeLayer

__all__ = ["autocrop", "autocrop_array_shapes", "ConcatLayer", "concat", "ElemwiseMergeLayer", "ElemwiseSumLayer"]

_T_add = theano_op("theano.tensor.add")  # ElemwiseSumLayer's merge function


def autocrop(inputs, cropping):
    require_theano("lasagne.layers.autocrop")


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
