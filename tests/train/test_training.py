from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL, DEFAULT_RECIPE, tiny_rows, write_jsonl
from topictag.errors import DataError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle, save_bundle
from topictag.train.recipe import TrainConfig, load_config
from topictag.train.training import train_model


def test_training_twice_gives_byte_identical_bundles(tiny_corpus, tmp_path):
    config = TrainConfig().replace(seed=3)
    for name, jobs in (("one", 1), ("two", 2)):
        save_bundle(train_model([tiny_corpus], config, n_jobs=jobs).data, tmp_path / name)
    for file in (WEIGHTS, MANIFEST):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes()


def test_retraining_reproduces_the_committed_default_model(trained):
    committed = load_bundle(DEFAULT_MODEL)
    fresh = trained.data
    assert fresh.labels == committed.labels
    assert fresh.mode == committed.mode
    assert fresh.vocabularies == committed.vocabularies
    assert fresh.at_least_one == committed.at_least_one
    for name in ("coef", "intercept", "calibration", "thresholds"):
        assert np.abs(getattr(fresh, name) - getattr(committed, name)).max() < 1e-6, name
    for fresh_idf, committed_idf in zip(fresh.idfs, committed.idfs, strict=True):
        assert np.abs(fresh_idf - committed_idf).max() < 1e-6
    # the same recipe: keys added since the model was saved read as their defaults
    assert TrainConfig.from_dict(committed.manifest["config"]) == load_config(DEFAULT_RECIPE)
    assert (
        committed.manifest["training_data"]["sha256"] == fresh.manifest["training_data"]["sha256"]
    )


def test_mode_single_label_when_every_row_has_one_label(tmp_path):
    rows = [r for r in tiny_rows() if len(r["labels"]) == 1]
    result = train_model([write_jsonl(tmp_path / "s.jsonl", rows)], TrainConfig())
    assert result.data.mode == "single-label"
    assert result.test_metrics["accuracy"] is not None


def test_at_least_one_is_on_only_without_empty_rows(tiny_corpus, tmp_path):
    assert train_model([tiny_corpus], TrainConfig()).data.at_least_one is False
    rows = [r for r in tiny_rows() if r["labels"]]
    result = train_model([write_jsonl(tmp_path / "full.jsonl", rows)], TrainConfig())
    assert result.data.at_least_one is True


def test_label_restriction_and_cv(tiny_corpus):
    result = train_model([tiny_corpus], TrainConfig(), labels=["war", "energy"], cv=2)
    assert result.data.labels == ["energy", "war"]
    assert result.test_metrics["unknown_gold_labels"] == {}
    assert result.cv["folds"] == 2
    assert 0.0 <= result.cv["micro_f1"]["mean"] <= 1.0
    assert result.data.manifest["metrics"]["cv"] == result.cv


def test_without_splits_every_row_trains(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "split"} for r in tiny_rows()]
    result = train_model([write_jsonl(tmp_path / "n.jsonl", rows)], TrainConfig())
    assert result.test_metrics is None
    assert result.data.manifest["training_data"]["train_rows"] == len(rows)


def test_unlabeled_training_rows_are_refused(tmp_path):
    rows = tiny_rows()
    del rows[2]["labels"]
    with pytest.raises(DataError, match="paragraph 'p3' has no 'labels' field"):
        train_model([write_jsonl(tmp_path / "u.jsonl", rows)], TrainConfig())


def test_fewer_than_two_labels_is_refused(tmp_path):
    rows = [dict(r, labels=["war"]) for r in tiny_rows()]
    with pytest.raises(DataError, match="1 distinct label"):
        train_model([write_jsonl(tmp_path / "one.jsonl", rows)], TrainConfig())


def test_default_model_scores_are_recorded_in_manifest_and_card():
    manifest = json.loads((DEFAULT_MODEL / MANIFEST).read_text())
    test = manifest["metrics"]["test"]
    assert test["n_paragraphs"] == sum(
        1 for line in BUNDLED_CORPUS.read_text().splitlines() if '"split": "test"' in line
    )
    card = (DEFAULT_MODEL / "MODEL_CARD.md").read_text()
    assert f"{test['micro']['f1']:.3f}" in card
