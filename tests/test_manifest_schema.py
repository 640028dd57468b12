"""Manifests are validated by JSON Schemas: the structure of the manifest, and per layer kind the
schema its module registers beside its capture rule (exporter.registry.attrs_schema).

Every registered kind has one; every parity case's manifest, captured by the real Lasagne (the
reference cache) and by the Theano-free API, satisfies it; wrong types, ranges and enums are refused
in one line naming the layer and the attribute (tests/test_fuzz.py tries them attribute by
attribute), and nesting deeper than the schema allows is an error, not a RecursionError.
"""
import copy
import dataclasses
import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from exporter import registry
from exporter.cli import main
from exporter.errors import NetworkError
from exporter.ir import LayerGraph, LayerSpec, ParamSpec
from exporter.manifest_schema import (ANY_ROLE, GRAPH_FIELDS, LAYER_FIELDS, MAX_DEPTH, PARAM_FIELDS, load_manifest,
                                      read_manifest, structure_schema)
from tests.cases import load_all

CASES = load_all()
NAMES = sorted(n for n, c in CASES.items() if not c.expect_error)


def _objects(schema, path=()):
    """Every object schema (with properties) inside ``schema``."""
    if isinstance(schema, dict):
        if schema.get("type") == "object" and "properties" in schema:
            yield path, schema
        for k, v in schema.items():
            yield from _objects(v, path + (k,))
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            yield from _objects(v, path + (i,))


def test_every_kind_has_a_schema():
    registry.load_all()
    assert set(registry.ATTRS_SCHEMAS) == set(registry.CONVERTERS.names())
    for kind, entry in registry.ATTRS_SCHEMAS.items():
        jsonschema.Draft202012Validator.check_schema(entry.schema)
        objects = list(_objects(entry.schema))
        assert objects, kind
        for path, obj in objects:  # strict: an unknown attribute is an error, never ignored
            if "allOf" in obj:  # a tagged union (exporter.schema.tagged): each variant is strict
                tag, = obj["required"]
                variants = [branch["if"]["properties"][tag]["const"] for branch in obj["allOf"]]
                assert sorted(variants) == sorted(obj["properties"][tag]["enum"]), (kind, path)
                assert all(branch["then"]["additionalProperties"] is False for branch in obj["allOf"]), (kind, path)
            else:
                assert obj.get("additionalProperties") is False, (kind, path)
        assert set(entry.required_params) <= set(entry.allowed_params()), kind


def test_structure_schema_is_the_ir_dataclasses():
    assert set(PARAM_FIELDS) == {f.name for f in dataclasses.fields(ParamSpec)}
    assert set(LAYER_FIELDS) == {f.name for f in dataclasses.fields(LayerSpec)}
    assert set(GRAPH_FIELDS) == {f.name for f in dataclasses.fields(LayerGraph)}
    schema = structure_schema(registry.ATTRS_SCHEMAS)
    jsonschema.Draft202012Validator.check_schema(schema)
    layer = schema["properties"]["layers"]["items"]
    assert layer["required"] == ["name", "kind", "lasagne_class", "inputs", "attrs", "params", "output_shape"]
    assert layer["properties"]["kind"]["enum"] == sorted(registry.ATTRS_SCHEMAS)


def test_a_kind_registers_its_schema_from_its_own_module(monkeypatch):
    """What the Expression kind (or any new one) does: a schema, and a check for the rest."""
    monkeypatch.setattr(registry, "ATTRS_SCHEMAS", dict(registry.ATTRS_SCHEMAS))
    schema = {"type": "object", "properties": {"depth": {"type": "integer", "minimum": 1}},
              "required": ["depth"], "additionalProperties": False}

    @registry.attrs_schema("Deep", schema, params=("W",))
    def check_deep(layer):
        return None if layer.attrs["depth"] <= len(layer.input_shape) else "depth is more than the input's rank"

    entry = registry.ATTRS_SCHEMAS["Deep"]
    assert entry.check is check_deep and entry.params == ("W",)
    with pytest.raises(ValueError, match="registered twice"):
        registry.attrs_schema("Deep", schema)
    manifest = _manifest([_input(), _layer("deep", "Deep", {"depth": 5})])
    with pytest.raises(NetworkError, match=r"layer 'deep' \(Deep, layers\[1\]\): depth is more than the input's rank"):
        load_manifest(manifest)
    manifest["layers"][1]["attrs"]["depth"] = "2"
    with pytest.raises(NetworkError, match=r"layer 'deep' \(Deep, layers\[1\]\): attribute 'depth' must be an "
                                           r"integer >= 1, got '2'"):
        load_manifest(manifest)
    manifest["layers"][1]["attrs"]["depth"] = 2
    assert load_manifest(manifest).layers[1].attrs == {"depth": 2}
    manifest["layers"][1]["params"] = [{"role": "my_weights", "shape": [3], "key": "arr_0"}]
    with pytest.raises(NetworkError, match=r"parameter 'my_weights' is not one of a Deep layer's \(W\)"):
        load_manifest(manifest)
    registry.ATTRS_SCHEMAS.pop("Deep")
    registry.attrs_schema("Deep", schema, params=(ANY_ROLE,), check=check_deep)  # roles named by the user
    assert load_manifest(manifest).layers[1].params[0].role == "my_weights"


