"""Strings from input files never reach generated source unescaped (to-torch's model.py).

A hostile ONNX file name, node/value/initializer names, metadata and layer names are fed to every
field the generator writes; each must neither run code (during conversion or when the user imports
model.py) nor break the source.  Non-finite constants and attributes are written as numbers that read
back the same; a traced layer's class gets a safe name and an escaped docstring.  ``check_generated``
refuses source of any other shape before anything executes it.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from exporter.importers import codegen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HOSTILE = [
    'a""";__import__("os").system("touch PWNED");"""b',
    "a'''\\N\\x\\u;__import__('os').system('touch PWNED')#",
    "back\\slash\\N{BULLET}\\x4",
    "line\nbreak\r\x0bvt\x00nul",
    "\udcff surrogate \u2028 sep é",
    '"""',
    "__import__('os').system('touch PWNED')",
]


def _hostile_model(name):
    """Conv -> LeakyRelu -> Clip(-inf, inf), every name derived from ``name`` (ONNX names are UTF-8)."""
    name = name.encode("utf-8", "replace").decode("utf-8")
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((2, 3, 3, 3)).astype(np.float32), name + ".W")
    lo = numpy_helper.from_array(np.array(-np.inf, np.float32), name + ".lo")
    hi = numpy_helper.from_array(np.array(np.inf, np.float32), name + ".hi")
    nodes = [
        helper.make_node("Conv", ["x" + name, name + ".W"], [name + "/conv"], name=name + "/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", [name + "/conv"], [name + "/act"], name=name + "/LeakyRelu", alpha=0.1),
        helper.make_node("Clip", [name + "/act", name + ".lo", name + ".hi"], ["y" + name], name=name + "/Clip"),
    ]
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x" + name, TensorProto.FLOAT, [1, 3, 5, 5])],
                              [helper.make_tensor_value_info("y" + name, TensorProto.FLOAT, [1, 2, 5, 5])], [w, lo, hi],
                              doc_string=name)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name=name, doc_string=name)
    model.ir_version = 8
    helper.set_model_props(model, {"lasagne2onnx.layers": '{"%s": "%s"}' % (name.encode("unicode_escape").decode()
                                                                             .replace('"', '\\"'), "y"),
                                   name: name})
    return model


def _file_name(name):
    """A name the file system accepts: no '/' or NUL (a lone surrogate becomes a non-UTF-8 byte)."""
    return name.replace("/", "_").replace("\x00", "_")


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_in_every_field_run_nothing(name, tmp_path):
    model = _hostile_model(name)
    path = tmp_path / (_file_name(name) + ".onnx")
    onnx.save(model, str(path))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "exporter", "to-torch", str(path), "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()
    source = (out / "model.py").read_text(encoding="utf-8")
    tree = codegen.check_generated(source)
    import ast

    assert path.name in ast.get_docstring(tree)  # the name is shown, escaped, and reads back as itself
    # importing the written model runs nothing either, and it computes the Clip with infinite bounds
    probe = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import model; m = model.Model(); "
             "m.load_state_dict(torch.load(sys.argv[1] + '/state_dict.pt')); print(m(torch.ones(1, 3, 5, 5)).shape)")
    proc = subprocess.run([sys.executable, "-c", probe, str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()


def _hostile_traced_model(name):
    """x -> a traced layer named ``name`` (Mul by a parameter, Exp); what was traced is named after it too."""
    name = name.encode("utf-8", "replace").decode("utf-8")
    w = numpy_helper.from_array(np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 3, 4), name + "/W")
    nodes = [helper.make_node("Mul", ["x", name + "/W"], [name + "/Mul_2"], name=name + "/Mul"),
             helper.make_node("Exp", [name + "/Mul_2"], [name + "/Exp_2"], name=name + "/Exp"),
             helper.make_node("Identity", [name + "/Exp_2"], [name], name=name + "/Identity")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                              [helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 3, 4])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"lasagne2onnx.layers": json.dumps({name: name}),
                                   "lasagne2onnx.traced": json.dumps({name: f"{name}.get_output_for ({name})"})})
    return model


TRACED_NAMES = HOSTILE + ["Model", "torch", "super", "nn", "F", "0", "__init__", "self"]


