"""``lasagne.layers``: every layer class of Lasagne 0.2 that builds a network, without Theano.

``lasagne.layers.dnn``, ``corrmm`` and ``cuda_convnet`` import without a GPU (they are not
re-exported here, as in Lasagne).
"""
from .base import *
from .helper import *
from .input import *
from .dense import *
from .noise import *
from .conv import *
from .local import *
from .pool import *
from .shape import *
from .merge import *
from .normalization import *
from .embedding import *
from .recurrent import *
from .special import *