@pytest.mark.parametrize("name", NAMES)
def test_real_lasagne_manifests_validate(name, references):
    """The manifest the real Lasagne's capture wrote for every parity case (for a "traced" case, whose
    custom layers the real capture refuses, the Theano-free tracer's that the parity test exports)."""
    from tests.reference import reference_graph

    ref = references(name)
    assert ref.error is None, ref.error
    text = ref.graph_json if ref.graph_json is not None else reference_graph(ref, CASES[name]).to_json()
    graph = read_manifest(text, origin=name)
    assert json.loads(graph.to_json()) == json.loads(text)


@pytest.fixture(scope="module")
def compat_captures():
    """Every case built on the Theano-free API inside its tracer, as ``--network`` builds it (a build
    function may also prepare training with Theano calls, or compute with Theano in ``__init__``), with
    what the Theano-free API cannot tell declared as the references have it (Lasagne 0.1's peepholes)."""
    from tests.reference import compat_capture

    return {name: compat_capture(CASES[name]) for name in NAMES if "lasagne-0.1-only" not in CASES[name].tags}


def test_theano_free_manifests_validate(compat_captures):
    assert len(compat_captures) > 150
    for name, graph in compat_captures.items():
        assert load_manifest(json.loads(graph.to_json()), origin=name).to_dict() == graph.to_dict()


def test_every_kind_is_covered_by_the_cases(compat_captures):
    kinds = {l.kind for g in compat_captures.values() for l in g.layers}
    assert kinds == set(registry.ATTRS_SCHEMAS), set(registry.ATTRS_SCHEMAS) ^ kinds


# -- refusals, as the user sees them ------------------------------------------------------------------------
BUILD = '''
def build():
    from lasagne.layers import Conv2DLayer, DenseLayer, InputLayer, Pool2DLayer
    l = InputLayer((None, 3, 8, 8), name="input")
    l = Conv2DLayer(l, 4, 3, flip_filters=True, name="conv")
    l = Pool2DLayer(l, 2, mode="max", ignore_border=True, name="pool")
    return DenseLayer(l, 5, name="fc")
'''


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    d = tmp_path_factory.mktemp("schema")
    (d / "net.py").write_text(BUILD)
    assert main(["capture", "--network", f"{d / 'net.py'}:build", "--lasagne", "compat", "--out",
                 str(d / "arch.json")]) == 0
    graph = read_manifest((d / "arch.json").read_text())
    shapes = {p.key: p.shape for l in graph.layers for p in l.params}
    rng = np.random.default_rng(0)
    np.savez(d / "model.npz", *[rng.standard_normal(shapes[k]).astype(np.float32) for k in graph.param_keys])
    return d


