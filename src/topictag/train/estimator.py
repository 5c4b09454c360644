"""The one-vs-rest linear topic classifier, with calibration and per-label thresholds.

:class:`TopicClassifier` is a scikit-learn estimator (scikit-learn's ``check_estimator`` suite
passes; ``tests/train/test_estimator.py`` runs it). ``fit`` does three things on the training
data only:

1. out-of-fold decision scores from grouped K-fold (related paragraphs never sit on both sides);
2. per label, a sigmoid (Platt) calibration of those scores into probabilities, and the
   probability threshold that maximizes the label's F1 on them;
3. a final one-vs-rest fit on all the training data (with ``abstain``, also the no-topic head
   of :mod:`topictag.train.abstain`).

``y`` is a binary label-indicator matrix (what topictag trains on: a paragraph may carry several
labels, or none) or a 1-D array of class labels, as scikit-learn's classifiers take it.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import GroupKFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from topictag.model.decision import (
    MULTI_LABEL,
    SINGLE_LABEL,
    abstaining,
    calibrated_probabilities,
    decide_labels,
    sigmoid,
)
from topictag.serve.pool import Workers
from topictag.train.abstain import fit_head, no_topic_column
from topictag.train.calibration import calibrate
from topictag.train.linear import fit_binary
from topictag.train.recipe import CLASSIFIERS
from topictag.train.targets import fit_task, indicator_targets

_FIT_CHECKS = {"accept_large_sparse": False, "multi_output": True}
_PREDICT_CHECKS = {"accept_large_sparse": False, "reset": False}
#: The parameters each label's binary model gets (:func:`topictag.train.linear.fit_binary`).
_LINEAR_KEYS = ("classifier", "C", "class_weight", "max_iter", "nb_weights", "average_with")


class TopicClassifier(ClassifierMixin, BaseEstimator):
    """One binary linear model per label, calibrated and thresholded per label.

    Parameters
    ----------
    classifier : {"linear-svc", "logistic", "sgd"}, default="linear-svc"
        The binary linear model fitted for each label.
    C : float, default=1.0
        Inverse regularization strength (``alpha = 1 / (C * n_samples)`` for SGD).
    class_weight : {None, "balanced"}, default=None
        Passed to each binary model.
    max_iter : int, default=2000
        Solver iterations (SGD epochs: at most 30).
    nb_weights : bool, default=False
        Scale each label's features by their naive Bayes log-count ratios before its fit
        (NBSVM); folded into the coefficients (:mod:`topictag.train.linear`).
    average_with : {None, "linear-svc", "logistic", "sgd"}, default=None
        A second binary model fitted on the same rows; each label's coefficients are the mean
        of the two.
    mode : {"multi-label", "single-label"}, default="multi-label"
        For an indicator ``y``: multi-label predicts every label at or above its threshold,
        single-label the most probable one. A 1-D ``y`` (one class per sample) is always
        single-label.
    cv_folds : int, default=3
        Grouped folds for out-of-fold scores.
    min_positives : int, default=3
        A label with fewer positive training examples (or no F1 gain) keeps
        ``default_threshold``.
    default_threshold : float, default=0.5
        Probability threshold for labels that cannot be tuned.
    threshold_shrinkage : float, default=0.0
        Pull each label's threshold toward ``default_threshold`` as if it had this many more
        examples (:func:`topictag.model.decision.choose_thresholds`); 0 leaves them.
    at_least_one : bool, default=False
        In multi-label mode, predict the top label when none passes its threshold.
    abstain : bool, default=False
        In multi-label mode with an indicator ``y``, also learn the no-topic head
        (:mod:`topictag.train.abstain`): rows it is confident have no topic get no label.
    n_jobs : int, default=1
        Processes for fitting labels in parallel (forked; the result does not depend on it).
    random_state : int, RandomState instance or None, default=0
        Seed for fold assignment and randomized solvers.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        The class labels of a 1-D ``y``, or ``0 .. n_labels - 1`` (the columns) for an
        indicator ``y``.
    indicator_ : bool
        True when fitted on an indicator matrix: ``predict`` then returns one.
    mode_ : str
        The decision rule in use: ``mode``, or "single-label" for a 1-D ``y``.
    coef_ : ndarray of shape (n_labels, n_features)
    intercept_ : ndarray of shape (n_labels,)
    calibration_ : ndarray of shape (n_labels, 2)
        Each label's sigmoid parameters ``(a, b)``: ``p = 1 / (1 + exp(a * score + b))``.
    thresholds_ : ndarray of shape (n_labels,)
        Each label's probability threshold (used in multi-label mode).
    oof_scores_ : ndarray of shape (n_samples, n_labels)
        The out-of-fold decision scores the calibration was fitted on.
    n_iter_ : ndarray of shape (n_labels,)
        Solver iterations of each label's final fit (0 for a label with one class).
    n_features_in_ : int
    abstain_threshold_ : float or None
        The no-topic head's threshold (None when no head was learned); with it
        ``abstain_coef_``, ``abstain_intercept_`` and ``abstain_calibration_``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.9, 0.1], [0.8, 0.0], [0.0, 1.0], [0.1, 0.9], [0.0, 0.8]])
    >>> TopicClassifier().fit(X, ["a", "a", "a", "b", "b", "b"]).predict([[1.0, 0.1]])
    array(['a'], dtype='<U1')
    """

    abstain_threshold_: float | None

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "classifier": [StrOptions(set(CLASSIFIERS))],
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [StrOptions({"balanced"}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "nb_weights": ["boolean"],
        "average_with": [StrOptions(set(CLASSIFIERS)), None],
        "mode": [StrOptions({MULTI_LABEL, SINGLE_LABEL})],
        "cv_folds": [Interval(Integral, 2, None, closed="left")],
        "min_positives": [Interval(Integral, 0, None, closed="left")],
        "default_threshold": [Interval(Real, 0, 1, closed="both")],
        "threshold_shrinkage": [Interval(Real, 0, None, closed="left")],
        "at_least_one": ["boolean"],
        "abstain": ["boolean"],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        classifier: str = "linear-svc",
        C: float = 1.0,
        class_weight: str | None = None,
        max_iter: int = 2000,
        nb_weights: bool = False,
        average_with: str | None = None,
        mode: str = MULTI_LABEL,
        cv_folds: int = 3,
        min_positives: int = 3,
        default_threshold: float = 0.5,
        threshold_shrinkage: float = 0.0,
        at_least_one: bool = False,
        abstain: bool = False,
        n_jobs: int = 1,
        random_state: Any = 0,
    ):
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.nb_weights = nb_weights
        self.average_with = average_with
        self.mode = mode
        self.cv_folds = cv_folds
        self.min_positives = min_positives
        self.default_threshold = default_threshold
        self.threshold_shrinkage = threshold_shrinkage
        self.at_least_one = at_least_one
        self.abstain = abstain
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        """Declare sparse input and label-indicator targets."""
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, groups: Any = None) -> TopicClassifier:
        """Fit on a feature matrix and class labels or a label-indicator matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            The class of each sample, or a binary indicator matrix: 1 where the paragraph
            carries the label.
        groups : array-like of shape (n_samples,), optional
            Cross-validation groups (article ids); each row its own group when omitted.

        Returns
        -------
        TopicClassifier
            The fitted estimator.

        Raises
        ------
        ValueError
            If ``y`` has one class, a 2-D ``y`` is not binary, or there are fewer than two
            groups.
        """
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64, **_FIT_CHECKS)
        Y, classes, indicator = indicator_targets(y, type(self).__name__)
        multi = indicator and self.mode == MULTI_LABEL and not self.at_least_one
        head = no_topic_column(Y, enabled=self.abstain and multi)
        Yx = Y if head is None else np.column_stack([Y, head])
        oof, final = self.cross_fit(X, Yx, groups, final=True)
        assert final is not None
        n = Y.shape[1]
        self.calibration_, self.thresholds_ = calibrate(
            oof[:, :n],
            Y,
            min_positives=self.min_positives,
            default=self.default_threshold,
            shrinkage=self.threshold_shrinkage,
        )
        coef, intercept, n_iter = final
        self.coef_, self.intercept_, self.n_iter_ = coef[:n], intercept[:n], n_iter[:n]
        self.abstain_threshold_ = None
        if head is not None:
            probs = sigmoid(oof[:, :n], self.calibration_[:, 0], self.calibration_[:, 1])
            fitted = fit_head(oof[:, n], (coef[n], intercept[n]), Y, probs, self.thresholds_)
            for name, value in fitted.items():
                setattr(self, name, value)
        oof = oof[:, :n]
        self.classes_ = classes
        self.indicator_ = indicator
        self.mode_ = self.mode if indicator else SINGLE_LABEL
        self.oof_scores_ = oof
        self._y_dtype = y.dtype
        return self

    def cross_fit(
        self, X: Any, Y: np.ndarray, groups: Any = None, *, final: bool
    ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray] | None]:
        """Return out-of-fold decision scores of an indicator ``Y``, and with ``final`` the fit
        on all rows as ``(coef, intercept, n_iter)``.

        Folds are grouped: no group has rows on both sides. All fits are submitted together.
        """
        n_samples = Y.shape[0]
        groups = np.arange(n_samples) if groups is None else np.asarray(groups)
        folds = min(self.cv_folds, len(np.unique(groups)))
        if folds < 2:
            raise ValueError("need at least two groups of training paragraphs for cross-validation")
        seed = self._seed()
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        splits = list(splitter.split(X, groups=groups))
        row_sets = [rows for rows, _ in splits] + ([np.arange(n_samples)] if final else [])
        fits = self._fit_all(X, Y, row_sets, seed)
        oof = np.zeros(Y.shape, dtype=np.float64)
        for (_, held_out), (coef, intercept, _) in zip(splits, fits, strict=False):
            oof[held_out] = X[held_out] @ coef.T + intercept
        return oof, (fits[-1] if final else None)

    def fit_row_sets(
        self, X: Any, Y: np.ndarray, row_sets: list[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Fit every label of an indicator ``Y`` on each set of rows of a CSR ``X`` at once;
        return ``(coef, intercept)`` per row set (what :meth:`cross_fit` runs on its folds)."""
        return [(coef, b) for coef, b, _ in self._fit_all(X, Y, row_sets, self._seed())]

    def _seed(self) -> int:
        """The integer seed of folds and solvers (drawn once from a RandomState or None)."""
        if isinstance(self.random_state, Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _fit_all(
        self, X: Any, Y: np.ndarray, row_sets: list[np.ndarray], seed: int
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Fit every label on each set of rows; return (coef, intercept, n_iter) per row set.

        With ``n_jobs > 1`` the (row set, label chunk) tasks run in forked worker processes
        (:class:`topictag.serve.pool.Workers`), which share the parent's data without copying
        it. Processes, not threads: liblinear draws from one process-wide random generator, so
        concurrent fits in threads would make the result depend on scheduling. Each fit seeds
        that generator itself, so the result does not depend on which worker ran it.
        """
        n_labels = Y.shape[1]
        chunks = [c for c in np.array_split(np.arange(n_labels), 4 * max(self.n_jobs, 1)) if len(c)]
        tasks = [(k, chunk) for k in range(len(row_sets)) for chunk in chunks]
        results = self._run_fits(X, Y, row_sets, tasks, seed)
        fits = []
        for k in range(len(row_sets)):
            parts = [r for (task_set, _), r in zip(tasks, results, strict=True) if task_set == k]
            fits.append(
                (
                    np.vstack([c for c, _, _ in parts]),
                    np.concatenate([b for _, b, _ in parts]),
                    np.concatenate([n for _, _, n in parts]),
                )
            )
        return fits

    def _run_fits(
        self,
        X: Any,
        Y: np.ndarray,
        row_sets: list[np.ndarray],
        tasks: list[tuple[int, np.ndarray]],
        seed: int,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Run the (row set, label chunk) fit tasks, in order; the engines hook in here.

        Each task gives ``self._fit_chunk(X[rows], Y[rows, chunk], seed)``: in this process, or
        in ``n_jobs`` forked workers; ``topictag.train.dask_engine`` makes them Dask tasks.
        """
        with Workers(self.n_jobs, (self, X, Y, row_sets, seed)) as workers:
            return workers.map(fit_task, tasks)

    def decision_function(self, X: Any) -> np.ndarray:
        """Return a score per sample and label whose order agrees with the prediction.

        For an indicator ``y``: the raw linear score of every label, shape (n_samples,
        n_labels), which the calibration maps to probabilities. For a 1-D ``y``: the log of each
        class's probability, so that the highest is the predicted class; with two classes, the
        log-odds of the second class, shape (n_samples,), positive when it is predicted.
        """
        check_is_fitted(self)
        scores = self._scores(X)
        if self.indicator_:
            return scores
        with np.errstate(divide="ignore"):
            log_proba = np.log(self._probabilities(scores))
        if len(self.classes_) == 2:
            return log_proba[:, 1] - log_proba[:, 0]
        return log_proba

    def predict_proba(self, X: Any) -> np.ndarray:
        """Return calibrated per-label probabilities, shape (n_samples, n_labels).

        In single-label mode the calibrated scores are normalized to sum to one per row.
        """
        check_is_fitted(self)
        return self._probabilities(self._scores(X))

    def predict(self, X: Any) -> np.ndarray:
        """Return the predictions: a binary indicator matrix, or the class of each sample.

        For an indicator ``y``, rows with no non-zero feature (no n-gram the model knows) get
        no label. For a 1-D ``y`` every sample gets its most probable class.
        """
        check_is_fitted(self)
        X = self._validate(X)
        proba = self._probabilities(self._scores(X))
        if not self.indicator_:
            return self.classes_[np.argmax(proba, axis=1)]
        labels = decide_labels(
            proba,
            self.thresholds_,
            single_label=self.mode_ == SINGLE_LABEL,
            at_least_one=self.at_least_one,
            known=(X.getnnz(axis=1) if issparse(X) else np.count_nonzero(X, axis=1)) > 0,
            abstain=abstaining(self.no_topic_proba(X), getattr(self, "abstain_threshold_", None)),
        )
        return labels.astype(getattr(self, "_y_dtype", np.int8), copy=False)

    def no_topic_proba(self, X: Any) -> np.ndarray | None:
        """Return the no-topic head's probability per sample, or None without a head."""
        check_is_fitted(self)
        if getattr(self, "abstain_threshold_", None) is None:
            return None
        score = np.asarray(self._validate(X) @ self.abstain_coef_) + self.abstain_intercept_
        a, b = self.abstain_calibration_
        return sigmoid(np.ravel(score), a, b)

    def _validate(self, X: Any) -> Any:
        return validate_data(self, X, accept_sparse="csr", dtype=np.float64, **_PREDICT_CHECKS)

    def _scores(self, X: Any) -> np.ndarray:
        return np.asarray(self._validate(X) @ self.coef_.T) + self.intercept_

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        return calibrated_probabilities(
            scores, self.calibration_, single_label=self.mode_ == SINGLE_LABEL
        )

    def _fit_chunk(
        self, X: Any, Y: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        fits = [self._fit_binary(X, Y[:, j], seed) for j in range(Y.shape[1])]
        coef = np.vstack([c for c, _, _ in fits]) if fits else np.zeros((0, X.shape[1]))
        intercept = np.array([b for _, b, _ in fits], dtype=np.float64)
        return coef, intercept, np.array([n for _, _, n in fits], dtype=np.int64)

    def _fit_binary(self, X: Any, y: np.ndarray, seed: int) -> tuple[np.ndarray, float, int]:
        return fit_binary(X, y, seed=seed, **{key: getattr(self, key) for key in _LINEAR_KEYS})
