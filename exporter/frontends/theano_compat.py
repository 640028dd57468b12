"""Make PyPI's Lasagne 0.1 importable under Theano 1.0.

Lasagne 0.1 imports ``theano.tensor.signal.downsample``, which Theano 1.0 removed; its
``max_pool_2d`` became ``theano.tensor.signal.pool.pool_2d``.  Registering a stand-in module before
``import lasagne`` is enough for Lasagne 0.1's pooling layers.
"""
import sys
import types


def install_downsample_standin():
    if "theano.tensor.signal.downsample" in sys.modules:
        return
    try:
        import theano.tensor.signal.downsample  # noqa: F401  (old Theano: nothing to do)
        return
    except ImportError:
        pass
    from theano.tensor.signal import pool

    def max_pool_2d(input, ds, ignore_border=None, st=None, padding=(0, 0), mode="max"):
        return pool.pool_2d(input, ws=ds, ignore_border=ignore_border, stride=st, pad=padding, mode=mode)

    module = types.ModuleType("theano.tensor.signal.downsample")
    module.max_pool_2d = max_pool_2d
    sys.modules["theano.tensor.signal.downsample"] = module
    import theano.tensor.signal

    theano.tensor.signal.downsample = module
