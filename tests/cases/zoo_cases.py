"""Small variants of the model-zoo networks (models/zoo): the zoo's own build code with fewer
channels / units and smaller inputs, so Theano computes every layer's reference in seconds.  The
structure (layer classes, pads, pools, ignore_border, LRN, flip_filters, batch-norm epsilon,
cropping) is the full-size network's."""
import importlib

from . import case

# name -> (zoo module, concrete input array shape, build_model kwargs)
SMALL = {
    "zoo_vgg16_small": ("vgg16", (2, 3, 32, 32), dict(channel_divisor=8, fc_units=32, num_classes=10)),
    "zoo_vgg19_small": ("vgg19", (2, 3, 32, 32), dict(channel_divisor=8, fc_units=32, num_classes=10)),
    "zoo_resnet50_small": ("resnet50", (2, 3, 64, 64), dict(channel_divisor=8, num_classes=10)),
    "zoo_googlenet_small": ("googlenet", (2, 3, 64, 64), dict(channel_divisor=8, num_classes=10)),
    "zoo_inception_v3_small": ("inception_v3", (2, 3, 75, 75), dict(channel_divisor=8, num_classes=10)),
    "zoo_caffe_reference_small": ("caffe_reference", (2, 3, 67, 67), dict(channel_divisor=4, fc_units=64,
                                                                          num_classes=10)),
    "zoo_cifar10_nin": ("cifar10_nin", (2, 3, 32, 32), dict()),  # the full-size network: it is small
    "zoo_unet_small": ("unet", (2, 1, 32, 32), dict(base_n_filters=4)),
    "zoo_c3d_small": ("c3d", (1, 3, 16, 32, 32), dict(channel_divisor=8, fc_units=32, num_classes=10)),
}
NEEDS_02 = {"zoo_caffe_reference_small": False}  # CaffeNet uses only Lasagne 0.1 layers
# Random weights through 18 batch-normalised layers give U-Net class scores of ~100, where the
# per-pixel softmax turns float32 rounding of the scores (checked on their own layer, ~1e-6
# relative) into ~1e-5 absolute on the probabilities.  Shrinking the last 1x1 kernel keeps the
# scores O(1), the regime a trained network works in; every layer is still compared.
SCALE_W = {"zoo_unet_small": ("output_segmentation", 0.05)}


def _builder(name, module, shape, kwargs):
    def build():
        zoo = importlib.import_module("models.zoo." + module)
        input_shape = (None,) + tuple(shape[1:])
        if module == "googlenet":  # the zoo's GoogLeNet takes any image size
            input_shape = (None, shape[1], None, None)
        net = zoo.build_model(input_shape=input_shape, **kwargs)
        layers = list(net.values())
        layers[0].name = "input"  # the zoo leaves its InputLayer unnamed; the case feeds it by name
        if name in SCALE_W:
            key, factor = SCALE_W[name]
            net[key].W.set_value(net[key].W.get_value() * factor)
        return layers[-1]  # the exporter's rule: the last value of the zoo's dict is the output

    return build


for _name, (_module, _shape, _kwargs) in SMALL.items():
    case({"input": _shape}, needs_02=NEEDS_02.get(_name, True), tags=("zoo",), name=_name)(
        _builder(_name, _module, _shape, _kwargs))
