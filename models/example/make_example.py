"""Regenerate models/example/{model.npz,reference.npz} with the REAL Lasagne on Theano.

    THEANO_FLAGS=floatX=float32,blas.ldflags=-lopenblas .venv-legacy/bin/python models/example/make_example.py

model.npz is what a Lasagne user has (np.savez(path, *get_all_param_values(net))) plus the embedded
architecture manifest; reference.npz holds an input batch and Theano's output for it, so the
example's export can be checked against the original framework without Theano installed.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)

from exporter.frontends.theano_compat import install_downsample_standin  # noqa: E402

install_downsample_standin()
import numpy as np  # noqa: E402
import theano  # noqa: E402

import lasagne  # noqa: E402
from tests.legacy import lasagne02_backport  # noqa: E402  (batch_norm is Lasagne 0.2)

lasagne02_backport.install()
sys.path.insert(0, HERE)
from build import build_model  # noqa: E402

from exporter.frontends.lasagne_live import capture  # noqa: E402
from exporter.weights import embed_manifest  # noqa: E402
from tests.legacy.reference_worker import randomise_params  # noqa: E402

np.random.seed(0)
lasagne.random.set_rng(np.random.RandomState(0))
net = build_model()
randomise_params(net["prob"], np.random.RandomState(1))
graph = capture(net["prob"], source=f"models/example/build.py:build_model (lasagne {lasagne.__version__})")
x = np.random.RandomState(2).uniform(0, 1, (4, 1, 28, 28)).astype("float32")
y = theano.function([], lasagne.layers.get_output(net["prob"], theano.tensor.constant(x), deterministic=True))()
np.savez(os.path.join(HERE, "model.npz"), *lasagne.layers.get_all_param_values(net["prob"]))
embed_manifest(os.path.join(HERE, "model.npz"), graph, os.path.join(HERE, "model.npz"))  # in the zip comment
np.savez(os.path.join(HERE, "reference.npz"), input=x, output=y)
print("wrote model.npz and reference.npz; output shape", y.shape)
