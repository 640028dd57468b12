"""The table of op builders: Theano's public dotted name (``theano.tensor.sum``, and aliases) -> the
Python function that builds that op's node while tracing.

Each op-family module (``elemwise``, ``shape``, ``reduce`` ...) fills it with :func:`builder` when
the package imports it; everything that needs an op from another family (the variables' operators
and methods, ``graph``'s ``as_variable``) calls it through :func:`build`, so the families sit above
the graph objects and nothing below imports them.  It sits just above ``context``.
"""
from .context import _LazyUse, find_lazy, lazy

BUILDERS = {}  # public dotted name (and aliases) -> python function building the node


def builder(*names):
    """Register ``fn`` as what the Theano functions ``names`` do while tracing."""

    def deco(fn):
        for n in names:
            if n in BUILDERS:
                raise ValueError(f"builder for {n} registered twice")
            BUILDERS[n] = fn
        fn.theano_names = names
        return fn

    return deco


def build(name, *args, **kwargs):
    """The node the Theano function ``name`` builds of these arguments (its family registered it)."""
    return BUILDERS[name](*args, **kwargs)


def call_builder(qualname, args, kwargs):
    """Run the builder of ``qualname``; an argument that is a LazyValue makes the result lazy too."""
    fn = BUILDERS.get(qualname)
    if fn is None:
        return lazy(qualname)
    found = find_lazy(list(args) + list(kwargs.values()))
    if found is not None and not getattr(fn, "accepts_lazy", False):
        return found
    try:
        return fn(*args, **kwargs)
    except _LazyUse as e:
        return e.lazy
