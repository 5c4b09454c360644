"""The no-topic head: learning from the paragraphs with no topic when to give no label.

Page furniture, captions, sport and culture carry no topic, yet a paragraph whose only known
word is "share" or "rights" can score high for a label. The no-topic head is one more binary
linear model, fitted on the same features, folds and recipe as the labels, whose target is
"this paragraph has no label". Its out-of-fold scores are calibrated like a label's, and its
threshold is the one that maximizes micro-F1 of the gated out-of-fold decisions
(:func:`topictag.model.decision.choose_abstain_threshold`): a paragraph whose no-topic
probability reaches it gets no label. Multi-label models only (a single-label model always
gives its most probable label), and only when the training data has enough no-topic rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from topictag.model.decision import choose_abstain_threshold, sigmoid
from topictag.train.calibration import fit_sigmoids

MIN_NO_TOPIC_ROWS = 10  # fewer no-topic training paragraphs than this: no head


def no_topic_column(Y: np.ndarray, *, enabled: bool) -> np.ndarray | None:
    """Return the no-topic target (1 where a row has no label), or None when not learned."""
    if not enabled:
        return None
    none = (Y.sum(axis=1) == 0).astype(np.int8)
    if none.sum() < MIN_NO_TOPIC_ROWS or none.all():
        return None
    return none


def fit_head(
    oof: np.ndarray,
    final: tuple[np.ndarray, np.ndarray],
    Y: np.ndarray,
    probs: np.ndarray,
    thresholds: np.ndarray,
) -> dict[str, Any]:
    """Calibrate the head's out-of-fold scores and choose its threshold.

    Parameters
    ----------
    oof : ndarray of shape (n_samples,)
        The head's out-of-fold decision scores.
    final : (coef, intercept)
        The head's fit on all rows: shape (n_features,) and a float.
    Y : ndarray of shape (n_samples, n_labels)
        The labels' gold indicator.
    probs, thresholds
        The labels' out-of-fold probabilities and thresholds.

    Returns
    -------
    dict
        The fitted attributes: ``abstain_coef_``, ``abstain_intercept_``,
        ``abstain_calibration_`` and ``abstain_threshold_``.
    """
    calibration, threshold = calibrate_head(oof, Y, probs, thresholds)
    return {
        "abstain_coef_": np.asarray(final[0], dtype=np.float64),
        "abstain_intercept_": float(final[1]),
        "abstain_calibration_": calibration,
        "abstain_threshold_": threshold,
    }


def calibrate_head(
    oof: np.ndarray, Y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, float]:
    """Return the head's sigmoid ``(a, b)`` and threshold, from out-of-fold scores.

    The arguments are those of :func:`fit_head`; the search
    (:func:`topictag.train.scoring.cross_fitted_decisions`) calls it on each fold's other folds.
    """
    none = (Y.sum(axis=1) == 0).astype(np.int8)[:, None]
    calibration = fit_sigmoids(oof[:, None], none)[0]
    no_topic = sigmoid(oof, calibration[0], calibration[1])
    return calibration, choose_abstain_threshold(probs, thresholds, no_topic, Y)
