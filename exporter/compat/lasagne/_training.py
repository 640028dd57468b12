"""Shared helper for the training modules (objectives, updates, regularization)."""
from ._shared import TheanoRequiredError


def make_stub(module, name):
    qual = f"lasagne.{module}.{name}"

    def stub(*args, **kwargs):
        raise TheanoRequiredError(
            f"{qual}: training needs Theano. lasagne2onnx's Theano-free Lasagne API builds networks for "
            f"export only; train with real Lasagne on Theano (or train the exported model elsewhere).")

    stub.__name__ = name
    stub.__qualname__ = name
    stub.__module__ = f"lasagne.{module}"
    stub.__doc__ = f"Stand-in for {qual}; training needs Theano, so calling it raises."
    return stub


def install(namespace, module, names):
    for name in names:
        namespace[name] = make_stub(module, name)
    namespace["__all__"] = list(names)
