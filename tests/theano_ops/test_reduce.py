"""Reductions against Theano: sum/prod/mean/max/min/argmax/argmin/var/std/norm/any/all/cumsum over
axes None, int, negative and tuples, with and without keepdims, on float and integer inputs."""
from hypothesis import strategies as st

from tests.theano_ops.harness import draw_family, knowns, operand, parity_test, shapes

# (code with {axis} and {keep}, dtypes, several axes allowed)
TEMPLATES = [
    ("T.sum(x, axis={axis}{keep})", "fi", True), ("x.sum(axis={axis}{keep})", "b", True),
    ("T.prod(x * 0.5 + 1, axis={axis}{keep})", "f", True), ("T.prod(x, axis={axis}{keep})", "i", True),
    ("T.mean(x, axis={axis}{keep})", "fi", True), ("x.mean(axis={axis}{keep})", "f", True),
    ("T.max(x, axis={axis}{keep})", "fi", True), ("x.min(axis={axis}{keep})", "fi", True),
    ("T.argmax(x, axis={axis}{keep})", "fi", False), ("x.argmin(axis={axis}{keep})", "f", False),
    ("T.var(x, axis={axis}{keep})", "fi", True), ("x.std(axis={axis}{keep})", "f", True),
    ("T.std(x, axis={axis}, ddof=1{keep})", "f", True), ("x.norm(2, axis={axis}{keep})", "f", True),
    ("x.norm(1, axis={axis}{keep})", "f", True), ("x.norm(3, axis={axis}{keep})", "f", True),
    ("T.any(x > 0.5, axis={axis}{keep})", "f", True), ("T.all(x > -1, axis={axis}{keep})", "f", True),
    ("x - T.max(x, axis={axis}, keepdims=True)", "f", True),
    ("T.sqrt(T.sum(T.sqr(x), axis={axis}, keepdims=True))", "f", True),
]
CUMSUM = ["T.extra_ops.cumsum(x, axis={axis1})", "T.cumsum(x)", "x.cumsum(axis={axis1})"]


@st.composite
def examples(draw, template):
    code, kinds, several = template if isinstance(template, tuple) else (template, "fi", False)
    shape = draw(shapes(1, 4))
    rank = len(shape)
    dtype = draw(st.sampled_from([d for d in ("float32", "float32", "int32", "int64") if d[0] in kinds.replace("b", "f")]))
    if "b" in kinds:
        dtype = "float32"
    choice = draw(st.sampled_from(["none", "int", "negative", "tuple"] if several else ["none", "int", "negative"]))
    if "{axis}" in code and "argm" in code and rank > 1 and choice == "none":
        choice = "int"
    if choice == "none":
        axis = "None"
    elif choice == "int":
        axis = str(draw(st.integers(0, rank - 1)))
    elif choice == "negative":
        axis = str(draw(st.integers(-rank, -1)))
    else:
        axes = draw(st.lists(st.integers(0, rank - 1), min_size=1, max_size=rank, unique=True))
        axis = repr(tuple(axes))
    keep = draw(st.sampled_from(["", ", keepdims=True", ", keepdims=False"]))
    if "argm" in code and axis == "None":
        keep = ""
    code = code.format(axis=axis, keep=keep, axis1=draw(st.integers(-rank, rank - 1)))
    return {"code": f"lambda x: {code}", "inputs": [operand(shape, dtype, None, draw(knowns(shape)))]}


SPECS = draw_family("reduce", TEMPLATES + CUMSUM, examples)


test_matches_theano = parity_test(SPECS)
