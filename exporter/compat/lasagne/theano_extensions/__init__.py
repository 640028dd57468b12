"""``lasagne.theano_extensions``: the convolution and padding helpers, as stand-ins that need Theano."""
