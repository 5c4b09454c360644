"""TopicClassifier is a scikit-learn estimator: scikit-learn's own check suite, and the basics."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from topictag.train.estimator import TopicClassifier

#: Checks of scikit-learn's suite that cannot pass, with the reason (``check_estimator``'s
#: ``expected_failed_checks``).
EXPECTED_FAILED_CHECKS = {
    "check_class_weight_classifiers": (
        "class_weight applies to each label's binary model (the label against the rest), so "
        "it is 'balanced' or None; a dict of per-class weights, which this check sets, has no "
        "meaning there: a class is the positive side of one model and part of the negative "
        "side of every other"
    ),
}


@parametrize_with_checks(
    [
        TopicClassifier(),
        TopicClassifier(classifier="logistic", mode="single-label"),
        TopicClassifier(nb_weights=True, average_with="logistic"),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_scikit_learn_check_suite(estimator, check):
    check(estimator)


def _blobs(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = np.repeat(["energy", "talks", "war"], n // 3)
    centers = {"energy": (3.0, 0.0, 0.0), "talks": (0.0, 3.0, 0.0), "war": (0.0, 0.0, 3.0)}
    X = np.array([centers[label] for label in y]) + rng.normal(0, 0.5, (n, 3))
    return np.abs(X), y


def test_a_1d_y_of_class_names_gives_class_names():
    X, y = _blobs()
    model = TopicClassifier().fit(X, y)
    assert model.classes_.tolist() == ["energy", "talks", "war"]
    assert not model.indicator_ and model.mode_ == "single-label"
    assert (model.predict(X) == y).mean() > 0.95
    proba = model.predict_proba(X)
    assert proba.shape == (60, 3)
    assert proba.sum(axis=1) == pytest.approx(np.ones(60))
    assert (model.classes_[model.decision_function(X).argmax(axis=1)] == model.predict(X)).all()


def test_an_indicator_y_gives_an_indicator_of_the_same_dtype():
    X, y = _blobs()
    Y = np.stack([y == "energy", (y == "talks") | (y == "war"), y == "war"], axis=1)
    model = TopicClassifier().fit(sparse.csr_matrix(X), Y.astype(np.int64))
    predicted = model.predict(X)
    assert predicted.dtype == np.int64 and predicted.shape == (60, 3)
    assert model.classes_.tolist() == [0, 1, 2]
    assert (predicted == Y).all(axis=1).mean() > 0.9
    assert model.decision_function(X).shape == (60, 3)


def test_a_row_with_no_feature_gets_no_label_with_an_indicator_y():
    X, y = _blobs()
    Y = np.stack([y == "energy", y != "energy"], axis=1).astype(np.int8)
    model = TopicClassifier(at_least_one=True).fit(X, Y)
    assert model.predict(np.zeros((1, 3))).tolist() == [[0, 0]]


def test_unfitted_methods_raise_not_fitted():
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFittedError):
            getattr(TopicClassifier(), method)(np.ones((2, 3)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"classifier": "forest"}, "'classifier' parameter"),
        ({"C": 0.0}, "'C' parameter"),
        ({"average_with": "forest"}, "'average_with' parameter"),
        ({"nb_weights": "yes"}, "'nb_weights' parameter"),
        ({"cv_folds": 1}, "'cv_folds' parameter"),
        ({"default_threshold": 1.5}, "'default_threshold' parameter"),
    ],
)
def test_parameters_are_validated_on_fit(params, message):
    X, y = _blobs()
    with pytest.raises(InvalidParameterError, match=message):
        TopicClassifier(**params).fit(X, y)


def test_one_class_and_non_binary_indicators_are_refused():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="at least 2 classes in y; got 1 class"):
        TopicClassifier().fit(X, ["war"] * 60)
    with pytest.raises(ValueError, match="binary label-indicator"):
        TopicClassifier().fit(X, np.full((60, 2), 2))


def test_clone_cross_validate_and_grid_search():
    X, y = _blobs()
    model = TopicClassifier().fit(X, y)
    fresh = clone(model)
    assert not hasattr(fresh, "coef_") and fresh.get_params() == model.get_params()
    assert cross_val_score(TopicClassifier(), X, y, cv=3).mean() > 0.9
    search = GridSearchCV(TopicClassifier(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert search.best_params_["C"] in (0.1, 1.0)


def test_parallel_fits_equal_the_serial_fit():
    X, y = _blobs()
    one = TopicClassifier(n_jobs=1).fit(X, y)
    two = TopicClassifier(n_jobs=2).fit(X, y)
    for name in ("coef_", "intercept_", "calibration_", "thresholds_", "n_iter_"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name


def test_a_random_state_instance_is_accepted():
    X, y = _blobs()
    model = TopicClassifier(random_state=np.random.RandomState(0)).fit(X, y)
    assert (model.predict(X) == y).mean() > 0.95
