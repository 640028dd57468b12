"""``theano.tensor.shared_randomstreams`` stand-in: ``RandomStreams`` can be made (build files make
one at import time), drawing from it needs Theano."""
from .._standin import RandomStreamsStandIn, module_getattr


class RandomStreams(RandomStreamsStandIn):
    def __init__(self, seed=None):
        super(RandomStreams, self).__init__(seed)


__getattr__ = module_getattr(globals())
