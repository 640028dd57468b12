import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

TOLERANCE = 1e-5  # max |onnxruntime - Theano| relative to max(1, max |Theano|), float32


@pytest.fixture(scope="session")
def references():
    """``references(case_name) -> tests.reference.Reference``; computes all cases once."""
    from tests.cases import load_all
    from tests.reference import ensure_references, load_reference

    ensure_references(sorted(load_all()))
    return load_reference
