"""Fixtures for the robustness tests: tiny exported versions of the serving tests' TF Text model."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from serving import sample_model as serving_test_model
from robustness_support import MODEL  # noqa: E402


@pytest.fixture(scope="session")
def exported_versions(tmp_path_factory):
    """Two exported versions of the classifier (different seeds, so their answers differ)."""
    root = tmp_path_factory.mktemp("robustness-exports")
    return {v: serving_test_model.export_test_model(str(root / f"classifier-{v}"), seed=v, model_name=MODEL,
                                                    version=v) for v in (1, 2)}

