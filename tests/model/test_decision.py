from __future__ import annotations

import numpy as np
import pytest

from topictag.model.decision import (
    calibrated_probabilities,
    choose_threshold,
    choose_thresholds,
    decide_labels,
    sigmoid,
)


def test_sigmoid_is_stable_for_extreme_scores():
    values = sigmoid(np.array([-1e6, 0.0, 1e6]), -1.0, 0.0)
    assert values.tolist() == [0.0, 0.5, 1.0]


def test_threshold_maximizes_f1_between_neighbours():
    probs = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    y = np.array([1, 1, 1, 0, 1, 0])
    # F1 at each cut: best is taking the top 5 (4 hits of 5 predictions, 4 positives) = 0.889
    assert choose_threshold(probs, y, min_positives=1, default=0.5) == pytest.approx(0.2)


def test_threshold_falls_back_for_rare_labels():
    probs = np.array([0.9, 0.1, 0.2])
    y = np.array([1, 0, 0])
    assert choose_threshold(probs, y, min_positives=3, default=0.5) == 0.5
    assert choose_threshold(probs, np.zeros(3), min_positives=1, default=0.4) == 0.4


def test_threshold_never_splits_tied_probabilities():
    probs = np.array([0.6, 0.6, 0.6, 0.1])
    y = np.array([1, 0, 0, 0])
    t = choose_threshold(probs, y, min_positives=1, default=0.5)
    assert t < 0.6  # all three tied rows are accepted together


def test_shrinkage_pulls_thresholds_of_labels_with_few_examples_toward_the_default():
    rng = np.random.default_rng(0)
    Y = np.zeros((60, 3), dtype=np.int8)
    Y[:30, 0], Y[:4, 1] = 1, 1  # 30 positives, 4 positives, none
    probs = np.clip(Y * 0.3 + rng.random((60, 3)) * 0.5, 0, 1)
    plain = choose_thresholds(probs, Y, min_positives=3, default=0.5)
    shrunk = choose_thresholds(probs, Y, min_positives=3, default=0.5, shrinkage=4.0)
    positives = Y.sum(axis=0)
    expected = (positives * plain + 4.0 * 0.5) / (positives + 4.0)
    assert shrunk == pytest.approx(expected)
    assert abs(shrunk[0] - plain[0]) < abs(shrunk[1] - plain[1])  # more examples, less pull
    assert shrunk[2] == plain[2] == 0.5  # no positives: the default either way
    assert choose_thresholds(probs, Y, min_positives=3, default=0.5, shrinkage=0.0) == (
        pytest.approx(plain)
    )


def test_decide_labels_rules():
    probs = np.array([[0.9, 0.2, 0.6], [0.1, 0.2, 0.3], [0.1, 0.4, 0.3]])
    t = np.array([0.5, 0.5, 0.5])
    multi = decide_labels(probs, t, single_label=False, at_least_one=False)
    assert multi.tolist() == [[1, 0, 1], [0, 0, 0], [0, 0, 0]]
    forced = decide_labels(probs, t, single_label=False, at_least_one=True)
    assert forced.tolist() == [[1, 0, 1], [0, 0, 1], [0, 1, 0]]
    single = decide_labels(probs, t, single_label=True, at_least_one=False)
    assert single.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    unknown = decide_labels(
        probs, t, single_label=True, at_least_one=True, known=np.array([True, False, True])
    )
    assert unknown.tolist() == [[1, 0, 0], [0, 0, 0], [0, 1, 0]]


def test_single_label_probabilities_sum_to_one():
    calibration = np.array([[-2.0, 0.1], [-1.0, 0.3], [-3.0, -0.2]])
    probs = calibrated_probabilities(np.array([[0.5, -1.0, 2.0]]), calibration, single_label=True)
    assert probs.sum() == pytest.approx(1.0)
    raw = calibrated_probabilities(np.array([[0.5, -1.0, 2.0]]), calibration, single_label=False)
    assert raw[0, 2] == pytest.approx(sigmoid(np.array([2.0]), -3.0, -0.2)[0])