# the examples: each once changed the exported model
REFUSED = [
    ("pool", "mode", "bogus", "must be one of 'max', 'average_inc_pad', 'average_exc_pad', got 'bogus'"),
    ("pool", "mode", 5, "must be one of"),
    ("pool", "mode", None, "must be one of"),
    ("conv", "flip_filters", "no", "must be true or false, got 'no'"),
    ("pool", "ignore_border", "no", "must be true or false, got 'no'"),
    ("fc", "num_units", -32, "must be at least 1, got -32"),
    ("fc", "num_units", "32", "must be an integer >= 1, got '32'"),
    ("fc", "num_units", 2 ** 40, "must be at most 2147483647"),
    ("fc", "num_units", 6, "parameter 'W' has shape [36, 5], but num_units 6"),
    ("conv", "num_filters", -32, "must be at least 1"),
    ("conv", "num_filters", "32", "must be an integer >= 1"),
    ("conv", "num_filters", 2 ** 40, "must be at most 2147483647"),
    ("conv", "num_filters", 4.0, "must be an integer >= 1, got 4.0"),
    ("conv", "num_filters", 8, "parameter 'W' has shape [4, 3, 3, 3], but num_filters 8"),
    ("conv", "pads", [1, 1, 1, 1], "unknown attribute 'pads'"),
    ("conv", "nonlinearity", {"name": "leaky_rectify"}, "attribute 'nonlinearity'['leakiness'] is missing"),
    ("conv", "stride", [1, 1, 1], "attributes 'filter_size' (2 values), 'stride' (3 values), 'pad' (2 values)"),
]


