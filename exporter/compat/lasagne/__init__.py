"""A Theano-free re-implementation of Lasagne's (0.2.dev1) network-building API.

Part of lasagne2onnx (``exporter.compat``): ``exporter.compat.activate()`` makes ``import lasagne``
resolve to this package so that unmodified ``build_model()`` code builds networks without Theano.
Layers, output shapes, attributes, parameters (numpy-backed) and ``get_all_params`` order follow
Lasagne 0.2; anything that computes (``get_output``, training) raises a clear error.
"""
from . import nonlinearities
from . import init
from . import layers
from . import objectives
from . import random
from . import regularization
from . import updates
from . import utils
from ._shared import TheanoRequiredError

__version__ = "0.2.dev1"
LASAGNE2ONNX_COMPAT = True
