"""VGG-19 (configuration E): 16 conv layers, 143,667,240 parameters."""
from ._vgg import build_vgg


def build_model(input_shape=(None, 3, 224, 224), **kwargs):
    return build_vgg((2, 2, 4, 4, 4), input_shape, **kwargs)
