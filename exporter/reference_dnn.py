"""``lasagne.layers.dnn`` for the reference run on a machine without a GPU.

Lasagne's cuDNN module refuses to import where Theano computes on the CPU ("requires GPU support"),
so build code that uses it without a fallback (every Lasagne/Recipes model-zoo file) cannot run in
``check --reference-python`` there.  This module lets it: when the real import fails *and* Theano
has no GPU, the installed Lasagne's own ``dnn.py`` is executed again, with its import-time GPU test
answered "yes" and cuDNN's functions (``dnn_conv``, ``dnn_conv3d``, ``dnn_pool``,
``dnn_batch_normalization_train``) computed by the Theano CPU ops that Theano itself swaps for them
on a GPU (``theano/gpuarray/dnn.py``: ``AbstractConv*`` -> ``dnn_conv*`` with ``conv_mode='conv'``
for ``filter_flip``, ``Pool(ignore_border=True)`` -> ``dnn_pool``, ``batch_normalization_train``
-> its cuDNN twin).  Every layer class, default, shape rule and ``get_output_for`` is therefore
Lasagne's own, for whichever Lasagne version is installed; only cuDNN's kernels are replaced.  What
has no exact CPU twin (reduced-precision convolution) raises ``NotImplementedError``.

Runs in the old environment (Theano, Python 3.7+); imports nothing else of this package.
"""
import builtins
import contextlib
import importlib.abc
import importlib.machinery
import sys
import types

MODULE = "lasagne.layers.dnn"
MARK = "__lasagne2onnx_cpu_standin__"  # set on the module when it is the stand-in: why the real one failed


def theano_has_gpu():
    """Whether Theano computes on a GPU here (then a failing cuDNN import is a real error)."""
    import theano

    if str(theano.config.device).startswith(("gpu", "cuda", "opencl")):
        return True
    for name, flag in (("theano.gpuarray", "pygpu_activated"), ("theano.sandbox.cuda", "cuda_enabled")):
        module = sys.modules.get(name)
        if module is not None and getattr(module, flag, False):
            return True
    return False


# -- cuDNN's functions on Theano's CPU ops (signatures of theano.gpuarray.dnn) ------------------------
_EXACT_PRECISIONS = (None, "as_input_f32", "as_input", "float32")


def _flip(conv_mode):
    if conv_mode not in ("conv", "cross"):
        raise ValueError("conv_mode must be 'conv' or 'cross', got %r" % (conv_mode,))
    return conv_mode == "conv"


def _precision(precision, what):
    if precision not in _EXACT_PRECISIONS:
        raise NotImplementedError("%s with precision=%r has no CPU stand-in for cuDNN (the reference run computes "
                                  "in float32 on the CPU)" % (what, precision))


def dnn_conv(img, kerns, border_mode="valid", subsample=(1, 1), dilation=(1, 1), conv_mode="conv",
             direction_hint=None, workmem=None, algo=None, precision=None, num_groups=1):
    """cuDNN's 2-D convolution: ``conv_mode='cross'`` is ``conv2d(filter_flip=False)``."""
    from theano.tensor.nnet import conv2d

    _precision(precision, "dnn_conv")
    return conv2d(img, kerns, border_mode=border_mode, subsample=tuple(subsample), filter_flip=_flip(conv_mode),
                  filter_dilation=tuple(dilation), num_groups=num_groups)


def dnn_conv3d(img, kerns, border_mode="valid", subsample=(1, 1, 1), dilation=(1, 1, 1), conv_mode="conv",
               direction_hint=None, algo=None, precision=None, num_groups=1):
    """cuDNN's 3-D convolution, as ``conv3d``."""
    from theano.tensor.nnet import conv3d

    _precision(precision, "dnn_conv3d")
    return conv3d(img, kerns, border_mode=border_mode, subsample=tuple(subsample), filter_flip=_flip(conv_mode),
                  filter_dilation=tuple(dilation), num_groups=num_groups)


def dnn_pool(img, ws, stride=None, mode="max", pad=None):
    """cuDNN pooling (which never keeps partial windows) as ``pool_2d`` / ``pool_3d`` with
    ``ignore_border=True``; stride defaults to 1 and pad to 0, as in cuDNN's."""
    from theano.tensor.signal.pool import pool_2d, pool_3d

    n = len(ws)
    if n not in (2, 3):
        raise ValueError("dnn_pool pools 2 or 3 dimensions, got a window of %d" % n)
    stride = (1,) * n if stride is None else tuple(stride)
    pad = (0,) * n if pad is None else tuple(pad)
    if mode == "max_deterministic":  # the same maxima, computed deterministically
        mode = "max"
    return (pool_2d if n == 2 else pool_3d)(img, ws=tuple(ws), ignore_border=True, stride=stride, pad=pad, mode=mode)


