from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support

from topictag.evaluate.metrics import compute_metrics, indicator_matrix, summarize_folds

LABELS = ["a", "b", "c", "d"]
GOLD = [("a",), ("a", "b"), (), ("c",), ("b", "zzz"), ()]
PRED = np.array(
    [
        [1, 0, 0, 0],
        [1, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 1, 0, 0],
        [0, 1, 0, 1],
        [1, 0, 0, 0],
    ]
)


def test_indicator_matrix_ignores_unknown_labels():
    assert indicator_matrix([("b", "x"), ()], ["a", "b"]).tolist() == [[0, 1], [0, 0]]


def test_metrics_match_scikit_learn():
    m = compute_metrics(GOLD, PRED, LABELS, mode="multi-label")
    y = indicator_matrix(GOLD, LABELS)
    for average in ("micro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y, PRED, average=average, zero_division=0)
        assert m[average] == pytest.approx({"precision": p, "recall": r, "f1": f})
    p, r, f, _ = precision_recall_fscore_support(y, PRED, average="samples", zero_division=1)
    assert m["samples"] == pytest.approx({"precision": p, "recall": r, "f1": f})
    # macro over labels with support only: a, b, c (d has none)
    p, r, f, _ = precision_recall_fscore_support(
        y, PRED, labels=[0, 1, 2], average="macro", zero_division=0
    )
    assert m["macro"] == pytest.approx({"precision": p, "recall": r, "f1": f})
    assert m["subset_accuracy"] == pytest.approx(accuracy_score(y, PRED))
    assert m["hamming_loss"] == pytest.approx(hamming_loss(y, PRED))
    assert m["accuracy"] is None


def test_conventions_are_reported():
    m = compute_metrics(GOLD, PRED, LABELS, mode="multi-label")
    assert m["labels_without_support"] == ["d"]
    assert m["unknown_gold_labels"] == {"zzz": 1}
    assert m["no_label_predicted"] == 1
    assert m["per_label"]["b"] == {
        "precision": 0.5,
        "recall": 0.5,
        "f1": 0.5,
        "support": 2,
        "predicted": 2,
    }
    assert m["per_label"]["d"]["support"] == 0


def test_empty_gold_and_prediction_counts_as_correct_in_samples_average():
    m = compute_metrics([(), ()], np.zeros((2, 2)), ["a", "b"], mode="multi-label")
    assert m["samples"]["f1"] == 1.0
    assert m["micro"]["f1"] == 0.0


def test_single_label_reports_accuracy():
    gold = [("a",), ("b",), ("a",)]
    pred = np.array([[1, 0], [1, 0], [1, 0]])
    m = compute_metrics(gold, pred, ["a", "b"], mode="single-label")
    assert m["accuracy"] == pytest.approx(2 / 3)


def test_shape_mismatch_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        compute_metrics([("a",)], np.zeros((1, 3)), ["a", "b"], mode="multi-label")


def test_fold_summary_is_mean_and_std():
    folds = [compute_metrics(GOLD, PRED, LABELS, mode="multi-label")] * 2
    folds.append(compute_metrics(GOLD, indicator_matrix(GOLD, LABELS), LABELS, mode="multi-label"))
    summary = summarize_folds(folds)
    values = [f["micro"]["f1"] for f in folds]
    assert summary["folds"] == 3
    assert summary["micro_f1"]["mean"] == pytest.approx(np.mean(values))
    assert summary["micro_f1"]["std"] == pytest.approx(np.std(values))
