"""``lasagne.updates``: present so that imports work; training needs Theano, so calling raises."""
from ._training import install

install(globals(), "updates", [
    "sgd", "apply_momentum", "momentum", "apply_nesterov_momentum", "nesterov_momentum", "adagrad",
    "rmsprop", "adadelta", "adam", "adamax", "amsgrad", "norm_constraint", "total_norm_constraint",
    "get_or_compute_grads"])
