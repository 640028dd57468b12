"""The stand-in's op builders by their ``theano.tensor`` short names (what operators and methods call)."""
from .elemwise import *  # noqa: F401,F403
from .elemwise import COMPARISONS, abs_, add, and_, cast, clip, floor_div, invert, mul, neg, or_, pow, round, sub, \
    tensor_copy, true_div, xor  # noqa: F401
from .linalg import batched_dot, dot, outer, tensordot  # noqa: F401
from .reduce import all, any, argmax, argmin, cumsum, max, mean, min, norm, prod, std, sum, var  # noqa: F401
from .shape import (alloc, arange, concatenate, dimshuffle, flatten, getitem, ones, ones_like, repeat,  # noqa: F401
                    reshape, shape, squeeze, stack, swapaxes, take, tile, transpose, zeros, zeros_like)
