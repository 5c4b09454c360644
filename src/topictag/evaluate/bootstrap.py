"""Bootstrap confidence intervals and paired comparisons of evaluation metrics.

Resampling units are the groups of cross-validation (:func:`topictag.data.corpus.group_keys`):
a paragraph's article when it has an ``article_id`` (paragraphs of one article are not
independent), otherwise its normalized text (exact duplicates are one unit). Every statistic is
computed from per-unit counts, so 1,000 resamples cost a few matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RESAMPLES = 1000
SEED = 0
STATISTICS = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")


@dataclass(frozen=True)
class Units:
    """Per-unit counts of one model's predictions: the input of every bootstrap statistic."""

    tp: np.ndarray  # (units, labels)
    fp: np.ndarray
    fn: np.ndarray
    exact: np.ndarray  # (units,) paragraphs whose label set is exactly right
    errors: np.ndarray  # (units,) wrong label decisions (Hamming numerator)
    size: np.ndarray  # (units,) paragraphs


def unit_ids(group_keys: Sequence[str]) -> np.ndarray:
    """Map paragraphs to resampling units: one unit per group key.

    Use :func:`topictag.data.corpus.group_keys` (the article when known, else the normalized
    text), the same groups as cross-validation, so that a row without ``article_id`` does not
    undo the grouping of the others.
    """
    if not len(group_keys):
        return np.zeros(0, dtype=np.intp)
    return np.unique(np.asarray(group_keys, dtype=str), return_inverse=True)[1].astype(np.intp)


def unit_counts(gold: np.ndarray, predicted: np.ndarray, units: np.ndarray) -> Units:
    """Aggregate per-paragraph outcomes (binary matrices) into per-unit counts."""
    gold, predicted = gold.astype(bool), predicted.astype(bool)
    count = int(units.max()) + 1 if len(units) else 0

    def by_unit(values: np.ndarray) -> np.ndarray:
        out = np.zeros((count, *values.shape[1:]))
        np.add.at(out, units, values)
        return out

    return Units(
        tp=by_unit((gold & predicted).astype(float)),
        fp=by_unit((~gold & predicted).astype(float)),
        fn=by_unit((gold & ~predicted).astype(float)),
        exact=by_unit(np.all(gold == predicted, axis=1).astype(float)),
        errors=by_unit(np.sum(gold != predicted, axis=1).astype(float)),
        size=by_unit(np.ones(len(units))),
    )


def resample_weights(units: int, *, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Return (resamples, units) counts: how often each unit is drawn in each resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(units, np.full(units, 1.0 / units), size=resamples).astype(float)


def statistics(counts: Units, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Compute every statistic for each row of ``weights`` (one row: the full sample)."""
    tp, fp, fn = weights @ counts.tp, weights @ counts.fp, weights @ counts.fn
    labels = counts.tp.shape[1]
    micro = _f1(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))
    supported = (tp + fn) > 0
    per_label = _f1(tp, fp, fn)
    macro = np.where(
        supported.any(axis=1),
        np.sum(per_label * supported, axis=1) / np.maximum(supported.sum(axis=1), 1),
        0.0,
    )
    size = weights @ counts.size
    return {
        "micro_f1": micro,
        "macro_f1": macro,
        "subset_accuracy": (weights @ counts.exact) / np.maximum(size, 1),
        "hamming_loss": (weights @ counts.errors) / np.maximum(size * labels, 1),
    }


def confidence_intervals(counts: Units, *, level: float = 0.95) -> dict[str, dict[str, float]]:
    """Return each statistic's value and percentile bootstrap interval."""
    full = statistics(counts, np.ones((1, len(counts.size))))
    resampled = statistics(counts, resample_weights(len(counts.size)))
    tail = (1.0 - level) / 2.0 * 100.0
    return {
        name: {
            "value": float(full[name][0]),
            "low": float(np.percentile(resampled[name], tail)),
            "high": float(np.percentile(resampled[name], 100.0 - tail)),
        }
        for name in STATISTICS
    }


def paired_comparison(a: Units, b: Units, *, level: float = 0.95) -> dict[str, dict[str, float]]:
    """Compare two models on the same resamples: difference (a - b), interval and p-value.

    The p-value is two-sided: twice the share of resamples on the far side of zero.
    """
    weights = resample_weights(len(a.size))
    full = np.ones((1, len(a.size)))
    first, second = statistics(a, weights), statistics(b, weights)
    base_a, base_b = statistics(a, full), statistics(b, full)
    tail = (1.0 - level) / 2.0 * 100.0
    out = {}
    for name in STATISTICS:
        diff = first[name] - second[name]
        observed = float(base_a[name][0] - base_b[name][0])
        p = 2.0 * min(np.mean(diff <= 0.0), np.mean(diff >= 0.0))
        out[name] = {
            "a": float(base_a[name][0]),
            "b": float(base_b[name][0]),
            "difference": observed,
            "low": float(np.percentile(diff, tail)),
            "high": float(np.percentile(diff, 100.0 - tail)),
            "p_value": float(min(p, 1.0)),
        }
    return out


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict[str, Any]:
    """McNemar's exact test on paired single-label outcomes (binomial on the discordant pairs).

    Two-sided, from :func:`scipy.stats.binomtest`, which stays finite for any number of pairs.
    """
    from scipy.stats import binomtest

    only_a = int(np.sum(a_correct & ~b_correct))
    only_b = int(np.sum(~a_correct & b_correct))
    n = only_a + only_b
    if n == 0:
        return {"only_a_correct": 0, "only_b_correct": 0, "p_value": 1.0}
    p_value = float(binomtest(only_a, n, 0.5, alternative="two-sided").pvalue)
    return {"only_a_correct": only_a, "only_b_correct": only_b, "p_value": min(1.0, p_value)}


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2.0 * tp + fp + fn
    return np.divide(2.0 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
