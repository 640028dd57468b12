"""``lasagne.updates``: while tracing, update dictionaries of lazy values; otherwise training needs Theano."""
from ._training import install, lazy_grads, lazy_like_first, lazy_updates

_UPDATES = ["sgd", "apply_momentum", "momentum", "apply_nesterov_momentum", "nesterov_momentum", "adagrad",
            "rmsprop", "adadelta", "adam", "adamax", "amsgrad"]
install(globals(), "updates", _UPDATES + ["norm_constraint", "total_norm_constraint", "get_or_compute_grads"],
        traced={**{n: lazy_updates for n in _UPDATES}, "norm_constraint": lazy_like_first,
                "total_norm_constraint": lazy_like_first, "get_or_compute_grads": lazy_grads})
