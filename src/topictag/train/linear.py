"""The binary linear model of one label, and the variants that fold into its coefficients.

Every variant here ends as one coefficient vector and one intercept per label, so the bundle
and the numpy runtime (:mod:`topictag.model.inference`) serve it unchanged:

- **NB-weighted features** (NBSVM, Wang and Manning 2012): the label's features are scaled by
  their naive Bayes log-count ratios ``r`` before the fit; the score ``w . (r * x) + b`` is
  ``(r * w) . x + b``, so the coefficients saved are ``r * w``. ``r`` comes from the rows the
  model is fitted on only (each fold computes its own).
- **Averaging two linear models** (``average_with``): the mean of two scores
  ``(w1 . x + b1 + w2 . x + b2) / 2`` is the score of the mean coefficients. The second model
  sees the plain features, so NB weights with ``average_with`` average an NB-scaled model and a
  plain one (close to Wang and Manning's interpolation between NBSVM and the SVM).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.svm import LinearSVC

SGD_MAX_EPOCHS = 30  # SGD passes over the data at most this often (liblinear uses max_iter)
NB_ALPHA = 1.0  # the smoothing count of the NB ratios (Wang and Manning's alpha)


def binary_model(
    classifier: str,
    *,
    C: float,
    class_weight: str | None,
    max_iter: int,
    n_samples: int,
    seed: int,
    n_features: int = 0,
) -> Any:
    """Return the unfitted scikit-learn binary model a recipe's ``classifier`` names.

    Logistic regression runs liblinear's dual solver when there are more features than rows
    (text's usual shape): the same optimum, 20-50x faster there than the primal Newton solver.
    """
    if classifier == "linear-svc":  # squared hinge, liblinear's dual solver
        return LinearSVC(C=C, class_weight=class_weight, max_iter=max_iter, random_state=seed)
    if classifier == "logistic":
        return LogisticRegression(
            C=C,
            class_weight=class_weight,
            max_iter=max_iter,
            solver="liblinear",
            dual=n_features > n_samples,
            random_state=seed,
        )
    return SGDClassifier(
        loss="modified_huber",
        alpha=1.0 / (C * n_samples),
        class_weight=class_weight,
        max_iter=min(max_iter, SGD_MAX_EPOCHS),
        tol=1e-3,
        random_state=seed,
    )


def nb_ratios(X: Any, y: np.ndarray, *, alpha: float = NB_ALPHA) -> np.ndarray:
    """Return each feature's naive Bayes log-count ratio for a binary ``y``.

    ``r = log((p / |p|_1) / (q / |q|_1))`` with ``p = alpha + `` the number of positive rows
    holding the feature and ``q`` the same over negative rows (binarized counts, as Wang and
    Manning's NBSVM): features typical of the label weigh more, shared ones less.
    """
    X = X.tocsr() if hasattr(X, "tocsr") else _csr(X)
    n_features = X.shape[1]
    positive_entry = np.repeat(np.asarray(y) == 1, np.diff(X.indptr))
    held = X.indices[X.data != 0]
    on_positive = positive_entry[X.data != 0]
    p = alpha + np.bincount(held[on_positive], minlength=n_features)
    q = alpha + np.bincount(held[~on_positive], minlength=n_features)
    return np.asarray(np.log(p / p.sum()) - np.log(q / q.sum()), dtype=np.float64)


def fit_binary(
    X: Any,
    y: np.ndarray,
    *,
    classifier: str,
    C: float,
    class_weight: str | None,
    max_iter: int,
    seed: int,
    nb_weights: bool = False,
    average_with: str | None = None,
) -> tuple[np.ndarray, float, int]:
    """Fit one label; return its folded coefficients, intercept and solver iterations.

    ``X`` is a CSR matrix (or dense array) of the rows fitted on, ``y`` 0/1. A ``y`` with one
    class gives zero coefficients and a constant score.
    """
    if y.min() == y.max():  # a fold without positives (or negatives): constant score
        return np.zeros(X.shape[1]), -1.0 if y.max() == 0 else 1.0, 0
    fitted = [_fit_one(X, y, classifier, nb_weights, C, class_weight, max_iter, seed)]
    if average_with:
        fitted.append(_fit_one(X, y, average_with, False, C, class_weight, max_iter, seed))
    coef = np.mean([c for c, _, _ in fitted], axis=0)
    intercept = float(np.mean([b for _, b, _ in fitted]))
    return coef, intercept, max(n for _, _, n in fitted)


def _fit_one(
    X: Any,
    y: np.ndarray,
    classifier: str,
    nb_weights: bool,
    C: float,
    class_weight: str | None,
    max_iter: int,
    seed: int,
) -> tuple[np.ndarray, float, int]:
    scale = None
    if nb_weights:
        X = X.tocsr(copy=True) if hasattr(X, "tocsr") else _csr(X)
        scale = nb_ratios(X, y)
        X.data *= scale[X.indices]
    model = binary_model(
        classifier,
        C=C,
        class_weight=class_weight,
        max_iter=max_iter,
        n_samples=X.shape[0],
        seed=seed,
        n_features=X.shape[1],
    )
    model.fit(X, y)
    coef = np.asarray(model.coef_[0], dtype=np.float64)
    return (
        (coef if scale is None else coef * scale),
        float(model.intercept_[0]),
        int(np.max(model.n_iter_)),
    )


def _csr(X: Any) -> Any:
    from scipy.sparse import csr_matrix

    return csr_matrix(np.asarray(X, dtype=np.float64))
