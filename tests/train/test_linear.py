"""The binary models and their folds: NB weights and averaging end as plain coefficients."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.svm import LinearSVC

from topictag.train.linear import fit_binary, nb_ratios


def _data(n: int = 80) -> tuple[sparse.csr_matrix, np.ndarray]:
    rng = np.random.default_rng(0)
    y = (np.arange(n) % 3 == 0).astype(np.int8)
    dense = rng.random((n, 12)) * (rng.random((n, 12)) < 0.3)
    dense[y == 1, :3] += 0.5  # the label's own features
    return sparse.csr_matrix(dense), y


def test_nb_ratios_are_log_count_ratios_of_binarized_counts():
    X = sparse.csr_matrix(np.array([[2.0, 0.0, 1.0], [0.5, 0.0, 0.0], [0.0, 3.0, 1.0]]))
    y = np.array([1, 1, 0])
    r = nb_ratios(X, y, alpha=1.0)
    p, q = np.array([3.0, 1.0, 2.0]), np.array([1.0, 2.0, 2.0])  # 1 + rows holding each
    assert r == pytest.approx(np.log(p / p.sum()) - np.log(q / q.sum()))
    assert r[0] > 0 > r[1]  # typical of the label, typical of the rest
    assert nb_ratios(X.toarray(), y) == pytest.approx(r)  # dense input alike


def test_nb_weights_fold_into_the_coefficients():
    X, y = _data()
    coef, intercept, _ = fit_binary(
        X, y, classifier="linear-svc", C=1.0, class_weight=None, max_iter=5000, seed=0,
        nb_weights=True,
    )  # fmt: skip
    r = nb_ratios(X, y)
    scaled = LinearSVC(C=1.0, max_iter=5000, random_state=0).fit(X.multiply(r).tocsr(), y)
    # the score of the scaled features equals the score of the folded coefficients
    assert X @ coef + intercept == pytest.approx(scaled.decision_function(X.multiply(r).tocsr()))
    assert not np.allclose(coef, scaled.coef_[0])  # folded, not the raw weights


def test_averaging_two_models_is_the_mean_of_their_scores():
    X, y = _data()
    options = {"C": 1.0, "class_weight": None, "max_iter": 5000, "seed": 0}
    svc = fit_binary(X, y, classifier="linear-svc", **options)
    logistic = fit_binary(X, y, classifier="logistic", **options)
    both = fit_binary(X, y, classifier="linear-svc", average_with="logistic", **options)
    mean = ((X @ svc[0] + svc[1]) + (X @ logistic[0] + logistic[1])) / 2
    assert X @ both[0] + both[1] == pytest.approx(mean)
    # with NB weights, the second model sees the plain features
    nb = fit_binary(X, y, classifier="linear-svc", nb_weights=True, **options)
    mixed = fit_binary(
        X, y, classifier="linear-svc", nb_weights=True, average_with="logistic", **options
    )
    assert mixed[0] == pytest.approx((nb[0] + logistic[0]) / 2)


def test_one_class_gives_a_constant_score():
    X, _ = _data()
    coef, intercept, n_iter = fit_binary(
        X, np.zeros(80, dtype=np.int8), classifier="logistic", C=1.0, class_weight=None,
        max_iter=100, seed=0, nb_weights=True, average_with="linear-svc",
    )  # fmt: skip
    assert not coef.any() and intercept == -1.0 and n_iter == 0
