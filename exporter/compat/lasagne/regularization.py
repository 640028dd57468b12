"""``lasagne.regularization``: while tracing, lazy penalties (training-only); otherwise training needs Theano."""
from ._training import install

install(globals(), "regularization", ["l1", "l2", "apply_penalty", "regularize_layer_params",
                                      "regularize_layer_params_weighted", "regularize_network_params"])