def dnn_batch_normalization_train(inputs, gamma, beta, mode="per-activation", epsilon=1e-4,
                                  running_average_factor=0.1, running_mean=None, running_var=None):
    """cuDNN's batch normalisation on mini-batch statistics, as Theano's ``batch_normalization_train``."""
    from theano.tensor.nnet.bn import batch_normalization_train

    if epsilon < 1e-5:  # as cuDNN's
        raise ValueError("epsilon must be at least 1e-5, got %f" % epsilon)
    return batch_normalization_train(inputs, gamma, beta, axes=mode, epsilon=epsilon,
                                     running_average_factor=running_average_factor, running_mean=running_mean,
                                     running_var=running_var)


def _available(*args, **kwargs):
    return True


_available.msg = None  # Lasagne prints dnn_available.msg when it is False


def _cpu_cudnn():
    """What ``dnn.py`` imports as Theano's GPU backend: a GPU in use, cuDNN present, the CPU functions."""
    dnn = types.ModuleType("theano.gpuarray.dnn")
    for fn in (dnn_conv, dnn_conv3d, dnn_pool, dnn_batch_normalization_train):
        setattr(dnn, fn.__name__, fn)
    dnn.dnn_available = dnn.dnn_present = _available
    backend = types.ModuleType("theano.gpuarray")
    backend.dnn, backend.pygpu_activated, backend.cuda_enabled = dnn, True, True
    return backend


class _GpuConfig(object):
    """``theano.config`` with a GPU device (Lasagne 0.1 tests ``config.device.startswith("gpu")``)."""
    device = "gpu"

    def __getattr__(self, name):
        import theano

        return getattr(theano.config, name)


def _gpu_theano(backend):
    """``theano`` as ``dnn.py``'s own imports see it while it loads."""
    import theano

    class GpuTheano(types.ModuleType):
        def __getattr__(self, name):
            return getattr(theano, name)

    proxy = GpuTheano("theano")
    proxy.config, proxy.gpuarray = _GpuConfig(), backend
    proxy.sandbox = types.SimpleNamespace(cuda=backend, gpuarray=backend)
    return proxy


def _importer(backend, proxy, loading):
    """``__import__`` for ``dnn.py`` while it loads: Theano's GPU modules are the CPU backend."""
    real = builtins.__import__

    def gpu_import(name, globals=None, locals=None, fromlist=(), level=0):
        if not loading or level or not (name == "theano" or name.startswith("theano.")):
            return real(name, globals, locals, fromlist, level)
        if not fromlist:  # `import theano...` binds the top package
            return proxy
        if name == "theano":
            return proxy
        if name == "theano.sandbox":
            return proxy.sandbox
        if name in ("theano.gpuarray", "theano.sandbox.gpuarray", "theano.sandbox.cuda"):
            return backend
        if name in ("theano.gpuarray.dnn", "theano.sandbox.gpuarray.dnn", "theano.sandbox.cuda.dnn"):
            return backend.dnn
        return real(name, globals, locals, fromlist, level)

    return gpu_import


class _StandinLoader(importlib.abc.Loader):
    def __init__(self, real, used):
        self.real, self.used = real, used

    def create_module(self, spec):
        return self.real.create_module(spec)

    def exec_module(self, module):
        try:
            self.real.exec_module(module)
            return
        except ImportError as e:
            if theano_has_gpu():
                raise
            reason = " ".join(str(e).split())[:200] or type(e).__name__
        import theano

        for key in [k for k in module.__dict__ if not (k.startswith("__") and k.endswith("__"))]:
            del module.__dict__[key]  # what the failed import left
        backend = _cpu_cudnn()
        loading = [True]
        module.__dict__["__builtins__"] = dict(builtins.__dict__,
                                               __import__=_importer(backend, _gpu_theano(backend), loading))
        try:
            exec(self.real.get_code(module.__name__), module.__dict__)
        finally:
            loading.clear()  # functions keep these builtins: from now on imports are the real ones
        module.theano = theano
        setattr(module, MARK, reason)
        self.used[module.__name__] = reason


class _StandinFinder(importlib.abc.MetaPathFinder):
    def __init__(self, used):
        self.used = used

    def find_spec(self, fullname, path=None, target=None):
        if fullname != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not hasattr(spec.loader, "get_code"):
            return spec
        spec.loader = _StandinLoader(spec.loader, self.used)
        return spec


@contextlib.contextmanager
def cpu_standin(enabled=True):
    """While active (and ``enabled``): ``import lasagne.layers.dnn`` that fails for lack of a GPU gives
    the stand-in.  Yields ``{module: why the real import failed}`` for the stand-ins given."""
    used = {}
    if not enabled:
        yield used
        return
    finder = _StandinFinder(used)
    sys.meta_path.insert(0, finder)
    try:
        yield used
    finally:
        sys.meta_path.remove(finder)
