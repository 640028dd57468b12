"""ONNX -> readable PyTorch source (an ``nn.Module``) plus its state dict.

Every ONNX op family has one small converter registered with ``@op(...)``, naming the attributes it
understands (any other attribute is an error naming the node).  A converter adds standard modules
(``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.ReLU``, ``nn.Linear``, pooling...) with their weights, and
lines of ``forward``.  Module attribute names follow the Lasagne layer names: ``conv1`` holds the
convolution of layer ``conv1``, ``conv1_relu`` its split-off nonlinearity.

Tensors flow through local variables.  Shapes computed at run time (``Shape`` -> ``Gather`` ->
``Concat`` -> ``Reshape``, as tf2onnx writes a flatten) are tracked as Python lists of ints, so the
generated code stays plain Python (``x.reshape(x.shape[0], -1)``).

Layout: ``generator`` (the :class:`Gen` state, the ``@op`` registry, shared helpers), one module per op
family (``conv``, ``dense``, ``elementwise``, ``normalization``, ``pooling``, ``shapes``) and ``driver``.
Importing this package imports every module in it, so the registry is complete.

Use :func:`generate` for ``(source, state_dict)`` and :func:`load_generated` to import the result.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

from .driver import generate, load_generated  # noqa: E402

__all__ = ["generate", "load_generated"]
