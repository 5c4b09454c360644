"""Platt calibration of out-of-fold scores, and the thresholds chosen on them."""

from __future__ import annotations

from typing import Any

import numpy as np

from topictag.model.decision import choose_thresholds, sigmoid


def calibrate(
    oof: np.ndarray, Y: np.ndarray, *, min_positives: int, default: float, shrinkage: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Fit each label's sigmoid on out-of-fold scores and choose its threshold.

    Returns the (n_labels, 2) sigmoid parameters and the (n_labels,) probability thresholds
    (:func:`topictag.model.decision.choose_thresholds`).
    """
    calibration = fit_sigmoids(oof, Y)
    probs = sigmoid(oof, calibration[:, 0], calibration[:, 1])
    thresholds = choose_thresholds(
        probs, Y, min_positives=min_positives, default=default, shrinkage=shrinkage
    )
    return calibration, thresholds


def fit_sigmoid(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Fit Platt's sigmoid to one label's scores; see :func:`fit_sigmoids`."""
    ((a, b),) = fit_sigmoids(np.asarray(scores, dtype=np.float64)[:, None], np.asarray(y)[:, None])
    return float(a), float(b)


def fit_sigmoids(scores: np.ndarray, Y: np.ndarray, *, max_iter: int = 100) -> np.ndarray:
    """Fit Platt's sigmoid ``1 / (1 + exp(a * s + b))`` to every label's scores at once.

    Newton's method with backtracking on the cross-entropy against Platt's smoothed targets
    (Lin, Lin and Weng, 2007: the algorithm scikit-learn's sigmoid calibration also minimizes),
    vectorized over labels: one pass costs a few array operations on (n_samples, n_labels).

    Returns
    -------
    ndarray of shape (n_labels, 2)
        ``a`` (negative when higher scores mean "positive") and ``b`` per label.
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(Y) == 1
    positives = y.sum(axis=0).astype(np.float64)
    negatives = y.shape[0] - positives
    target = np.where(y, (positives + 1.0) / (positives + 2.0), 1.0 / (negatives + 2.0))
    a = np.zeros(s.shape[1])
    b = np.log((negatives + 1.0) / (positives + 1.0))
    active = np.arange(s.shape[1])  # labels still moving
    for _ in range(max_iter):
        if not len(active):
            break
        sa, ta = s[:, active], target[:, active]

        def loss(a_: np.ndarray, b_: np.ndarray, sa: np.ndarray = sa, ta: np.ndarray = ta) -> Any:
            z = sa * a_ + b_
            return np.sum(ta * np.logaddexp(0.0, z) + (1.0 - ta) * np.logaddexp(0.0, -z), axis=0)

        aa, ba = a[active], b[active]
        p = sigmoid(sa, aa, ba)  # 1 / (1 + e^z)
        r = ta - p  # d loss / dz
        ga, gb = np.sum(r * sa, axis=0), np.sum(r, axis=0)
        w = p * (1.0 - p)
        haa = np.sum(w * sa * sa, axis=0) + 1e-12
        hab = np.sum(w * sa, axis=0)
        hbb = np.sum(w, axis=0) + 1e-12
        det = haa * hbb - hab * hab
        da = -(hbb * ga - hab * gb) / det
        db = -(haa * gb - hab * ga) / det
        value = loss(aa, ba)
        step = np.ones_like(aa)
        for _ in range(40):  # backtrack each label until its loss decreases enough
            ok = loss(aa + step * da, ba + step * db) <= value + 1e-4 * step * (ga * da + gb * db)
            if ok.all():
                break
            step = np.where(ok, step, step / 2.0)
        a[active] = aa + step * da
        b[active] = ba + step * db
        moved = np.maximum(np.abs(step * da), np.abs(step * db))
        active = active[moved > 1e-9 * (1.0 + np.maximum(np.abs(aa), np.abs(ba)))]
    return np.stack([a, b], axis=1)
