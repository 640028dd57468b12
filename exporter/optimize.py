"""``export --optimize``: run the ONNX optimisation passes, and by default keep them only where the
optimised model still matches the plain export within the parity tolerance.

Policy (``mode``):
  ``"off"``  — the plain export: one node group per Lasagne layer (what ``check`` and fine-tuning want).
  ``"on"``   — always keep the optimised graph.
  ``"auto"`` — optimise, then run both graphs in onnxruntime on the same seeded random inputs and keep
               the optimised one only if every output agrees within ``tolerance`` (relative to the
               output scale, as in the parity tests); otherwise keep the plain export and say why.

What was done is recorded in the model's metadata (:func:`exporter.metadata.optimization_record`) so
the importers can tell the user that, say, a BatchNormalization was folded into its convolution and is no longer a
trainable layer.
"""
from __future__ import annotations

import onnx

import passes

from . import metadata, model_io
from .accuracy import PARITY_TOLERANCE, error_stats
from .metadata import optimization_record  # noqa: F401  (read back what optimize() recorded)

MODES = ("auto", "on", "off")


def optimize(model: onnx.ModelProto, payloads: dict | None, mode: str = "auto", tolerance: float = PARITY_TOLERANCE,
             input_shapes: dict | None = None):
    """Returns ``(model, payloads, report)``; ``report`` is a dict (also stored in the metadata when
    the optimised graph is kept): ``kept``, ``fused_layers``, ``nodes_before``/``nodes_after``,
    ``max_rel`` (None unless verified) and ``reason``."""
    if mode not in MODES:
        raise ValueError(f"optimize mode must be one of {MODES}, got {mode!r}")
    report = {"kept": False, "fused_layers": [], "nodes_before": len(model.graph.node),
              "nodes_after": len(model.graph.node), "max_rel": None, "reason": "off"}
    if mode == "off":
        return model, payloads, report
    optimized, new_payloads = model, payloads
    for p in passes.OPTIMIZE_PASSES:
        optimized, new_payloads = p(optimized, new_payloads)
    before, after = metadata.layer_map(model), metadata.layer_map(optimized)
    report["fused_layers"] = [name for name, value in after.items() if value is None and before.get(name)]
    report["nodes_after"] = len(optimized.graph.node)
    if report["nodes_after"] == report["nodes_before"]:
        report["reason"] = "nothing to optimise"
        return model, payloads, report
    if mode == "auto":
        try:
            report["max_rel"] = _max_deviation(model, payloads, optimized, new_payloads, input_shapes)
        except ValueError as e:  # inputs of unknown size: cannot verify, so do not optimise
            report["reason"] = f"not verified ({e}); pass --optimize to force"
            return model, payloads, report
        if not report["max_rel"] <= tolerance:
            report["reason"] = (f"optimised graph deviates by {report['max_rel']:.3g} (> {tolerance:g}) from the "
                                f"plain export; kept the plain export")
            return model, payloads, report
        report["reason"] = f"verified: max relative deviation {report['max_rel']:.3g}"
    else:
        report["reason"] = "forced (--optimize)"
    report["kept"] = True
    metadata.set_optimization_record(optimized, {k: report[k] for k in ("fused_layers", "nodes_before",
                                                                       "nodes_after", "max_rel")})
    return optimized, new_payloads, report


def _max_deviation(plain, plain_payloads, optimized, optimized_payloads, input_shapes) -> float:
    """Run both graphs on the same random inputs.  The weights are not copied into the models: their
    placeholders become graph inputs (:func:`model_io.checkable`) fed with the payload arrays, which
    onnxruntime reads in place."""
    from .validate import make_session, random_inputs, run_session

    def session(m, p):
        weights = {t.name: p[t.name] for t in m.graph.initializer if model_io.is_placeholder(t)}
        return make_session(model_io.checkable(m)), weights

    a, a_weights = session(plain, plain_payloads)
    feeds = random_inputs(a, overrides=input_shapes, skip=a_weights)
    b, b_weights = session(optimized, optimized_payloads)
    names = [o.name for o in a.get_outputs()]
    if names != [o.name for o in b.get_outputs()]:
        raise AssertionError("optimisation changed the graph outputs")  # a bug, not bad input
    worst = 0.0
    for x, y in zip(run_session(a, names, {**feeds, **a_weights}), run_session(b, names, {**feeds, **b_weights})):
        worst = max(worst, error_stats(y, x)["rel"])
    return worst
