"""``check``'s verdict on the per-layer outputs: each layer's error against the reference and its status
(OK, DIFFERS, AMPLIFIED after a run alone on the reference's own inputs, fused), the table and the
closing summary that names the first layer that differs and why."""
from __future__ import annotations

import numpy as np

def compare_rows(layer_map, actual, ref, classes, tolerance) -> list:
    from ..accuracy import error_stats

    rows = []
    for name, value in layer_map.items():
        row = {"layer": name, "class": classes.get(name, "?"), "shape": None, "max_abs": None, "rel": None}
        expected = ref.get(f"out:{name}")
        if expected is not None:
            row["shape"] = tuple(expected.shape)
        if value is None:
            row["status"] = "fused"
        else:
            stats = error_stats(actual[name], expected)
            row["max_abs"], row["rel"] = stats["max_abs"], stats["rel"]
            if np.issubdtype(np.asarray(expected).dtype, np.floating) and not np.isfinite(expected).all():
                row["reference_not_finite"] = True
            if "shape_mismatch" in stats:
                row["status"], row["onnx_shape"] = "DIFFERS", tuple(np.shape(actual[name]))
            else:
                row["status"] = "OK" if stats["rel"] <= tolerance else "DIFFERS"  # NaN differs
        rows.append(row)
    return rows


def run_alone(rows, model, layer_map, ref, inputs_of, tolerance):
    """Each differing layer once more, alone, fed the reference's own outputs of its input layers: a
    layer that then matches computes what Theano computes, and only amplifies the float32 rounding
    its inputs carry (within the tolerance, but e.g. a spatial transformer's sampling grid moves by
    its theta's last bits times the image's gradient).  Its status becomes AMPLIFIED, with the error
    it has alone in ``alone_rel``; a layer that still differs alone stays DIFFERS (its ``alone_rel``
    says by how much), as does one that cannot be cut out of the graph (inputs fused, shared values)
    and one after a layer that differs."""
    from ..accuracy import error_stats
    from ..compare import layer_runner

    run_layer_alone = layer_runner(model)
    status = {}
    for row in rows:  # network order: an input's status is final before its consumers are looked at
        status[row["layer"]] = row["status"]
        if row["status"] != "DIFFERS" or "onnx_shape" in row:
            continue
        ins = inputs_of.get(row["layer"], [])
        if not ins or any(layer_map.get(i) is None or f"out:{i}" not in ref or status.get(i) not in ("OK", "AMPLIFIED")
                          for i in ins):
            continue  # after a layer that differs, its consumers differ too (and are not the cause)
        feeds = {layer_map[i]: np.ascontiguousarray(ref[f"out:{i}"]) for i in ins}
        alone = run_layer_alone(layer_map[row["layer"]], feeds)
        if alone is None:
            continue
        stats = error_stats(alone, ref[f"out:{row['layer']}"])
        row["alone_rel"] = stats["rel"]
        if stats["rel"] <= tolerance:
            row["status"] = status[row["layer"]] = "AMPLIFIED"


def _num(x) -> str:
    if x is None:
        return "-"
    if x == 0:
        return "0"
    return f"{x:.3g}" if np.isfinite(x) else str(x)


def _shape(row) -> str:
    if row["shape"] is None:
        return "-"
    text = "(" + ", ".join(map(str, row["shape"])) + ")"
    if "onnx_shape" in row:
        text += " vs onnx (" + ", ".join(map(str, row["onnx_shape"])) + ")"
    return text


def print_traced(model):
    """Name the layers whose custom computation was traced (exported op by op)."""
    from ..metadata import traced_record

    traced = traced_record(model)
    if traced:
        print("traced custom computation: " + "; ".join(f"{name!r} ({what})" for name, what in traced.items()))


def table(rows) -> str:
    header = ("layer", "class", "output shape", "max abs error", "rel error", "status")
    cells = [(r["layer"], r["class"], _shape(r), _num(r["max_abs"]) if "onnx_shape" not in r else "shape",
              _num(r["rel"]) if "onnx_shape" not in r else "shape", r["status"]) for r in rows]
    widths = [max(len(str(c[i])) for c in [header] + cells) for i in range(len(header))]
    right = (3, 4)  # numbers
    return "\n".join("  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                               for i, (v, w) in enumerate(zip(c, widths))).rstrip() for c in [header] + cells)


def summary(rows, tolerance, inputs_of) -> str:
    compared = [r for r in rows if r["status"] != "fused"]
    fused = len(rows) - len(compared)
    note = f"; {fused} fused layer{'s' if fused != 1 else ''} not compared" if fused else ""
    differs = [r for r in rows if r["status"] == "DIFFERS"]
    amplified = [r for r in rows if r["status"] == "AMPLIFIED"]
    if not differs and amplified:
        worst = max(amplified, key=lambda r: r["rel"])
        return (f"OK: all {len(compared)} compared layers compute what the reference computes; "
                f"{len(amplified)} of them (AMPLIFIED) amplify their inputs' float32 rounding beyond {tolerance:g} "
                f"end to end, but match within it when fed the reference's own inputs (largest "
                f"{_num(worst['rel'])} at {worst['layer']!r}: {_num(worst['alone_rel'])} alone){note}")
    if not differs:
        worst = max(compared, key=lambda r: r["rel"], default=None)
        at = f" (largest relative error {_num(worst['rel'])} at {worst['layer']!r})" if worst and worst["rel"] else ""
        return f"OK: all {len(compared)} compared layers match within {tolerance:g}{at}{note}"
    first = differs[0]
    by_name = {r["layer"]: r for r in rows}
    if "onnx_shape" in first:
        what = f"output shape {_shape(first)}"
    else:
        what = f"relative error {_num(first['rel'])} > {tolerance:g}"
    cause = ""
    ins = [by_name[i] for i in inputs_of.get(first["layer"], []) if i in by_name]
    if first.get("reference_not_finite"):
        cause = (" (the reference itself is not finite there: NaN or infinity in the original's output, "
                 "e.g. from weights such as a negative variance)")
    elif "alone_rel" in first:
        cause = (f" (fed the reference's own inputs, it still differs by {_num(first['alone_rel'])}: the difference "
                 f"starts in this layer)")
    elif ins and all(r["status"] in ("OK", "AMPLIFIED") for r in ins):
        cause = " (its inputs match: the difference starts in this layer)"
    elif any(r["status"] == "fused" for r in ins):
        cause = f" (its input {next(r['layer'] for r in ins if r['status'] == 'fused')!r} was fused and not compared)"
    return (f"DIFFERS: first divergence at layer {first['layer']!r} ({first['class']}): {what}{cause}; "
            f"{len(differs)} of {len(compared)} compared layers differ{note}")
