"""Products against Theano: dot of every rank pair up to 3 (numpy's dot: Theano's tensordot formula
beyond 2-d), tensordot with int and list axes, batched_dot (2-d to 4-d), outer, and mixed dtypes."""
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test

TEMPLATES = [(a, b) for a in (1, 2, 3) for b in (1, 2, 3)] + ["tensordot_int", "tensordot_axes", "batched_2",
                                                             "batched_3", "batched_4", "outer", "dot_int"]


def _dims(draw, n):
    return [draw(st.integers(1, 4)) for _ in range(n)]


@st.composite
def examples(draw, template):
    dtype = draw(st.sampled_from(["float32", "float32", "float64"]))
    if isinstance(template, tuple):
        ra, rb = template
        a = _dims(draw, ra)
        b = _dims(draw, rb)
        b[max(0, rb - 2)] = a[-1]
        code = draw(st.sampled_from(["T.dot(x, y)", "x.dot(y)"]))
    elif template == "dot_int":
        a, b = _dims(draw, 2), _dims(draw, 2)
        b[0] = a[1]
        return {"code": "lambda x, y: T.dot(x, y)",
                "inputs": [operand(a, "int32", None, draw(knowns(a))), operand(b, "float32")]}
    elif template == "tensordot_int":
        n = draw(st.integers(0, 2))
        a = _dims(draw, draw(st.integers(n, 3)))
        b = a[len(a) - n:] + _dims(draw, draw(st.integers(0, 2)))
        code = f"T.tensordot(x, y, {n})"
    elif template == "tensordot_axes":
        a = _dims(draw, draw(st.integers(1, 3)))
        k = draw(st.integers(1, len(a)))
        a_axes = draw(st.lists(st.integers(0, len(a) - 1), min_size=k, max_size=k, unique=True))
        rest = _dims(draw, draw(st.integers(0, 2)))
        b = list(rest)
        b_axes = []
        for ax in a_axes:
            at = draw(st.integers(0, len(b)))
            b.insert(at, a[ax])
            b_axes = [p + (p >= at) for p in b_axes] + [at]
        code = f"T.tensordot(x, y, axes=[{a_axes}, {b_axes}])"
    elif template.startswith("batched_"):
        n = int(template[-1])
        batch = draw(st.integers(1, 3))
        a = [batch] + _dims(draw, n - 1)
        b = [batch] + _dims(draw, draw(st.integers(1, n - 1)) if n > 2 else 1)
        if len(b) > 2:
            b[max(1, len(b) - 2)] = a[-1]
        else:
            b[1] = a[-1]
        code = "T.batched_dot(x, y)"
    else:
        a, b = _dims(draw, draw(st.integers(1, 2))), _dims(draw, draw(st.integers(1, 2)))
        code = "T.outer(x, y)"
    return {"code": f"lambda x, y: {code}",
            "inputs": [operand(a, dtype, None, draw(knowns(a))), operand(b, "float32", None, draw(knowns(b)))]}


SPECS = draw_family("linalg", TEMPLATES, examples)


test_matches_theano = parity_test(SPECS)
