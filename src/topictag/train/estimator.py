"""The one-vs-rest linear topic classifier, with calibration and per-label thresholds.

:class:`TopicClassifier` is a scikit-learn estimator. ``fit`` does three things on the training
data only:

1. out-of-fold decision scores from grouped K-fold (related paragraphs never sit on both sides);
2. per label, a sigmoid (Platt) calibration of those scores into probabilities, and the
   probability threshold that maximizes the label's F1 on them;
3. a final one-vs-rest fit on all the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.model_selection import GroupKFold
from sklearn.svm import LinearSVC

from topictag.model.decision import (
    MULTI_LABEL,
    SINGLE_LABEL,
    calibrated_probabilities,
    choose_thresholds,
    decide_labels,
    sigmoid,
)
from topictag.serve.pool import fork_context

SGD_MAX_EPOCHS = 30  # SGD passes over the data at most this often (liblinear uses max_iter)


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """One binary linear model per label, calibrated and thresholded per label.

    Parameters
    ----------
    classifier : {"linear-svc", "logistic", "sgd"}
        The binary linear model fitted for each label.
    C : float
        Inverse regularization strength (``alpha = 1 / (C * n_samples)`` for SGD).
    class_weight : {None, "balanced"}
        Passed to each binary model.
    max_iter : int
        Solver iterations.
    mode : {"multi-label", "single-label"}
        Multi-label predicts every label above its threshold; single-label predicts the top one.
    cv_folds : int
        Grouped folds for out-of-fold scores.
    min_positives : int
        A label with fewer positive training examples (or no F1 gain) keeps ``default_threshold``.
    default_threshold : float
        Probability threshold for labels that cannot be tuned.
    at_least_one : bool
        In multi-label mode, predict the top label when none passes its threshold.
    n_jobs : int
        Processes for fitting labels in parallel.
    random_state : int
        Seed for fold assignment and randomized solvers.
    """

    def __init__(
        self,
        *,
        classifier: str = "linear-svc",
        C: float = 1.0,
        class_weight: str | None = None,
        max_iter: int = 2000,
        mode: str = MULTI_LABEL,
        cv_folds: int = 3,
        min_positives: int = 3,
        default_threshold: float = 0.5,
        at_least_one: bool = False,
        n_jobs: int = 1,
        random_state: int = 0,
    ):
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.mode = mode
        self.cv_folds = cv_folds
        self.min_positives = min_positives
        self.default_threshold = default_threshold
        self.at_least_one = at_least_one
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: Any, Y: np.ndarray, groups: Any = None) -> TopicClassifier:
        """Fit on a feature matrix and a binary label-indicator matrix.

        Parameters
        ----------
        X : sparse matrix of shape (n_samples, n_features)
        Y : ndarray of shape (n_samples, n_labels)
            1 where the paragraph carries the label.
        groups : array-like of shape (n_samples,), optional
            Cross-validation groups (article ids); each row its own group when omitted.
        """
        X = sparse.csr_matrix(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.int8)
        oof, final = self.cross_fit(X, Y, groups, final=True)
        assert final is not None
        self.calibration_, self.thresholds_ = calibrate(
            oof, Y, min_positives=self.min_positives, default=self.default_threshold
        )
        self.coef_, self.intercept_ = final
        self.n_features_in_ = X.shape[1]
        self.oof_scores_ = oof
        return self

    def cross_fit(
        self, X: Any, Y: np.ndarray, groups: Any = None, *, final: bool
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
        """Return out-of-fold decision scores, and with ``final`` the fit on all rows.

        Folds are grouped: no group has rows on both sides. All fits (every fold, and the final
        one) are submitted together, so both cores stay busy.
        """
        n_samples = Y.shape[0]
        groups = np.arange(n_samples) if groups is None else np.asarray(groups)
        folds = min(self.cv_folds, len(np.unique(groups)))
        if folds < 2:
            raise ValueError("need at least two groups of training paragraphs for cross-validation")
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=self.random_state)
        splits = list(splitter.split(X, groups=groups))
        row_sets = [rows for rows, _ in splits] + ([np.arange(n_samples)] if final else [])
        fits = self._fit_all(X, Y, row_sets)
        oof = np.zeros(Y.shape, dtype=np.float64)
        for (_, held_out), (coef, intercept) in zip(splits, fits, strict=False):
            oof[held_out] = X[held_out] @ coef.T + intercept
        return oof, (fits[-1] if final else None)

    def _fit_all(
        self, X: Any, Y: np.ndarray, row_sets: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Fit every label on each set of rows; return (coef, intercept) per row set.

        With ``n_jobs > 1`` the (row set, label chunk) tasks run in forked worker processes,
        which share the parent's data without copying it. Processes, not threads: liblinear
        draws from one process-wide random generator, so concurrent fits in threads would make
        the result depend on scheduling. Each fit seeds that generator itself, so the result
        does not depend on which worker ran it.
        """
        n_labels = Y.shape[1]
        chunks = [c for c in np.array_split(np.arange(n_labels), 4 * max(self.n_jobs, 1)) if len(c)]
        tasks = [(k, chunk) for k in range(len(row_sets)) for chunk in chunks]
        results = self._run_fits(X, Y, row_sets, tasks)
        fits = []
        for k in range(len(row_sets)):
            parts = [r for (task_set, _), r in zip(tasks, results, strict=True) if task_set == k]
            fits.append((np.vstack([c for c, _ in parts]), np.concatenate([b for _, b in parts])))
        return fits

    def _run_fits(
        self, X: Any, Y: np.ndarray, row_sets: list[np.ndarray], tasks: list[tuple[int, np.ndarray]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Run the (row set, label chunk) fit tasks, in order; the engines hook in here.

        Each task gives ``self._fit_chunk(X[rows], Y[rows, chunk])``. Here: in this process, or
        in ``n_jobs`` forked workers. ``topictag.train.dask_engine`` overrides it with Dask tasks.
        """
        context = fork_context() if self.n_jobs > 1 else None
        _SHARED["task"] = (self, X, Y, row_sets)
        try:
            if context is None:
                return [_fit_task(task) for task in tasks]
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(self.n_jobs, mp_context=context) as pool:
                return list(pool.map(_fit_task, tasks))
        finally:
            _SHARED.clear()

    def decision_function(self, X: Any) -> np.ndarray:
        """Return the raw linear score of every label, shape (n_samples, n_labels)."""
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return calibrated per-label probabilities.

        In single-label mode the calibrated scores are normalized to sum to one per row.
        """
        return calibrated_probabilities(
            self.decision_function(X), self.calibration_, single_label=self.mode == SINGLE_LABEL
        )

    def predict(self, X: Any) -> np.ndarray:
        """Return the binary label-indicator matrix of the predictions."""
        X = sparse.csr_matrix(X)
        return decide_labels(
            self.predict_proba(X),
            self.thresholds_,
            single_label=self.mode == SINGLE_LABEL,
            at_least_one=self.at_least_one,
            known=X.getnnz(axis=1) > 0,
        )

    def _fit_chunk(self, X: Any, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fits = [self._fit_binary(X, Y[:, j]) for j in range(Y.shape[1])]
        coef = np.vstack([c for c, _ in fits]) if fits else np.zeros((0, X.shape[1]))
        return coef, np.array([b for _, b in fits], dtype=np.float64)

    def _fit_binary(self, X: Any, y: np.ndarray) -> tuple[np.ndarray, float]:
        if y.min() == y.max():  # a fold without positives (or negatives): constant score
            return np.zeros(X.shape[1]), -1.0 if y.max() == 0 else 1.0
        model = self._binary_model(X.shape[0])
        model.fit(X, y)
        return np.asarray(model.coef_[0], dtype=np.float64), float(model.intercept_[0])

    def _binary_model(self, n_samples: int) -> Any:
        if self.classifier == "linear-svc":
            return LinearSVC(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
        if self.classifier == "logistic":
            return LogisticRegression(
                C=self.C, class_weight=self.class_weight, max_iter=self.max_iter, solver="liblinear"
            )
        if self.classifier == "sgd":
            return SGDClassifier(
                loss="modified_huber",
                alpha=1.0 / (self.C * n_samples),
                class_weight=self.class_weight,
                max_iter=min(self.max_iter, SGD_MAX_EPOCHS),
                tol=1e-3,
                random_state=self.random_state,
            )
        raise ValueError(f"unknown classifier {self.classifier!r}")


_SHARED: dict[str, Any] = {}  # the data of the fit in progress, inherited by forked workers


def _fit_task(task: tuple[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    estimator, X, Y, row_sets = _SHARED["task"]
    k, chunk = task
    rows = row_sets[k]
    return estimator._fit_chunk(X[rows], Y[np.ix_(rows, chunk)])


def calibrate(
    oof: np.ndarray, Y: np.ndarray, *, min_positives: int, default: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fit each label's sigmoid on out-of-fold scores and choose its threshold.

    Returns the (n_labels, 2) sigmoid parameters and the (n_labels,) probability thresholds.
    """
    calibration = fit_sigmoids(oof, Y)
    probs = sigmoid(oof, calibration[:, 0], calibration[:, 1])
    return calibration, choose_thresholds(probs, Y, min_positives=min_positives, default=default)


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
