"""The random parameter values the reference workers give a network (shared by the legacy worker
and the product-side tests that rebuild the same weights).  Role suffix -> sampler(rng, shape);
W-like parameters keep Lasagne's own initialisation.  Random biases and BN statistics keep the
comparison away from trivial values (zero bias, unit variance)."""
RANDOM_PARAMS = {
    "b": lambda r, s: r.normal(0, 0.2, s),
    "beta": lambda r, s: r.normal(0, 0.2, s),
    "gamma": lambda r, s: r.uniform(0.5, 1.5, s),
    "mean": lambda r, s: r.normal(0, 0.2, s),
    "inv_std": lambda r, s: r.uniform(0.5, 2.0, s),
    "std": lambda r, s: r.uniform(0.5, 2.0, s),
    "scales": lambda r, s: r.uniform(0.5, 1.5, s),
    "alpha": lambda r, s: r.uniform(0.0, 0.5, s),
}
