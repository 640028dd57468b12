"""lasagne2onnx: export trained Lasagne/Theano models to ONNX, PyTorch and Keras.

The Python API (:mod:`exporter.api`)::

    import exporter
    model, report = exporter.export(net, lasagne.layers.get_all_param_values(net), "net.onnx")
    module = exporter.to_torch(model)          # torch.nn.Module
    keras_model = exporter.to_keras(model)     # keras.Model

Importing this package imports nothing else (the capture code runs in Theano's old environment too);
the API functions load what they need when called.
"""
__version__ = "0.1.0"

_API = ("export", "check", "to_torch", "to_keras", "select_lasagne", "Exported")
__all__ = ["__version__", *_API]


def __getattr__(name):
    """``exporter.export`` etc.: :mod:`exporter.api`, imported on first use.  By name, like the CLI's
    commands: the modules below the pipeline import this package, which must not import the pipeline."""
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.api"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
