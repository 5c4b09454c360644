"""The search's criterion: a recipe's cross-validated score on training rows.

Nothing is scored on rows it was fitted on. Grouped K-fold gives out-of-fold decision scores;
then, for each fold, the calibration (Platt sigmoids) and the per-label thresholds (and, when the
recipe learns one, the no-topic head's sigmoid and threshold: :mod:`topictag.train.abstain`) are
fitted on the out-of-fold scores of the *other* folds and applied to this one, as the final model
applies them to new text. The objective follows the corpus's mode: accuracy for single-label data,
the mean of micro- and macro-F1 for multi-label data.

Feature matrices are cached by view (:class:`FeatureCache`): trials that share the word view,
or the character view, featurize the texts once. The vocabulary and idf of a view come from all
the training texts given (no labels are read), as in the final fit. The out-of-fold scores of the
last few recipes are kept too: a trial that changes only how scores become labels (threshold
shrinkage) refits nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from topictag.model.decision import (
    SINGLE_LABEL,
    abstaining,
    calibrated_probabilities,
    decide_labels,
    sigmoid,
)
from topictag.model.features import View
from topictag.train.abstain import calibrate_head, no_topic_column
from topictag.train.recipe import FeatureConfig, TrainConfig
from topictag.train.term_counts import FeatureCache, tfidf

MAX_CACHED_FITS = 8  # recipes whose out-of-fold scores are kept
RESAMPLES = 200  # bootstrap resamples of groups for the standard error of a difference


class TooSlow(Exception):
    """A trial's estimated cost exceeds the time left."""


@dataclass
class Score:
    """What one recipe scored on a set of training rows."""

    objective: float  # accuracy (single-label) or the mean of micro- and macro-F1
    micro_f1: float
    macro_f1: float
    accuracy: float  # subset accuracy
    entries: int  # non-zero feature entries of the rows scored: the fits' cost
    entries_per_row: float  # what classifying one paragraph costs, in feature entries
    featurize_seconds: float  # time spent building features not cached before
    predicted: Any = None  # sparse (rows, labels) 0/1: the cross-fitted predictions
    reused_fit_seconds: float | None = None  # fits reused from an earlier trial: what they took


def score_config(
    config: TrainConfig,
    texts: Sequence[str],
    Y: np.ndarray,
    groups: Sequence[str],
    *,
    mode: str,
    at_least_one: bool,
    n_jobs: int = 1,
    max_seconds: tuple[float, float] | None = None,
    rows: np.ndarray | None = None,
    cache: FeatureCache | None = None,
) -> Score:
    """Cross-validate a recipe on training rows (all of them, or ``rows``).

    Each fold's features, model, calibration and thresholds are fitted on the other folds.
    ``max_seconds`` is (seconds left, seconds per feature entry of the fits): a trial whose
    features would take longer to build, or whose fits would, raises :class:`TooSlow`.
    """
    cache = cache or FeatureCache(texts)
    Y, group_list = np.asarray(Y), np.asarray(groups)
    if rows is not None:
        Y, group_list = Y[rows], group_list[rows]
    folds = fold_of_rows(group_list, config.decision.cv_folds, config.seed)
    multi = mode != SINGLE_LABEL and not at_least_one
    head = no_topic_column(Y, enabled=config.decision.abstain and multi)
    key = _fit_key(config, rows, mode=mode, at_least_one=at_least_one)
    if key in cache.fits:
        cache.fits.move_to_end(key)
        oof, known, entries, served, fit_seconds = cache.fits[key]
        spent = 0.0
    else:
        if max_seconds is not None and cache.estimate(config.features) > max_seconds[0]:
            raise TooSlow
        blocks, spent = cache.counts(config.features)
        if rows is not None:
            blocks = [(view, counts[rows]) for view, counts in blocks]
        entries = sum(counts.nnz for _, counts in blocks)
        if max_seconds is not None and entries * max_seconds[1] > max_seconds[0] - spent:
            raise TooSlow
        started = time.perf_counter()
        oof, known = _out_of_fold(blocks, Y, head, folds, config, mode, at_least_one, n_jobs)
        served = _served_entries(blocks, config.features)
        cache.fits[key] = (oof, known, entries, served, time.perf_counter() - started)
        if len(cache.fits) > MAX_CACHED_FITS:
            cache.fits.popitem(last=False)
        fit_seconds = None
    n = Y.shape[1]
    predicted = cross_fitted_decisions(
        oof[:, :n], Y, folds, config, single_label=mode == SINGLE_LABEL, at_least_one=at_least_one,
        known=known, no_topic=None if head is None else oof[:, n],
    )  # fmt: skip
    micro, macro, accuracy = objective_parts(predicted, Y, np.ones((1, len(Y))))
    objective = accuracy[0] if mode == SINGLE_LABEL else (micro[0] + macro[0]) / 2.0
    return Score(
        objective=float(objective),
        micro_f1=float(micro[0]),
        macro_f1=float(macro[0]),
        accuracy=float(accuracy[0]),
        entries=entries,
        entries_per_row=served / max(len(Y), 1),
        featurize_seconds=spent,
        predicted=sparse.csr_matrix(predicted),
        reused_fit_seconds=fit_seconds,
    )


