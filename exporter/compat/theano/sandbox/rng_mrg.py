"""``theano.sandbox.rng_mrg`` stand-in: ``MRG_RandomStreams`` can be made (build files make one at
import time), drawing from it needs Theano."""
from .._standin import RandomStreamsStandIn, module_getattr


class MRG_RandomStreams(RandomStreamsStandIn):
    def __init__(self, seed=12345):
        super(MRG_RandomStreams, self).__init__(seed)


__getattr__ = module_getattr(globals())
