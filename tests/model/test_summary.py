from __future__ import annotations

import json

from tests.conftest import DEFAULT_MODEL
from topictag.model.summary import describe_model


def test_summary_is_read_from_the_manifest():
    manifest = json.loads((DEFAULT_MODEL / "model.json").read_text())
    summary = describe_model(DEFAULT_MODEL)
    assert summary.path == DEFAULT_MODEL
    assert summary.mode == manifest["mode"]
    assert list(summary.thresholds) == manifest["labels"]
    assert summary.n_features == manifest["weights"]["n_features"]
    assert summary.training_files == ["paragraphs.jsonl"]
    assert summary.test is not None
    assert summary.test["micro_f1"] == manifest["metrics"]["test"]["micro"]["f1"]
    assert summary.versions["topictag"] == manifest["topictag_version"]
    assert summary.manifest == manifest
