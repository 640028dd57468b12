"""Make PyPI's Lasagne 0.1 work under Theano 1.0 on a current Python.

Lasagne 0.1 imports ``theano.tensor.signal.downsample``, which Theano 1.0 removed; its
``max_pool_2d`` became ``theano.tensor.signal.pool.pool_2d``.  Registering a stand-in module before
``import lasagne`` is enough for Lasagne 0.1's pooling layers.

Theano 1.0's compiled scan loop (``scan_perform``, used by the recurrent layers) does not build on
Python 3.11+ (it includes ``longintrepr.h``, which moved); Theano then falls back to its Python loop,
which runs the same compiled step function, when importing the compiled loop fails.
"""
import sys
import types


def install_downsample_standin():
    _python_scan_loop_on_new_pythons()
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


def _python_scan_loop_on_new_pythons():
    if sys.version_info >= (3, 11):
        sys.modules.setdefault("theano.scan_module.scan_perform_ext", None)  # import -> ImportError -> Python loop
