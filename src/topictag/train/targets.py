"""Targets and fit tasks of :class:`~topictag.train.estimator.TopicClassifier`."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d


def fit_task(
    state: tuple[Any, Any, np.ndarray, list[np.ndarray], int],
    task: tuple[int, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fit one chunk of labels on one set of rows (run by :class:`Workers`)."""
    estimator, X, Y, row_sets, seed = state
    k, chunk = task
    rows = row_sets[k]
    return estimator._fit_chunk(X[rows], Y[np.ix_(rows, chunk)], seed)


def indicator_targets(y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Return (int8 indicator matrix, classes, whether ``y`` was an indicator)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)  # a column of class labels
    if y.ndim == 2:
        if not np.isin(y, (0, 1)).all():
            raise ValueError("a 2-D y must be a binary label-indicator matrix (0 and 1 only)")
        return np.asarray(y, dtype=np.int8), np.arange(y.shape[1]), True
    check_classification_targets(y)
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"{name} needs at least 2 classes in y; got 1 class")
    Y = np.zeros((len(y), len(classes)), dtype=np.int8)
    Y[np.arange(len(y)), codes] = 1
    return Y, classes, False
