"""ONNX -> Keras 3 functional model (runs on the torch backend; no TensorFlow needed).

One small converter per ONNX op family, registered with ``@op(...)`` and the attributes it
understands.  Layers are Keras built-ins (Conv2D, BatchNormalization, ReLU, Dense, pooling...) named
after the Lasagne layers; ``exporter.importers.keras_layers`` supplies the few layers Keras lacks.

Layout: ``builder`` (the :class:`Builder` state and layouts, the ``@op`` registry, shared helpers), one
module per op family (``conv``, ``dense``, ``elementwise``, ``normalization``, ``pooling``, ``shapes``)
and ``driver`` (:func:`build`).  Importing this package imports every module in it, so the registry is
complete.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .driver import build, from_keras_layout, to_keras_layout  # noqa: E402

__all__ = ["build", "from_keras_layout", "to_keras_layout"]
