"""Lasagne definitions of the Lasagne Recipes model-zoo networks, written from the published
architectures with the zoo's layer classes and options (pads, ignore_border, LRN parameters,
flip_filters, batch-norm epsilon ...).

Each module has ``build_model(input_shape=..., **kwargs)`` returning the zoo's ``dict`` of layers,
the network output last.  The defaults are the full-size published networks; keyword arguments
(``channel_divisor``, ``fc_units``, ``num_classes``, a smaller ``input_shape`` ...) give small
variants with the same structure for fast tests.  The modules import ``lasagne`` at the top like
the zoo files do: import them after choosing the Lasagne (real, or ``exporter.compat.activate()``).
"""
MODELS = ("vgg16", "vgg19", "resnet50", "googlenet", "inception_v3", "caffe_reference", "cifar10_nin", "unet", "c3d")


def channels(n, divisor):
    """A filter count of the full-size network divided for a small variant (at least 1)."""
    return max(1, int(n) // int(divisor))
