"""The full-size model-zoo networks (models/zoo) as Theano parity cases, kept apart from tests/cases.

tests/cases holds networks whose every layer the session fixture computes in Theano for each test
run; the full-size networks are far too heavy for that (VGG's weights alone are 550 MB).  They live
here, are computed only when tests/test_zoo_full_theano.py (marker ``slow``) asks for them, by
``tests/zoo_full_worker.py`` in the legacy environment, and cached in ``.cache/reference/<hash>``
under a hash that also covers models/zoo and these two files (``HASHED_EXTRA``).

To keep that cache small (~60 MB for all nine) the worker stores neither the weights (1.9 GB in all,
VGG's 550 MB each) nor every layer (720 MB at batch 1): it stores the captured layer graph, Theano's
output of the checkpoint layers listed in ``FULL`` and a fingerprint of the weights.  The test regenerates the same weights with the Theano-free
Lasagne, whose initialisers draw exactly what the real ones draw, using the reference worker's seeding
and random-parameter scheme (``build_with_weights``), and refuses to compare unless the fingerprint
matches.

This module imports no numpy-2-only code and no Theano: it runs in both environments.
"""
import hashlib
import importlib
import zlib

import numpy as np

from tests.random_params import RANDOM_PARAMS  # the reference worker's (the fingerprint checks it)

# the reference hash covers tests/reference.py's HASHED plus these
HASHED_EXTRA = ["models/zoo", "tests/zoo_full.py", "tests/zoo_full_worker.py"]
WORKER = "tests/zoo_full_worker.py"
PREFIX = "zoo_full_"


_VGG_CHECKPOINTS = ["pool1", "pool2", "pool3", "pool4", "pool5", "fc6", "fc7", "fc8", "prob"]


# name -> (zoo module, published input array shape at batch 1, zoo dict keys whose Theano output is
#          stored and compared: block / stage ends, the class scores and the network output)
FULL = {
    "vgg16": ("vgg16", (1, 3, 224, 224), _VGG_CHECKPOINTS),
    "vgg19": ("vgg19", (1, 3, 224, 224), _VGG_CHECKPOINTS),
    "resnet50": ("resnet50", (1, 3, 224, 224),
                 ["conv1_relu", "pool1", "res2c_relu", "res3d_relu", "res4f_relu", "res5c_relu", "pool5", "fc1000",
                  "prob"]),
    "googlenet": ("googlenet", (1, 3, 224, 224),
                  ["pool1/norm1", "pool2/3x3_s2", "inception_3b/output", "inception_4c/output",
                   "inception_4e/output", "inception_5b/output", "pool5/7x7_s1", "loss3/classifier", "prob"]),
    "inception_v3": ("inception_v3", (1, 3, 299, 299),
                     ["pool", "pool_1", "mixed_2/join", "mixed_3/join", "mixed_7/join", "mixed_8/join",
                      "mixed_10/join", "pool3", "softmax"]),
    "caffe_reference": ("caffe_reference", (1, 3, 227, 227),
                        ["pool1", "norm1", "conv2", "norm2", "conv3", "conv4", "pool5", "fc6", "fc7", "fc8"]),
    "cifar10_nin": ("cifar10_nin", (1, 3, 32, 32), None),  # small enough to store every layer
    "unet": ("unet", (1, 1, 128, 128),
             ["contr_1_2", "pool2", "pool4", "encode_2", "expand_1_2", "expand_3_2", "expand_4_2",
              "output_segmentation", "output_flattened"]),
    "c3d": ("c3d", (1, 3, 16, 112, 112),
            ["pool2", "pool3", "pool4", "conv5b", "pool5", "fc6-1", "fc7-1", "fc8-1", "prob"]),
}
# U-Net: shrink the last 1x1 kernel, for the small variant's reason (tests/cases/zoo_cases.py SCALE_W):
# random weights through 18 batch-normalised layers give large class scores, and the per-pixel softmax
# turns their float32 rounding (~3e-6 relative, checked on their own layer) into absolute errors on
# the probabilities.  The full-size features are larger (~800 against ~120 for the small variant):
# with the small variant's factor 0.05 the scores reach 24 and the probabilities differ by 1.06e-5;
# 0.0125 keeps the scores at ~6 like the small variant's, the O(1) regime of a trained network.
SCALE_W = {"unet": ("output_segmentation", 0.0125)}



def case_name(name):
    """The reference's name in the cache (distinct from tests/cases names)."""
    return PREFIX + name


def zoo_name(case):
    if not case.startswith(PREFIX) or case[len(PREFIX):] not in FULL:
        raise KeyError(f"not a full-size zoo case: {case}")
    return case[len(PREFIX):]


def seeds(name):
    """The reference worker's seeding, keyed by the case name."""
    seed = zlib.crc32(case_name(name).encode()) % 2 ** 31
    return seed, seed + 1


def build(name, lasagne):
    """Build the full-size network with ``lasagne`` (real or Theano-free, already seeded).

    Returns ``(output layer, zoo dict)``; the InputLayer is named ``input`` as in tests/cases."""
    module, shape, _ = FULL[name]
    zoo = importlib.import_module("models.zoo." + module)
    input_shape = (None,) + tuple(shape[1:])
    if module == "googlenet":  # the zoo's GoogLeNet takes any image size
        input_shape = (None, shape[1], None, None)
    net = zoo.build_model(input_shape=input_shape)
    layers = list(net.values())
    layers[0].name = "input"
    return layers[-1], net


def randomise(net_out, lasagne, rng, random_params, name, net):
    """The reference worker's ``randomise_params`` (with its table), then SCALE_W."""
    for p in lasagne.layers.get_all_params(net_out):
        role = (p.name or "").rsplit(".", 1)[-1]
        if role in random_params:
            shape = p.get_value().shape
            p.set_value(np.asarray(random_params[role](rng, shape), dtype=np.float32))
    if name in SCALE_W:
        key, factor = SCALE_W[name]
        net[key].W.set_value(net[key].W.get_value() * np.float32(factor))


def build_with_weights(name, lasagne, random_params=RANDOM_PARAMS):
    """Seed, build and randomise exactly as the reference worker does.

    Returns ``(output layer, zoo dict, input rng)``: the input rng continues the parameter rng, from
    which the worker draws the input array."""
    seed, param_seed = seeds(name)
    np.random.seed(seed)
    lasagne.random.set_rng(np.random.RandomState(seed))
    rng = np.random.RandomState(param_seed)
    out, net = build(name, lasagne)
    randomise(out, lasagne, rng, random_params, name, net)
    return out, net, rng


def fingerprint(values):
    """sha256 over the parameter arrays (shape, dtype, bytes) in get_all_params order."""
    h = hashlib.sha256()
    for v in values:
        v = np.ascontiguousarray(v)
        h.update(repr((v.shape, str(v.dtype))).encode())
        h.update(v.tobytes())
    return h.hexdigest()


def checkpoint_positions(name, net_out, net, lasagne):
    """Positions (in get_all_layers order) of the layers whose outputs are stored; all if None."""
    keys = FULL[name][2]
    layers = lasagne.layers.get_all_layers(net_out)
    if keys is None:
        return list(range(len(layers)))
    index = {id(l): i for i, l in enumerate(layers)}
    return sorted(index[id(net[k])] for k in keys)
