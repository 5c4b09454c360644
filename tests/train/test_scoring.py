"""The search's criterion: nothing is scored on rows it was fitted on."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import tiny_rows
from topictag.evaluate.metrics import compute_metrics, indicator_matrix
from topictag.train.features import view_vectorizer, views_from_config
from topictag.train.recipe import FeatureConfig, TrainConfig
from topictag.train.scoring import (
    cross_fitted_decisions,
    fold_of_rows,
    objective_parts,
    paired_standard_error,
    score_config,
)
from topictag.train.term_counts import FeatureCache, tfidf

LABELS = ["energy", "talks", "war"]


def _inputs():
    rows = tiny_rows()
    Y = indicator_matrix([r["labels"] for r in rows], LABELS)
    return [r["text"] for r in rows], Y, np.array([r["article_id"] for r in rows])


@settings(max_examples=25, deadline=None)
@given(
    fitted=st.lists(st.booleans(), min_size=18, max_size=18).filter(lambda m: sum(m) >= 3),
    min_df=st.integers(1, 2),
    max_df=st.sampled_from([1.0, 0.6]),
    sublinear=st.booleans(),
    char=st.sampled_from([None, (2, 4)]),
)
def test_fold_features_are_a_vectorizer_fitted_on_the_fold(fitted, min_df, max_df, sublinear, char):
    texts, _, _ = _inputs()
    mask = np.array(fitted)
    config = FeatureConfig(
        min_df=min_df, max_df=max_df, sublinear_tf=sublinear, char_ngram_range=char
    )
    blocks, _ = FeatureCache(texts).counts(config)
    for view, counts in blocks:
        try:
            reference = view_vectorizer(view, config).fit(
                [t for t, m in zip(texts, mask, strict=True) if m]
            )
        except ValueError:  # no terms left: ours says so too
            with pytest.raises(ValueError, match="no terms remain"):
                tfidf(counts, mask, view, config)
            continue
        ours = tfidf(counts, mask, view, config)
        # the cache's columns are every text's terms, alphabetical: the fold's are a subset
        kept = sorted(reference.vocabulary_)
        everything = sorted(view_vectorizer(view, FeatureConfig()).fit(texts).vocabulary_)
        columns = [everything.index(term) for term in kept]
        expected = reference.transform(texts).toarray()
        assert np.abs(ours.toarray()[:, columns] - expected).max() < 1e-12
        others = np.setdiff1d(np.arange(ours.shape[1]), columns)
        assert ours[:, others].nnz == 0  # a term the fold never saw weighs nothing


def test_min_df_counts_only_the_rows_fitted_on():
    texts = ["alpha beta", "alpha gamma", "beta delta", "gamma delta"]
    config = FeatureConfig(min_df=2)
    ((view, counts),), _ = FeatureCache(texts).counts(config)
    fitted = np.array([True, True, False, False])  # alpha twice; beta and gamma once each
    matrix = tfidf(counts, fitted, view, config).toarray()
    vocabulary = ["alpha", "beta", "delta", "gamma"]
    assert [vocabulary[j] for j in np.flatnonzero(matrix.any(axis=0))] == ["alpha"]
    assert matrix[2].sum() == 0  # "beta delta": no term of the fold's vocabulary


def test_a_folds_decisions_never_depend_on_its_own_labels():
    rng = np.random.default_rng(0)
    Y = (rng.random((60, 3)) < 0.3).astype(np.int8)
    oof = rng.normal(size=(60, 3)) + 2.0 * Y
    folds = np.arange(60) % 3
    known = np.ones(60, dtype=bool)
    config = TrainConfig()
    options = {"single_label": False, "at_least_one": False, "known": known}
    before = cross_fitted_decisions(oof, Y, folds, config, **options)
    flipped = Y.copy()
    flipped[folds == 1] = 1 - flipped[folds == 1]  # change fold 1's labels only
    after = cross_fitted_decisions(oof, flipped, folds, config, **options)
    assert (after[folds == 1] == before[folds == 1]).all()
    assert (after[folds != 1] != before[folds != 1]).any()  # the others' calibration moved


def test_the_no_topic_head_gates_each_fold_with_what_the_other_folds_learned():
    rng = np.random.default_rng(3)
    Y = (rng.random((90, 3)) < 0.3).astype(np.int8)
    none = Y.sum(axis=1) == 0
    oof = rng.normal(size=(90, 3)) + 2.0 * Y + 1.5 * none[:, None]  # no-topic rows look topical
    no_topic = rng.normal(size=90) + 3.0 * none  # and the head sees them
    folds = np.arange(90) % 3
    options = {"single_label": False, "at_least_one": False, "known": np.ones(90, dtype=bool)}
    plain = cross_fitted_decisions(oof, Y, folds, TrainConfig(), **options)
    gated = cross_fitted_decisions(oof, Y, folds, TrainConfig(), no_topic=no_topic, **options)
    assert (gated <= plain).all()  # the head only takes labels away
    assert gated[none].sum() < plain[none].sum()
    ones = np.ones((1, 90))
    assert objective_parts(gated, Y, ones)[0] > objective_parts(plain, Y, ones)[0]  # micro-F1
    flipped = Y.copy()
    flipped[folds == 1] = 1 - flipped[folds == 1]  # fold 1's labels choose nothing for fold 1
    again = cross_fitted_decisions(oof, flipped, folds, TrainConfig(), no_topic=no_topic, **options)
    assert (again[folds == 1] == gated[folds == 1]).all()


def test_the_criterion_learns_the_head_as_the_final_model_does():
    rows = [r for r in tiny_rows() if r["split"] == "train"]
    words = ["oil", "talks", "troops", "gas", "envoys", "fighting"]
    rows += [  # furniture with topical words: the labels alone give it labels
        {"text": f"Related topics: {words[i % 6]}, {words[(i + 1) % 6]}", "labels": [],
         "article_id": f"f{i}"}
        for i in range(12)
    ]  # fmt: skip
    Y = indicator_matrix([r["labels"] for r in rows], LABELS)
    texts, groups = [r["text"] for r in rows], [r["article_id"] for r in rows]
    options = {"mode": "multi-label", "at_least_one": False}
    on = score_config(TrainConfig(), texts, Y, groups, **options).predicted.toarray()
    off_config = TrainConfig().replace(decision=replace(TrainConfig().decision, abstain=False))
    off = score_config(off_config, texts, Y, groups, **options).predicted.toarray()
    assert (on <= off).all() and on.sum() < off.sum()  # the head gated some rows
    none = Y.sum(axis=1) == 0
    assert on[none].sum() < off[none].sum()
    # with at_least_one (no empty rows) the final model learns no head: neither does the search
    forced = score_config(TrainConfig(), texts, Y, groups, mode="multi-label", at_least_one=True)
    unforced = score_config(off_config, texts, Y, groups, mode="multi-label", at_least_one=True)
    assert (forced.predicted != unforced.predicted).nnz == 0


def test_a_trial_that_changes_only_the_thresholds_refits_nothing():
    texts, Y, groups = _inputs()
    cache = FeatureCache(texts)
    options = {"mode": "multi-label", "at_least_one": False, "cache": cache}
    first = score_config(TrainConfig(), texts, Y, groups, **options)
    shrunk = TrainConfig().replace(
        decision=replace(TrainConfig().decision, threshold_shrinkage=5.0)
    )
    again = score_config(shrunk, texts, Y, groups, **options)
    fresh = score_config(shrunk, texts, Y, groups, mode="multi-label", at_least_one=False)
    assert first.reused_fit_seconds is None and fresh.reused_fit_seconds is None
    assert again.reused_fit_seconds is not None and again.reused_fit_seconds >= 0
    assert (again.predicted != fresh.predicted).nnz == 0  # the same as fitting again
    assert again.objective == fresh.objective and again.entries == fresh.entries
    # anything the fits depend on is fitted again
    other = TrainConfig().replace(model=replace(TrainConfig().model, C=0.25))
    assert score_config(other, texts, Y, groups, **options).reused_fit_seconds is None


def test_a_fold_is_featurized_and_scored_by_the_other_folds_only():
    texts, Y, groups = _inputs()
    config = TrainConfig(seed=2)
    folds = fold_of_rows(groups, config.decision.cv_folds, config.seed)
    # fold 0 gets words no other fold has: to a model fitted elsewhere, they are unknown
    strange = [f"zq{i}x qz{i}y" if folds[i] == 0 else t for i, t in enumerate(texts)]
    score = score_config(config, strange, Y, groups, mode="multi-label", at_least_one=True)
    predicted = score.predicted.toarray()
    assert not predicted[folds == 0].any()  # no known term: no label, even with at_least_one
    assert predicted[folds != 0].any(axis=1).all()
    metrics = compute_metrics(
        [[LABELS[j] for j in np.flatnonzero(row)] for row in Y], predicted, LABELS,
        mode="multi-label",
    )  # fmt: skip
    assert score.micro_f1 == pytest.approx(metrics["micro"]["f1"])
    assert score.objective == pytest.approx((metrics["micro"]["f1"] + metrics["macro"]["f1"]) / 2)
    assert 0 < score.entries_per_row < 20


def test_objective_parts_are_compute_metrics_scores():
    rng = np.random.default_rng(1)
    Y = (rng.random((40, 4)) < 0.3).astype(np.int8)
    Y[:, 3] = 0  # a label without support is left out of macro-F1
    predicted = np.where(rng.random((40, 4)) < 0.2, 1 - Y, Y).astype(np.int8)
    micro, macro, accuracy = objective_parts(predicted, Y, np.ones((1, 40)))
    gold = [[str(j) for j in np.flatnonzero(row)] for row in Y]
    metrics = compute_metrics(gold, predicted, ["0", "1", "2", "3"], mode="multi-label")
    assert micro[0] == pytest.approx(metrics["micro"]["f1"])
    assert macro[0] == pytest.approx(metrics["macro"]["f1"])
    assert accuracy[0] == pytest.approx(metrics["subset_accuracy"])
    doubled = objective_parts(predicted, Y, np.full((1, 40), 2.0))
    assert doubled[0][0] == pytest.approx(micro[0])  # weights count rows, not scale scores


def test_single_label_objective_is_accuracy():
    texts, Y, groups = _inputs()
    single = np.zeros_like(Y)
    single[np.arange(len(Y)), Y.argmax(axis=1)] = 1
    score = score_config(TrainConfig(), texts, single, groups, mode="single-label",
                         at_least_one=True)  # fmt: skip
    assert score.objective == score.accuracy
    assert score.predicted.sum(axis=1).max() <= 1


def test_the_paired_standard_error_sees_only_where_two_recipes_differ():
    from scipy import sparse

    from topictag.train.scoring import Score

    Y = np.eye(3, dtype=np.int8)[np.arange(60) % 3]
    groups = np.arange(60) // 2  # two rows per group

    def scored(wrong: list[int]) -> Score:
        predicted = Y.copy()
        predicted[wrong] = np.roll(predicted[wrong], 1, axis=1)
        return Score(0, 0, 0, 0, 0, 0, 0, sparse.csr_matrix(predicted))

    first, second, third = scored([0, 1, 2, 3]), scored([0, 1, 2, 3, 4]), scored(list(range(20)))
    options = {"mode": "single-label", "seed": 0}
    assert paired_standard_error(first, first, Y, groups, **options) == 0.0
    close = paired_standard_error(first, second, Y, groups, **options)
    far = paired_standard_error(first, third, Y, groups, **options)
    assert 0.0 < close < far
    # one row of 60 differs: the standard error of a mean of 59 zeros and a one
    assert close == pytest.approx(np.sqrt(1 / 60) / np.sqrt(60), rel=0.5)


def test_the_cache_builds_each_view_once_and_learns_its_cost():
    texts, _, _ = _inputs()
    cache = FeatureCache(texts)
    assert cache.estimate(FeatureConfig()) == 0.0  # nothing measured yet
    _, spent = cache.counts(FeatureConfig())
    _, again = cache.counts(FeatureConfig(min_df=2, sublinear_tf=False))  # the same counts
    assert spent > 0.0 and again == 0.0
    with_chars = FeatureConfig(char_ngram_range=(2, 4))
    assert cache.estimate(with_chars) > 0.0  # guessed from the word view's rate
    assert cache.cost(FeatureConfig()) == pytest.approx(spent)
    cache.max_entries = 1  # past the limit, the oldest view goes
    blocks, _ = cache.counts(with_chars)
    assert [view.analyzer for view, _ in blocks] == ["word", "char_wb"]
    assert len(cache._views) == 1


def test_views_of_a_recipe_line_up_with_the_pipeline():
    config = FeatureConfig(ngram_range=(1, 2), char_ngram_range=(2, 3))
    assert [v.analyzer for v in views_from_config(config)] == ["word", "char_wb"]
