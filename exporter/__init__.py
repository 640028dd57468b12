"""lasagne2onnx: export trained Lasagne/Theano models to ONNX, PyTorch and Keras."""
__version__ = "0.1.0"
