import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

TOLERANCE = 1e-5  # max |onnxruntime - Theano| relative to max(1, max |Theano|), float32


def _test_opsets():
    """The ONNX opsets the parity suite exports at: both ends of the supported range and the default,
    or only the one in LASAGNE2ONNX_TEST_OPSET (as tf2onnx's TF2ONNX_TEST_OPSET)."""
    from exporter.onnx_graph import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET

    chosen = os.environ.get("LASAGNE2ONNX_TEST_OPSET")
    return (int(chosen),) if chosen else tuple(sorted({MIN_OPSET, DEFAULT_OPSET, MAX_OPSET}))


TEST_OPSETS = _test_opsets()


@pytest.fixture(scope="session")
def references():
    """``references(case_name) -> tests.reference.Reference``; computes all cases once."""
    from tests.cases import load_all
    from tests.reference import ensure_references, load_reference

    ensure_references(sorted(load_all()))
    return load_reference