@pytest.mark.parametrize("layer, attr, value, message", REFUSED)
def test_wrong_attributes_are_refused_in_one_line(work, capsys, layer, attr, value, message):
    manifest = json.loads((work / "arch.json").read_text())
    kinds = {l["name"]: l["kind"] for l in manifest["layers"]}
    index = next(i for i, l in enumerate(manifest["layers"]) if l["name"] == layer)
    manifest["layers"][index]["attrs"][attr] = value
    (work / "bad.json").write_text(json.dumps(manifest))
    out = work / "out" / "m.onnx"
    assert main([str(work / "model.npz"), str(out), "--manifest", str(work / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {work / 'bad.json'}: malformed architecture manifest: "
                                                   f"layer {layer!r} ({kinds[layer]}, layers[{index}]): "), err
    assert message in err and attr in err, err
    assert not out.exists()


def test_the_unmutated_manifest_exports(work, capsys):
    assert main([str(work / "model.npz"), str(work / "ok.onnx"), "--manifest", str(work / "arch.json"), "-q"]) == 0


def _manifest(layers):
    return {"format": "lasagne2onnx.layergraph", "version": 1, "layers": layers, "outputs": [layers[-1]["name"]]}


def _input(shape=(None, 3)):
    return {"name": "input", "kind": "Input", "lasagne_class": "InputLayer", "inputs": [],
            "attrs": {"shape": list(shape)}, "params": [], "output_shape": list(shape)}


def _layer(name, kind, attrs, inputs=("input",), shape=(None, 3), params=()):
    return {"name": name, "kind": kind, "lasagne_class": kind + "Layer", "inputs": list(inputs), "attrs": attrs,
            "params": list(params), "output_shape": list(shape)}


def test_nesting_deeper_than_the_schema_is_an_error_not_a_recursion_error():
    deep = 1
    for _ in range(900):  # json parses it; anything recursing over it would not return
        deep = [deep]
    manifest = _manifest([_input(), _layer("nl", "Nonlinearity", {"nonlinearity": {"name": "tanh", "x": deep}})])
    text = json.dumps(manifest)
    with pytest.raises(NetworkError, match=rf"layer 'nl' \(Nonlinearity, layers\[1\]\): attribute 'nonlinearity'"
                                           rf"\['x'\]\[0\].*: nested deeper than a manifest can be \({MAX_DEPTH} "):
        read_manifest(text)
    manifest["layers"][1]["attrs"]["nonlinearity"]["x"] = [[[1]]]
    with pytest.raises(NetworkError, match=r"attribute 'nonlinearity': unknown field 'x' \(known: name\)"):
        load_manifest(manifest)


@pytest.mark.parametrize("mutate, message", [
    (lambda m: m["layers"][1].update(kind="NonlinearityLayer"), "'kind' must be one of"),  # a class, not a kind
    (lambda m: m["layers"][1].update(kind="Bogus"), "'kind' must be one of"),
    (lambda m: m["layers"][1].update(extra=1), "unknown field 'extra'"),
    (lambda m: m.update(extra=1), "unknown field 'extra'"),
    (lambda m: m["layers"][1]["attrs"].update(nonlinearity={"name": "tanh"}, x=float("nan")),
     "attribute 'x': nan is not a usable number"),
    (lambda m: m["layers"][1]["attrs"].update(nonlinearity={"name": "leaky_rectify", "leakiness": float("inf")}),
     "attribute 'nonlinearity'['leakiness']: inf is not a usable number"),
    (lambda m: m["layers"][1].update(params=[{"role": "W", "shape": [3], "key": "arr_0"}]),
     "parameter 'W' is not one of a Nonlinearity layer's (it has none)"),
    (lambda m: m["layers"][1].update(output_shape=[None, 0]), "'output_shape'[1] must be"),
    (lambda m: m.update(outputs=["nl", "nl"]), "'outputs' lists a value twice"),
    (lambda m: m.update(outputs=["nowhere"]), "output 'nowhere' is not a layer of the manifest"),
])
def test_structure_problems_name_the_place(mutate, message):
    manifest = _manifest([_input(), _layer("nl", "Nonlinearity", {"nonlinearity": {"name": "tanh"}})])
    load_manifest(copy.deepcopy(manifest))
    mutate(manifest)
    with pytest.raises(NetworkError) as e:
        load_manifest(manifest, origin="arch.json")
    assert str(e.value).startswith("arch.json: malformed architecture manifest: ") and message in str(e.value), e.value


def test_a_converter_bug_is_not_blamed_on_the_manifest(work, monkeypatch):
    """export._build once turned any KeyError/TypeError/... inside a converter into 'the manifest does
    not describe a network': the schemas now guarantee the attributes, so a converter failing is a bug."""
    from exporter.layers import pool

    def broken(spec, g):
        raise KeyError("a converter bug")

    registry.load_all()
    monkeypatch.setitem(registry.CONVERTERS._entries, "Pool", [registry.Versioned("Pool", broken, registry.FIRST_OPSET)])
    assert pool.convert_pool is not broken
    with pytest.raises(KeyError, match="a converter bug"):
        main([str(work / "model.npz"), str(work / "x.onnx"), "--manifest", str(work / "arch.json")])
    assert not os.path.exists(work / "x.onnx")


# -- checks beyond the schemas: sizes against parameters, inputs and the layers a layer depends on -----------
def _set_attr(layer, **attrs):
    return lambda m: _by_name(m, layer)["attrs"].update(attrs)


def _by_name(manifest, name):
    return next(l for l in manifest["layers"] if l["name"] == name)


def _nested(which, index):
    """The layer ``index`` of sub-network ``which`` of the layer 'custom'."""
    return lambda m: _by_name(m, "custom")["attrs"][which]["layers"][index]


def _expr(manifest, layer):
    return _by_name(manifest, layer)["attrs"]["expr"]


def _node(layer, name, **fields):
    """Set ``fields`` of the node ``name`` of layer ``layer``'s traced expression."""
    return lambda m: next(n for n in _expr(m, layer)["nodes"] if n["name"] == name).update(fields)


def _at(code):
    """``custom_cases.py:N``, the line of tests/cases/custom_cases.py holding ``code`` (a traced node's "where")."""
    lines = (Path(__file__).parent / "cases" / "custom_cases.py").read_text().splitlines()
    return f"custom_cases.py:{next(i for i, line in enumerate(lines, 1) if code in line)}"


_I2H, _H2H = "input_to_hidden", "hidden_to_hidden"
_DOUBLING = {"inputs": [{"name": "x", "source": "input", "index": 0, "dtype": "float32",
                         "broadcastable": [False, False], "shape": [None, 6]}],
             "nodes": [{"name": "y", "op": "theano.tensor.add", "inputs": ["x", "x"], "attrs": {}, "ndim": 2,
                        "dtype": "float32", "broadcastable": [False, False], "shape": [None, 6]}],
             "outputs": ["y"]}  # a traced x + x
CHECKED = [  # case, layer at fault, mutation, message
    ("embedding_int32_negative_indices", "embed", lambda m: _by_name(m, "words")["attrs"].pop("dtype"),
     "its input layer 'words' has no integer 'dtype'"),
    ("embedding_int32_negative_indices", "embed", _set_attr("embed", input_size=12),
     "parameter 'W' has shape [11, 4], but input_size 12"),
    ("feature_pool_maxout_dense", "maxout", _set_attr("maxout", pool_size=5), "pool_size 5 does not divide"),
    ("feature_pool_maxout_dense", "maxout", _set_attr("maxout", axis=2), "axis 2 is not an axis of its 2-d input"),
    ("standardization_axes_forms", "features", _set_attr("features", axes=[3, 1]), "in increasing order"),
    ("standardization_axes_forms", "features", _set_attr("features", axes=[1, 4]), "axes of its 4-d input"),
    ("rrelu_inference", "rrelu_narrow", _set_attr("rrelu_narrow", lower=0.3), "lower 0.3 is above upper 0.25"),
    ("transformer_border_modes", "nearest", _set_attr("nearest", downsample_factor=[1.5, 1]),
     "downsample_factor [1.5, 1] gives 4 x 8 pixels, but output_shape"),
    ("transformer_border_modes", "nearest", _set_attr("nearest", downsample_factor=[0, 1]),
     "attribute 'downsample_factor'[0] must be more than 0, got 0"),
    ("tps_transformer_precomputed", "tps16", _set_attr("tps16", control_points=15), "15 is not a perfect square"),
    ("tps_transformer_precomputed", "tps16", _set_attr("tps16", control_points=9),
     "a localisation output of shape [None, 32], not (batch, 18)"),
    ("locally_connected_full", "lc3", _set_attr("lc3", filter_size=[2, 3]), "must be an integer >= 1 (odd), got 2"),
    ("locally_connected_full", "lc3", _set_attr("lc3", channelwise=True),
     "num_filters 4 with channelwise=true must be the input's 3 channels"),
    ("spp_fast_known_sizes", "max421", _set_attr("max421", pool_dims=[5, 2, 1]), "does not give 5 bins"),
    ("spp_fast_known_sizes", "max421", _set_attr("max421", pool_dims=[4, 2]),
     "is not (batch, channels, 20), the bins of pool_dims"),
    ("inverse_dense", "dec_enc", lambda m: _by_name(m, "dec_enc").update(inputs=["dec_code", "enc", "code"]),
     "its third input 'code' is not the input of the layer it inverts, 'enc'"),
    ("inverse_dense", "dec_enc", _set_attr("enc", nonlinearity={"name": "softplus"}),
     "the inverted layer's nonlinearity 'softplus'"),
    ("cuda_convnet_bc01", "conv1", _set_attr("conv1", num_filters=20), "num_filters 20 is not a multiple of 16"),
    ("cuda_convnet_bc01", "pool1", _set_attr("pool1", stride=4), "stride 4 is more than pool_size 3"),
    ("cuda_convnet_c01b", "nin", _set_attr("nin", num_units=9), "parameter 'W' has shape [8, 16], but num_units 9"),
    ("cuda_convnet_c01b", "conv1", _set_attr("conv1", dimshuffle=True), "parameter 'W' has shape [3, 3, 3, 16]"),
    # CustomRecurrentLayer: each sub-network's layers checked as a manifest's, then against the recurrent layer
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _nested(_I2H, 2)(m)["attrs"].update(num_units="6"),
     "attribute 'input_to_hidden': layer 'dense_2' (Dense, layers[2]): attribute 'num_units' must be an integer "
     ">= 1, got '6'"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom", lambda m: _nested(_H2H, 2)(m).update(kind="Bogus"),
     "attribute 'hidden_to_hidden': layer 'dense_2' (Bogus, layers[2]): 'kind' must be one of"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom", lambda m: _nested(_H2H, 2)(m).update(inputs=["nowhere"]),
     "attribute 'hidden_to_hidden': layer 'dense_2' (Dense, layers[2]): its input 'nowhere' is not a layer"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _nested(_I2H, 1)(m)["params"][0].update(key="hidden_to_hidden/dense_2.W"),
     "attribute 'input_to_hidden': layer 'dense_1': parameter 'W' uses 'hidden_to_hidden/dense_2.W', which is not "
     "one of the recurrent layer's input_to_hidden parameters"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _by_name(m, "custom")["params"][2].update(shape=[7]),
     "layer 'dense_1': parameter 'b' has shape [5], but the recurrent layer's 'input_to_hidden/dense_1.b' has "
     "shape [7]"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _by_name(m, "custom")["params"].append({**_by_name(m, "custom")["params"][0],
                                                       "role": "input_to_hidden/ghost.W"}),  # hid_init's key
     "parameter 'input_to_hidden/ghost.W' is no parameter of its sub-networks' layers"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _by_name(m, "input").update(output_shape=[None, 5, 3], attrs={"shape": [None, 5, 3]}),
     "attribute 'input_to_hidden': its Input layer 'input_0' has shape [None, 4], but is fed (batch, *[3])"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _nested(_H2H, 0)(m)["attrs"].update(dtype="int32"),
     "its Input layer 'input_0' has a 'dtype'"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _by_name(m, "custom")["attrs"].update(mask=False), "2 inputs with mask=False"),
    ("custom_recurrent_stacked_subnetworks_mask", "custom",
     lambda m: _nested(_H2H, 1)(m).update(kind="Expression", attrs={"expr": _DOUBLING, "traced": "get_output_for"}),
     "attribute 'hidden_to_hidden': layer 'nonlinearity_1' is traced computation (kind Expression), which a "
     "recurrence's Scan body does not lower"),
    # traced expressions: the structure (schema.EXPR_GRAPH), each node's attrs as its lowering declares them, and
    # what a schema cannot say (exporter/theano_ops/checks.py), checked against the layer's inputs and parameters
    ("attention", "attention", _node("attention", "n0", inputs=[["input1"]]),
     "attribute 'expr'['nodes'][0]['inputs'][0] must be non-empty string, got ['input1']"),
    ("attention", "attention", _node("attention", "n0", where=7), "attribute 'expr'['nodes'][0]['where'] must be"),
    ("attention", "attention", lambda m: _by_name(m, "attention")["attrs"].pop("traced"),
     "attribute 'traced' is missing"),
    ("attention", "attention", lambda m: _expr(m, "attention")["inputs"][2].update(index=1),
     "attribute 'expr'['inputs'][2]['index'] must be 0"),
    ("attention", "attention", lambda m: _expr(m, "attention")["inputs"][0].update(role="W"),
     "attribute 'expr'['inputs'][0]['role'] must be ''"),
    ("attention", "attention", lambda m: _expr(m, "attention")["inputs"][1].update(index=0),
     "expression input 'input1': has shape [None, 4], but the layer's input 0 has shape [None, 5, 6]"),
    ("attention", "attention", lambda m: _expr(m, "attention")["inputs"][2].update(shape=[10, 8]),
     "expression input 'param:W': has shape [10, 8], but the layer's parameter 'W' has shape [10, 7]"),
    ("attention", "attention", _node("attention", "n12", attrs={"axis": 2 ** 40}),
     "expression node 'n12' (theano.tensor.concatenate at " + _at('feats = T.concatenate') + "): attribute 'axis' must be at most"),
    ("attention", "attention", _node("attention", "n12", attrs={"axis": 1}),
     "expression node 'n12' (theano.tensor.concatenate at " + _at('feats = T.concatenate') + "): joins inputs of sizes [4, 6] on "
     "axis 2"),
    ("attention", "attention", _node("attention", "n12", attrs={"axis": 2, "bogus": 1}),
     "attribute 'expr': expression node 'n12' (theano.tensor.concatenate at " + _at('feats = T.concatenate') + "): unknown attribute "
     "'bogus' (known: axis)"),
    ("attention", "attention", _node("attention", "n0", attrs={"new_order": [0, "x", 0]}),
     "new_order [0, 'x', 0] must list distinct axes of its 2-d input (and 'x')"),
    ("attention", "attention", _node("attention", "n0", attrs={"new_order": [0, "y", 1]}),
     "attribute 'new_order'[1] must be an integer >= 0 or 'x', got 'y'"),
    ("attention", "attention", _node("attention", "n26", attrs={"idx_list": [{"slice": [None, None, None]}]}),
     "expression node 'n26' (theano.tensor.subtensor.Subtensor at " + _at('scores = T.dot(') + "): gives size 3 on axis 0, "
     "but the node says 2"),
    ("attention", "attention",
     _node("attention", "n26", attrs={"idx_list": [{"slice": [None, {"input": 1}, None]}]}),
     "refers to its inputs [1] in idx_list, but its index inputs are [] (each once, in order)"),
    ("attention", "attention", _node("attention", "n3", attrs={"idx_list": [{"index": 3}]}),
     "indexes 3 on axis 0 of size 3"),
    ("attention", "attention", _node("attention", "n21", attrs={"idx_list": [{"index": 1}]}),  # W.shape[1] twice
     "expression node 'n24' (theano.tensor.reshape at " + _at('scores = T.dot(') + "): reshapes 70 values to [7, 7]"),
    ("attention", "attention", _node("attention", "n11", attrs={"ndim": 2}),
     "has a shape vector of 3 sizes for ndim 2"),
    ("attention", "attention", _node("attention", "n48", attrs={"broadcastable": [False, False, False]}),
     "makes the pattern [False, False, False], but the node says [False, False, True]"),
    ("attention", "attention", _node("attention", "n25", op="theano.tensor.batched_dot"),
     "multiplies operands of shapes [None, 10] and [10, 7], which are not aligned"),
    ("attention", "attention", _node("attention", "n8", inputs=["n1", "n3", "n4", "n6"]),
     "gives 3 sizes to a 4-d value"),
    ("attention", "attention", _node("attention", "n8", inputs=["n1", "n3", "n4", "n6", "n7", "n7"]),
     "gives a 5-d result, but the node says 4-d"),
    ("attention", "attention", _node("attention", "n9", inputs=["n4", "n6", "n6"]), "takes 2 inputs, not 3"),
    ("attention", "attention", _node("attention", "n53", op="theano.tensor.nnet.bogus"),
     "expression node 'n53' (theano.tensor.nnet.bogus at " + _at('weights = T.nnet.softmax(') + "): the op has no ONNX lowering"),
    ("attention", "attention", _node("attention", "n2", dtype="int32"), "gives int64, but the node says int32"),
    # a traced nonlinearity's expression: the same schema and checks
    ("custom_nonlinearities", "conv_leaky",
     lambda m: _by_name(m, "conv_leaky")["attrs"]["nonlinearity"]["expr"]["nodes"][0]["attrs"]["value"].update(
         data=[True]),
     "expression node 'c0' (theano.tensor.constant): attribute 'value': a float32 constant holds True"),
    ("custom_nonlinearities", "conv_leaky",
     lambda m: _by_name(m, "conv_leaky")["attrs"]["nonlinearity"]["expr"]["nodes"][1]["attrs"].update(axis=0),
     "attribute 'nonlinearity': expression node 'n1' (theano.tensor.mul at " + _at('nonlinearity=lambda x: T.maximum(x, 0.1 * x)') + "): unknown attribute "
     "'axis'"),
    ("custom_nonlinearities", "conv_leaky",
     lambda m: _by_name(m, "conv_leaky")["attrs"]["nonlinearity"].update(function=3),
     "attribute 'nonlinearity'['function'] must be non-empty string, got 3"),
]


@pytest.mark.parametrize("case, layer, mutate, message", CHECKED,
                         ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CHECKED)])
