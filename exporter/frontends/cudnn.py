"""Build code that probes for cuDNN and falls back: which network do the weights belong to?

    try:
        from lasagne.layers.dnn import Conv2DDNNLayer as ConvLayer
    except ImportError:
        from lasagne.layers import Conv2DLayer as ConvLayer

builds a different network where ``lasagne.layers.dnn`` (or ``corrmm``, ``cuda_convnet``) imports
(a GPU with cuDNN) than where it does not (``Conv2DDNNLayer`` cross-correlates, ``Conv2DLayer``
convolves), and the weights fit both.  When the build code asks for one of those modules, the
network is built both ways; :func:`differences` compares what the two layer graphs compute.  Layers
that compute the same (``BatchNormDNNLayer`` and ``BatchNormLayer``; a conv given ``flip_filters``
explicitly) are no difference; any other is, and the user must say where the weights were trained
(``--cudnn yes|no``).
"""
from __future__ import annotations

CHOICES = ("yes", "no")
FLAG = "--cudnn"


def _layer_key(layer: dict, positions: dict):
    """What a layer computes, whatever its class and default name are called."""
    return {
        "kind": layer["kind"],
        "attrs": layer["attrs"],
        "inputs": [positions.get(i, i) for i in layer["inputs"]],
        "params": [(p["role"], list(p["shape"]), p["key"]) for p in layer["params"]],
        "output_shape": list(layer["output_shape"]),
        "name": layer["name"] if layer.get("user_named") else None,
    }


def _describe_change(a: dict, b: dict) -> str:
    """``flip_filters False vs True`` etc.: what differs between two layer keys (a: with cuDNN)."""
    parts = []
    if a["kind"] != b["kind"]:
        parts.append(f"kind {a['kind']} vs {b['kind']}")
    else:
        for k in sorted(set(a["attrs"]) | set(b["attrs"])):
            if a["attrs"].get(k) != b["attrs"].get(k):
                parts.append(f"{k} {a['attrs'].get(k)!r} vs {b['attrs'].get(k)!r}")
    for what in ("inputs", "params", "output_shape", "name"):
        if a[what] != b[what]:
            parts.append(f"{what.replace('_', ' ')} {a[what]} vs {b[what]}")
    return ", ".join(parts)


def differences(with_gpu: dict, without_gpu: dict) -> list:
    """One line per layer that computes differently in the two manifests (dicts of LayerGraph), in
    network order; empty when they compute the same."""
    la, lb = with_gpu["layers"], without_gpu["layers"]
    pa = {l["name"]: i for i, l in enumerate(la)}
    pb = {l["name"]: i for i, l in enumerate(lb)}
    lines = []
    for i, (a, b) in enumerate(zip(la, lb)):
        ka, kb = _layer_key(a, pa), _layer_key(b, pb)
        if ka != kb:
            same_class = a["lasagne_class"] == b["lasagne_class"]
            classes = (f"{a['lasagne_class']} both ways" if same_class else
                       f"{a['lasagne_class']} with it, {b['lasagne_class']} without")
            lines.append(f"{a['name']!r} (position {i}: {classes}; {_describe_change(ka, kb)})")
    if len(la) != len(lb):
        lines.append(f"the network has {len(la)} layers with it and {len(lb)} without")
    if [pa.get(o) for o in with_gpu["outputs"]] != [pb.get(o) for o in without_gpu["outputs"]]:
        lines.append("the network outputs differ")
    return lines


def refusal(path: str, lines: list, modules) -> str:
    shown = lines[:8] + ([f"and {len(lines) - 8} more"] if len(lines) > 8 else [])
    mods = " / ".join(sorted(modules))
    return (f"{path}: the build code probes for {mods} and builds a different network where it imports (a GPU "
            f"with cuDNN) than where it does not; the weights fit both, and the layers that differ are: "
            f"{'; '.join(shown)}. Say where the weights were trained: {FLAG} yes (with cuDNN) or {FLAG} no "
            f"(without, e.g. on a CPU)")


def choose(builds, result, cudnn):
    """"yes", "no", "either" or None (the build code does not ask for the GPU modules), given the
    first build's ``result`` and ``--cudnn``; ``builds.run(...)`` builds again.  Raises the build's
    error, or the refusal when the network depends on cuDNN and ``cudnn`` does not say."""
    from ..errors import NetworkError

    attempts = result.report.get("gpu_modules_imported") or {}
    modules = " / ".join(sorted(attempts))
    imported = any(attempts.values())
    if result.error and attempts and not cudnn and imported:
        # e.g. a cuda-convnet layer that does not export: the build without the GPU modules may
        if not builds.run(gpu_modules="block").error:
            raise NetworkError(f"{result.error}; that is the network built where {modules} imports (a GPU); where "
                               f"it does not, the build code builds one that exports: if the weights were trained "
                               f"there, pass --cudnn no")
    if result.error:
        raise NetworkError(result.error)
    if not attempts:
        return None
    if cudnn:
        if cudnn == "yes" and not imported:
            raise NetworkError(f"{builds.path}: --cudnn yes, but {modules} cannot be imported with the "
                               f"{result.report.get('lasagne')} Lasagne here (try --lasagne compat)")
        return cudnn
    if imported:  # built with the GPU modules: now as on a machine without them
        with_gpu, without_gpu = result, builds.run(gpu_modules="block")
    else:  # the real Lasagne on a machine without them: the Theano-free one has them
        with_gpu, without_gpu = builds.run(implementation="compat"), result
    if (without_gpu if imported else with_gpu).error:  # the build code builds one way only
        return "yes" if imported else "no"
    lines = differences(with_gpu.manifest, without_gpu.manifest)
    if lines:
        raise NetworkError(refusal(builds.path, lines, attempts))
    return "either"
