"""The decision rule shared by training and serving: calibration, thresholds, label choice.

numpy only, so that the serving path never imports scikit-learn or scipy.
"""

from __future__ import annotations

import numpy as np

MULTI_LABEL = "multi-label"
SINGLE_LABEL = "single-label"


def sigmoid(scores: np.ndarray, a: float | np.ndarray, b: float | np.ndarray) -> np.ndarray:
    """Platt's sigmoid: ``1 / (1 + exp(a * score + b))``, computed without overflow."""
    return np.exp(-np.logaddexp(0.0, a * np.asarray(scores, dtype=np.float64) + b))


def calibrated_probabilities(
    scores: np.ndarray, calibration: np.ndarray, *, single_label: bool
) -> np.ndarray:
    """Map raw scores to probabilities with per-label sigmoid parameters ``(a, b)``."""
    probs = sigmoid(scores, calibration[:, 0], calibration[:, 1])
    if single_label:
        totals = probs.sum(axis=1, keepdims=True)
        probs = np.divide(
            probs, totals, out=np.full_like(probs, 1.0 / probs.shape[1]), where=totals > 0
        )
    return probs


def decide_labels(
    probs: np.ndarray,
    thresholds: np.ndarray,
    *,
    single_label: bool,
    at_least_one: bool,
    known: np.ndarray | None = None,
    abstain: np.ndarray | None = None,
) -> np.ndarray:
    """Turn probabilities into a binary indicator matrix (the decision rule of every path).

    Multi-label: every label at or above its threshold, or the most probable one when none is
    and ``at_least_one`` is set. Single-label: the most probable label. Rows where ``known`` is
    false (the paragraph has no n-gram the model knows) get no label: there is nothing to go on.
    Rows where ``abstain`` is true (the no-topic head's probability reached its threshold; see
    :func:`abstaining`) get no label either.
    """
    n = probs.shape[0]
    if single_label:
        out = np.zeros(probs.shape, dtype=np.int8)
        if probs.shape[1]:
            out[np.arange(n), probs.argmax(axis=1)] = 1
    else:
        out = (probs >= thresholds).astype(np.int8)
        if at_least_one and probs.shape[1]:
            empty = ~out.any(axis=1)
            out[np.flatnonzero(empty), probs[empty].argmax(axis=1)] = 1
    if known is not None:
        out[~np.asarray(known, dtype=bool)] = 0
    if abstain is not None:
        out[np.asarray(abstain, dtype=bool)] = 0
    return out


def abstaining(no_topic: np.ndarray | None, threshold: float | None) -> np.ndarray | None:
    """Return the rows a model abstains on: no-topic probability at or above the threshold."""
    if no_topic is None or threshold is None:
        return None
    return np.asarray(no_topic) >= threshold


def choose_abstain_threshold(
    probs: np.ndarray, thresholds: np.ndarray, no_topic: np.ndarray, Y: np.ndarray
) -> float:
    """Choose the no-topic threshold that maximizes micro-F1 of the gated decisions.

    ``probs`` (n, n_labels) and ``no_topic`` (n,) are out-of-fold probabilities of the labels
    and of the no-topic head, ``Y`` the gold indicator matrix. A paragraph abstains (gets no
    label) when its no-topic probability reaches the threshold. Candidates are the midpoints
    between distinct no-topic probabilities; a tie keeps the highest threshold (abstaining
    least), and 1.0 (never abstain) wins unless gating helps.
    """
    chosen = probs >= thresholds
    hits = (chosen & (Y == 1)).sum(axis=1)  # true positives each row contributes
    made = chosen.sum(axis=1)
    gold = int(Y.sum())
    order = np.argsort(-no_topic, kind="stable")  # abstaining on a prefix of this order
    lost_hits = np.concatenate([[0], np.cumsum(hits[order])])
    lost_made = np.concatenate([[0], np.cumsum(made[order])])
    tp = hits.sum() - lost_hits
    f1 = 2.0 * tp / np.maximum(made.sum() - lost_made + gold, 1)
    values = no_topic[order]
    cut = np.append(True, values[1:] < values[:-1])  # abstain on the first k only between ties
    cut = np.append(cut, True)
    f1 = np.where(cut, f1, -1.0)
    best = int(np.flatnonzero(f1 >= f1.max() - 1e-12)[0])  # fewest abstentions among the best
    if best == 0:
        return 1.0 + 1e-9 if values.size and values.max() >= 1.0 else 1.0
    upper = values[best - 1]
    lower = values[best] if best < len(values) else 0.0
    return float((upper + lower) / 2.0)


def choose_threshold(
    probs: np.ndarray, y: np.ndarray, *, min_positives: int, default: float
) -> float:
    """Return the probability threshold that maximizes F1 on out-of-fold probabilities.

    The threshold sits halfway between the lowest accepted probability and the next one down,
    so that it does not hug one training example. Labels with fewer than ``min_positives``
    positives, or where no threshold beats predicting nothing, keep ``default``.
    """
    positives = int(np.sum(y))
    if positives < max(min_positives, 1):
        return default
    order = np.argsort(-probs, kind="stable")
    sorted_probs = probs[order]
    hits = np.cumsum(y[order] == 1)
    predicted = np.arange(1, len(probs) + 1)
    f1 = 2.0 * hits / (predicted + positives)
    # only cut between distinct probabilities
    distinct = np.append(sorted_probs[1:] < sorted_probs[:-1], True)
    f1 = np.where(distinct, f1, -1.0)
    best = int(np.argmax(f1))
    if f1[best] <= 0.0:
        return default
    lower = sorted_probs[best + 1] if best + 1 < len(sorted_probs) else 0.0
    return float((sorted_probs[best] + lower) / 2.0)


def choose_thresholds(
    probs: np.ndarray,
    Y: np.ndarray,
    *,
    min_positives: int,
    default: float,
    shrinkage: float = 0.0,
) -> np.ndarray:
    """Choose every label's threshold on out-of-fold probabilities, shape (n, n_labels).

    Labels with at least ``min_positives`` positives get their own F1-maximizing threshold.
    Rarer labels share one threshold, chosen on their probabilities pooled together (a label
    with two examples cannot support a threshold of its own, but ten such labels can support a
    common one); labels with no positives keep ``default``. With ``shrinkage`` k > 0, a label
    with n positives gets ``(n * chosen + k * default) / (n + k)``: the fewer its examples, the
    closer to the default (an F1-maximizing threshold fitted on a handful of positives is noise,
    and a very low one floods the predictions).
    """
    positives = Y.sum(axis=0)
    thresholds = np.full(Y.shape[1], float(default))
    rare = np.flatnonzero((positives > 0) & (positives < min_positives))
    for j in np.flatnonzero(positives >= min_positives):
        thresholds[j] = choose_threshold(probs[:, j], Y[:, j], min_positives=1, default=default)
    if len(rare):
        thresholds[rare] = choose_threshold(
            probs[:, rare].ravel(), Y[:, rare].ravel(), min_positives=1, default=default
        )
    if shrinkage > 0:
        thresholds = (positives * thresholds + shrinkage * default) / (positives + shrinkage)
    return thresholds
