"""``lasagne.objectives``: while tracing, lazy losses (training-only); otherwise training needs Theano."""
from ._training import install

install(globals(), "objectives", [
    "binary_crossentropy", "categorical_crossentropy", "squared_error", "binary_hinge_loss",
    "multiclass_hinge_loss", "huber_loss", "aggregate", "binary_accuracy", "categorical_accuracy"])