def _fit_key(config: TrainConfig, rows: np.ndarray | None, *, mode: str, at_least_one: bool) -> str:
    """What a recipe's out-of-fold scores depend on: everything but the decision rule."""
    plain = config.to_dict()
    decision = {k: plain["decision"][k] for k in ("cv_folds", "abstain")}
    where = None if rows is None else hash(np.asarray(rows).tobytes())
    return repr((plain["features"], plain["model"], decision, config.seed, mode, at_least_one,
                 where))  # fmt: skip


def _out_of_fold(
    blocks: list[tuple[View, Any]],
    Y: np.ndarray,
    head: np.ndarray | None,
    folds: np.ndarray,
    config: TrainConfig,
    mode: str,
    at_least_one: bool,
    n_jobs: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold decision scores (the labels', then the no-topic head's) and which rows have
    a known feature; each fold's features and models fitted on the other folds."""
    from topictag.train.bridge import build_pipeline

    matrices = [_features(blocks, folds != k, config.features) for k in range(folds.max() + 1)]
    # the training rows of every fold, stacked: one call fits every (fold, label) at once
    stacked = sparse.vstack([X[folds != k] for k, X in enumerate(matrices)], format="csr")
    offsets = np.cumsum([0] + [int(np.sum(folds != k)) for k in range(len(matrices))])
    row_sets = [np.arange(offsets[k], offsets[k + 1]) for k in range(len(matrices))]
    # the no-topic head, as the final model learns it: one more column fitted with the labels
    targets = Y if head is None else np.column_stack([Y, head])
    labels = np.vstack([targets[folds != k] for k in range(len(matrices))])
    classifier = build_pipeline(config, mode=mode, at_least_one=at_least_one, n_jobs=n_jobs)[-1]
    fits = classifier.fit_row_sets(stacked, labels, row_sets)
    oof = np.zeros(targets.shape, dtype=np.float64)
    known = np.zeros(len(Y), dtype=bool)
    for k, (X, (coef, intercept)) in enumerate(zip(matrices, fits, strict=True)):
        held = folds == k
        oof[held] = X[held] @ coef.T + intercept
        known[held] = X[held].getnnz(axis=1) > 0
    return oof, known


def _features(blocks: list[tuple[View, Any]], fitted: np.ndarray, features: FeatureConfig) -> Any:
    parts = [tfidf(counts, fitted, view, features) for view, counts in blocks]
    return parts[0] if len(parts) == 1 else sparse.hstack(parts, format="csr")


def _served_entries(blocks: list[tuple[View, Any]], features: FeatureConfig) -> int:
    """Feature entries of the rows under the vocabulary fitted on all of them."""
    total = 0
    for _, counts in blocks:
        df = np.bincount(counts.indices[: counts.indptr[-1]], minlength=counts.shape[1])
        kept = (df >= features.min_df) & (df <= features.max_df * counts.shape[0])
        total += int(df[kept].sum())
    return total


def fold_of_rows(groups: np.ndarray, cv_folds: int, seed: int) -> np.ndarray:
    """Return each row's fold, as :meth:`TopicClassifier.cross_fit` assigns them."""
    from sklearn.model_selection import GroupKFold

    folds = min(cv_folds, len(np.unique(groups)))
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold = np.empty(len(groups), dtype=np.int64)
    for k, (_, held_out) in enumerate(splitter.split(np.zeros(len(groups)), groups=groups)):
        fold[held_out] = k
    return fold


def cross_fitted_decisions(
    oof: np.ndarray,
    Y: np.ndarray,
    folds: np.ndarray,
    config: TrainConfig,
    *,
    single_label: bool,
    at_least_one: bool,
    known: np.ndarray,
    no_topic: np.ndarray | None = None,
) -> np.ndarray:
    """Decide each fold's labels with a calibration and thresholds fitted on the other folds.

    ``no_topic`` holds the no-topic head's out-of-fold scores, when the recipe learns one: each
    fold abstains as the final model does, with the head's calibration and threshold fitted on
    the other folds (:func:`topictag.train.abstain.calibrate_head`).
    """
    from topictag.train.calibration import calibrate

    decision = config.decision
    predicted = np.zeros(Y.shape, dtype=np.int8)
    for k in np.unique(folds):
        scored, fitted = folds == k, folds != k
        calibration, thresholds = calibrate(
            oof[fitted],
            Y[fitted],
            min_positives=decision.min_positives,
            default=decision.default_threshold,
            shrinkage=decision.threshold_shrinkage,
        )
        abstain = None
        if no_topic is not None:
            probs = calibrated_probabilities(oof[fitted], calibration, single_label=False)
            head, cut = calibrate_head(no_topic[fitted], Y[fitted], probs, thresholds)
            abstain = abstaining(sigmoid(no_topic[scored], head[0], head[1]), cut)
        predicted[scored] = decide_labels(
            calibrated_probabilities(oof[scored], calibration, single_label=single_label),
            thresholds,
            single_label=single_label,
            at_least_one=at_least_one,
            known=known[scored],
            abstain=abstain,
        )
    return predicted


def objective_parts(
    predicted: Any, Y: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return micro-F1, macro-F1 and subset accuracy under each row of ``weights``.

    ``weights`` is (resamples, rows): how often each row counts (ones: the plain scores, as
    :func:`topictag.evaluate.metrics.compute_metrics` computes them; macro-F1 averages the
    labels with positives).
    """
    P = sparse.csr_matrix(predicted, dtype=np.float64)
    G = sparse.csr_matrix(Y, dtype=np.float64)
    hit = P.multiply(G)
    tp, fp, fn = weights @ hit, weights @ (P - hit), weights @ (G - hit)
    tp, fp, fn = (np.asarray(a) for a in (tp, fp, fn))
    micro = _f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    support = tp + fn
    per_label = _f1(tp, fp, fn)
    counted = support > 0
    macro = np.where(counted, per_label, 0.0).sum(axis=1) / np.maximum(counted.sum(axis=1), 1)
    exact = np.asarray(abs(P - G).sum(axis=1)).ravel() == 0
    accuracy = (weights @ exact) / np.maximum(weights.sum(axis=1), 1e-12)
    return micro, macro, accuracy


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def paired_standard_error(
    first: Score, second: Score, Y: np.ndarray, groups: Any, *, mode: str, seed: int
) -> float:
    """The bootstrap standard error of ``first.objective - second.objective``.

    Both were scored on the same rows; groups (articles) are resampled with replacement, and
    the same resamples score both, so what the two share (hard rows, easy rows) cancels out.
    """
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    rng = np.random.default_rng(seed)
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    differences = []
    for start in range(0, RESAMPLES, 50):  # 50 resamples at a time bound the memory
        size = min(50, RESAMPLES - start)
        counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=size)
        weights = counts[:, codes].astype(np.float64)
        values = []
        for score in (first, second):
            micro, macro, accuracy = objective_parts(score.predicted, Y, weights)
            values.append(accuracy if mode == SINGLE_LABEL else (micro + macro) / 2.0)
        differences.append(values[0] - values[1])
    return float(np.std(np.concatenate(differences), ddof=1))
