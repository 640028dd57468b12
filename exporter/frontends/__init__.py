"""Front ends: ways to obtain the layer graph (live Lasagne capture, JSON manifest)."""
