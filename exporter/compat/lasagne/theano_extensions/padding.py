"""``lasagne.theano_extensions.padding``: ``pad`` (Lasagne's formula while tracing; needs Theano otherwise)."""
from .._shared import is_tracing, require_theano
from .._symbolic import elemwise as E, shape as S

__all__ = ["pad"]


def pad(x, width, val=0, batch_ndim=1):
    """Pad every axis from ``batch_ndim`` on with ``val``: zeros (or ones times ``val``) with ``x`` set inside."""
    if not is_tracing():
        require_theano("lasagne.theano_extensions.padding.pad")
    input_shape = x.shape
    input_ndim = x.ndim
    output_shape = list(input_shape)
    indices = [slice(None) for _ in output_shape]
    widths = [width] * (input_ndim - batch_ndim) if isinstance(width, int) else width
    for k, w in enumerate(widths):
        try:
            l, r = w
        except TypeError:
            l = r = w
        output_shape[k + batch_ndim] = E.add(output_shape[k + batch_ndim], l + r)
        indices[k + batch_ndim] = slice(l, E.add(l, input_shape[k + batch_ndim]))
    if val:
        out = E.mul(S.ones(output_shape), val)
    else:
        out = S.zeros(output_shape)
    return S.set_subtensor(out[tuple(indices)], x)
