from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import (
    BUNDLED_CORPUS,
    DEFAULT_MODEL,
    DEFAULT_RECIPE,
    FURNITURE,
    tiny_rows,
    with_furniture,
    write_jsonl,
)
from topictag.errors import DataError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
from topictag.model.writing import save_bundle
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


def test_the_no_topic_head_is_learned_and_gates_short_furniture(tmp_path):
    from topictag.data.corpus import read_corpus
    from topictag.model.bundle import load_bundle
    from topictag.model.inference import Model

    data = load_bundle(DEFAULT_MODEL)
    assert data.abstain is not None and 0.0 < data.abstain.threshold <= 1.0
    model = Model(data)
    furniture = [
        "Image caption, Protesters gathered outside parliament",
        "More on this story: sanctions",
        "Related topics: Syria",
        "Rights reserved",
    ]
    scores = model.score(furniture)
    assert scores.abstain is not None and scores.abstain.all()
    assert model.predict(furniture) == [[], [], [], []]
    # without the gate, the same paragraphs would get labels from one common word
    ungated = model.decide(scores.proba, known=scores.known_terms > 0)
    assert all(ungated), "each line is one the labels alone get wrong"
    story = [
        r.text for r in read_corpus([BUNDLED_CORPUS]) if r.split == "test" and len(r.labels) >= 2
    ][:50]
    assert sum(bool(labels) for labels in model.predict(story)) >= 45


def test_the_head_is_off_when_the_recipe_says_so(tiny_corpus, tmp_path):
    from dataclasses import replace

    from topictag.train.recipe import load_config

    config = load_config(DEFAULT_RECIPE)
    off = config.replace(decision=replace(config.decision, abstain=False))
    assert train_model([tiny_corpus], off).data.abstain is None


@pytest.mark.parametrize(
    "model",
    [
        {"nb_weights": True},
        {"average_with": "logistic"},
        {"nb_weights": True, "average_with": "logistic"},
    ],
)
def test_the_no_topic_head_is_one_more_model_with_nb_weights_and_averaging(tmp_path, model):
    from dataclasses import replace

    from topictag.model.inference import Model
    from topictag.train.bridge import pipeline_from_data
    from topictag.train.linear import fit_binary

    base = TrainConfig()
    config = base.replace(model=replace(base.model, **model))
    result = train_model([with_furniture(tmp_path / "f.jsonl")], config)
    head = result.data.abstain
    assert head is not None
    # the head is fitted as each label is, NB weights and averaging folded into its coefficients
    pipeline = result.pipeline
    rows = [r for r in tiny_rows() if r["split"] == "train"]
    X = pipeline.named_steps["features"].transform([r["text"] for r in rows] + FURNITURE)
    none = np.array([not r["labels"] for r in rows] + [1] * len(FURNITURE), dtype=np.int8)
    options = {"C": 1.0, "class_weight": None, "max_iter": 2000, "seed": config.seed}
    coef, intercept, _ = fit_binary(X, none, classifier="linear-svc", **options, **model)
    assert np.abs(head.coef - coef).max() < 1e-9 and abs(head.intercept - intercept) < 1e-9
    # the served model gates as the scikit-learn pipeline does, and survives the round trip
    probe = [*FURNITURE[:4], "Artillery fire hit the town.", "Oil prices rose again."]
    served = Model(result.data)
    classifier = pipeline.named_steps["classifier"]
    gated = classifier.no_topic_proba(pipeline.named_steps["features"].transform(probe))
    assert (served.score(probe).abstain == (gated >= head.threshold)).all()
    labels = result.data.labels
    expected = [[labels[j] for j in np.flatnonzero(row)] for row in pipeline.predict(probe)]
    assert [sorted(x) for x in served.predict(probe)] == expected
    rebuilt = pipeline_from_data(result.data)
    assert (rebuilt.predict(probe) == pipeline.predict(probe)).all()
    assert served.score(probe).abstain.tolist() == [True] * 4 + [False] * 2  # furniture only