def test_checks_refuse_what_the_schemas_cannot(compat_captures, case, layer, mutate, message):
    manifest = json.loads(compat_captures[case].to_json())
    load_manifest(copy.deepcopy(manifest))
    mutate(manifest)
    with pytest.raises(NetworkError) as e:
        load_manifest(manifest, origin="arch.json")
    index = next(i for i, l in enumerate(manifest["layers"]) if l["name"] == layer)
    where = f"layer {layer!r} ({manifest['layers'][index]['kind']}, layers[{index}]): "
    assert str(e.value).startswith(f"arch.json: malformed architecture manifest: {where}"), e.value
    assert message in str(e.value) and "\n" not in str(e.value), e.value


def test_nesting_inside_a_subnetwork_is_bounded(compat_captures):
    manifest = json.loads(compat_captures["custom_recurrent_stacked_subnetworks_mask"].to_json())
    deep = 1
    for _ in range(900):
        deep = [deep]
    _nested(_H2H, 1)(manifest)["attrs"]["nonlinearity"]["x"] = deep
    with pytest.raises(NetworkError, match=r"layer 'custom' \(CustomRecurrent, layers\[2\]\): attribute "
                                           r"'hidden_to_hidden'\['layers'\]\[1\]\['attrs'\]\['nonlinearity'\]\['x'\]"
                                           rf".*: nested deeper than a manifest can be \({MAX_DEPTH} "):
        read_manifest(json.dumps(manifest))
