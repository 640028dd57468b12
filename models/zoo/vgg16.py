"""VGG-16 (configuration D): 13 conv layers, 138,357,544 parameters."""
from ._vgg import build_vgg


def build_model(input_shape=(None, 3, 224, 224), **kwargs):
    return build_vgg((2, 2, 3, 3, 3), input_shape, **kwargs)
