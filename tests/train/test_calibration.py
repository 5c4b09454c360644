from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import _sigmoid_calibration

from topictag.model.decision import sigmoid
from topictag.train.calibration import fit_sigmoid


def test_sigmoid_fit_matches_scikit_learn_platt():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    scores = y * 1.5 - 0.7 + rng.normal(0, 1, 400)
    a, b = fit_sigmoid(scores, y)
    ref_a, ref_b = _sigmoid_calibration(scores, y)
    assert sigmoid(scores, a, b) == pytest.approx(sigmoid(scores, ref_a, ref_b), abs=1e-4)
    assert a < 0  # higher score, higher probability
