"""``lasagne.regularization``: present so that imports work; training needs Theano, so calling raises."""
from ._training import install

install(globals(), "regularization", ["l1", "l2", "apply_penalty", "regularize_layer_params",
                                      "regularize_layer_params_weighted", "regularize_network_params"])