@pytest.mark.parametrize("name", TRACED_NAMES, ids=range(len(TRACED_NAMES)))
def test_hostile_traced_layer_names_become_safe_classes(name, tmp_path):
    """A traced layer's class is named after the layer and names it (and what was traced) in its
    docstring: neither runs anything, nor shadows what the code reads, nor breaks the source."""
    import ast

    path = tmp_path / "m.onnx"
    onnx.save(_hostile_traced_model(name), str(path))
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "exporter", "to-torch", str(path), "--out", str(out)],
                          cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()
    tree = codegen.check_generated((out / "model.py").read_text(encoding="utf-8"))
    classes = [c for c in tree.body if isinstance(c, ast.ClassDef)]
    assert len(classes) == 2 and classes[1].name == "Model"
    assert classes[0].name not in {"Model", "torch", "nn", "F", "math"} | codegen.SAFE_BUILTINS
    shown = name.encode("utf-8", "replace").decode("utf-8")
    doc = ast.get_docstring(classes[0])
    assert f"Lasagne layer {shown!r}" in doc and f"{shown}.get_output_for ({shown})" in doc  # reads back as itself
    probe = ("import sys, torch; sys.path.insert(0, sys.argv[1]); import model; m = model.Model(); "
             "m.load_state_dict(torch.load(sys.argv[1] + '/state_dict.pt')); print(m(torch.ones(2, 3, 4)).shape)")
    proc = subprocess.run([sys.executable, "-c", probe, str(out)], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.parametrize("value,source", [(float("nan"), "float('nan')"), (float("inf"), "float('inf')"),
                                          (-float("inf"), "float('-inf')"), (0.1, "0.1"), (np.float32(1e-4), "0.0001")])
def test_float_source_reads_back(value, source):
    assert codegen.float_source(value) == source
    got = eval(source, {"__builtins__": {"float": float}})
    assert (np.isnan(got) and np.isnan(value)) or np.float32(got) == np.float32(value)


def test_non_finite_attributes_and_constants_are_written_as_numbers(tmp_path):
    """A NaN LeakyRelu slope and infinite Clip bounds/constants (once a bare ``nan`` NameError)."""
    from exporter.importers import onnx_reader, to_torch

    inf = numpy_helper.from_array(np.array(np.inf, np.float32), "c.inf")
    nodes = [helper.make_node("LeakyRelu", ["x"], ["a"], name="l/LeakyRelu", alpha=float("nan")),
             helper.make_node("Add", ["a", "c.inf"], ["y"], name="l/Add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])], [inf])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    src, state = to_torch.generate(onnx_reader.view(model))
    assert "float('nan')" in src and "float('inf')" in src
    m = to_torch.load_generated(src, state)
    out = m(torch.tensor([[1.0, -1.0, 0.0]] * 2)).numpy()
    assert np.all(np.isposinf(out[:, 0])) and np.all(np.isnan(out[:, 1]) | np.isposinf(out[:, 1]))


@pytest.mark.parametrize("source", [
    "import os\nclass Model: pass",
    "class Model(nn.Module):\n    def forward(self, x):\n        return __import__('os').system('true')",
    "class Model(nn.Module):\n    def forward(self, x):\n        return x.__class__",
    "class Model(nn.Module):\n    def forward(self, x):\n        return open('f')",
    "'''doc'''\nprint('hi')\nclass Model(nn.Module):\n    pass",
    "class Model(nn.Module):\n    def __init__(self):\n        import os",
    "class Model(nn.Module):\n    x = eval('1')",
    # the base class, keywords and decorators run when the class is defined
    "class Model(__import__('os').system('true')):\n    pass",
    "class Model(nn.Module, metaclass=type):\n    pass",
    "@print\nclass Model(nn.Module):\n    pass",
    # a traced layer's class: only before Model, once, under a name the code does not read, made without arguments
    "class Model(nn.Module):\n    pass\nclass A(nn.Module):\n    pass",
    "class A(nn.Module):\n    pass\nclass A(nn.Module):\n    pass\nclass Model(nn.Module):\n    pass",
    "class torch(nn.Module):\n    pass\nclass Model(nn.Module):\n    pass",
    "class A(nn.Module):\n    pass\nclass Model(nn.Module):\n    def __init__(self):\n        self.a = A(1)",
    "class A(nn.Module):\n    pass\nclass Model(nn.Module):\n    def forward(self, x):\n        return A()",
    "class A(nn.Module):\n    x = 1\nclass Model(nn.Module):\n    pass",
    "class A(nn.Module):\n    def forward(self, x):\n        return Model()\nclass Model(nn.Module):\n    pass",
    'class Model(nn.Module):\n    """only the class of a traced layer has a docstring"""',
])
def test_check_generated_refuses_other_code(source):
    with pytest.raises(codegen.GeneratedSourceError):
        codegen.check_generated(source)


def test_check_generated_accepts_what_the_generator_writes():
    from exporter.importers import onnx_reader, to_torch

    for model in (_hostile_model("plain"), _hostile_traced_model("plain")):
        src, _ = to_torch.generate(onnx_reader.view(model), "model.onnx")
        codegen.check_generated(src)
    assert "class Plain(nn.Module):" in src and "self.plain = Plain()" in src
