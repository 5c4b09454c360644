"""Evaluation metrics: one definition, used by ``train``, ``evaluate`` and cross-validation.

Conventions
-----------
- Metrics are computed over the model's labels. Gold labels the model does not know are
  counted (``unknown_gold_labels``) and then ignored.
- Macro averages are over the labels with support > 0 in the evaluated data; labels without
  support are listed in ``labels_without_support`` and not averaged.
- Samples-averaged scores count a paragraph with no gold and no predicted label as correct
  (``zero_division=1``); every other average uses ``zero_division=0``.
- Single-label models also report ``accuracy`` (equal to subset accuracy there).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from topictag.model.decision import SINGLE_LABEL

SCHEMA_VERSION = 1
AVERAGES = ("micro", "macro", "weighted", "samples")


def indicator_matrix(label_sets: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """Return the binary matrix (n_rows, n_labels) of which rows carry which of ``labels``.

    Labels outside ``labels`` are ignored.
    """
    index = {label: j for j, label in enumerate(labels)}
    matrix = np.zeros((len(label_sets), len(labels)), dtype=np.int8)
    for i, row in enumerate(label_sets):
        for label in row:
            j = index.get(label)
            if j is not None:
                matrix[i, j] = 1
    return matrix


def compute_metrics(
    gold: Sequence[Sequence[str]],
    predicted: np.ndarray,
    labels: Sequence[str],
    *,
    mode: str,
) -> dict[str, Any]:
    """Score predictions against gold labels.

    Parameters
    ----------
    gold : sequence of label sequences
        The gold labels of each paragraph (labels unknown to the model are allowed).
    predicted : ndarray of shape (n_paragraphs, n_labels)
        The binary predictions, columns in the order of ``labels``.
    labels : sequence of str
        The model's labels.
    mode : {"multi-label", "single-label"}

    Returns
    -------
    dict
        The metrics, in the shape described by ``schemas/metrics.schema.json`` (``metrics``).
    """
    from sklearn.metrics import hamming_loss, precision_recall_fscore_support

    labels = list(labels)
    known = set(labels)
    y_true = indicator_matrix(gold, labels)
    y_pred = np.asarray(predicted, dtype=np.int8)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"predictions have shape {y_pred.shape}, expected {y_true.shape}")
    unknown = Counter(label for row in gold for label in row if label not in known)
    support = y_true.sum(axis=0)
    supported = [j for j in range(len(labels)) if support[j] > 0]
    result: dict[str, Any] = {"mode": mode, "n_paragraphs": len(gold), "labels": labels}
    for average in AVERAGES:
        columns = supported if average == "macro" else list(range(len(labels)))
        if not columns or not len(gold):
            p = r = f = 0.0
        else:
            p, r, f, _ = precision_recall_fscore_support(
                y_true,
                y_pred,
                labels=columns,
                average=average,
                zero_division=1.0 if average == "samples" else 0.0,
            )
        result[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    subset = float(np.mean(np.all(y_true == y_pred, axis=1))) if len(gold) else 0.0
    result["subset_accuracy"] = subset
    result["hamming_loss"] = float(hamming_loss(y_true, y_pred)) if len(gold) else 0.0
    result["accuracy"] = subset if mode == SINGLE_LABEL else None
    result["no_label_predicted"] = int(np.sum(~y_pred.any(axis=1)))
    p, r, f, s = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(labels))), average=None, zero_division=0.0
    )
    result["per_label"] = {
        label: {
            "precision": float(p[j]),
            "recall": float(r[j]),
            "f1": float(f[j]),
            "support": int(s[j]),
            "predicted": int(y_pred[:, j].sum()),
        }
        for j, label in enumerate(labels)
    }
    result["labels_without_support"] = [labels[j] for j in range(len(labels)) if support[j] == 0]
    result["unknown_gold_labels"] = dict(sorted(unknown.items()))
    return result


def summarize_folds(folds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Return the mean and standard deviation over cross-validation folds of the headline scores."""
    keys = {
        "micro_f1": lambda m: m["micro"]["f1"],
        "macro_f1": lambda m: m["macro"]["f1"],
        "samples_f1": lambda m: m["samples"]["f1"],
        "subset_accuracy": lambda m: m["subset_accuracy"],
    }
    summary: dict[str, Any] = {"folds": len(folds)}
    for name, get in keys.items():
        values = np.array([get(m) for m in folds], dtype=np.float64)
        summary[name] = {"mean": float(values.mean()), "std": float(values.std())}
    return summary


def format_summary(metrics: dict[str, Any]) -> str:
    """Return a short plain-text summary of a metrics dict, for the terminal."""
    lines = [
        f"paragraphs: {metrics['n_paragraphs']}   mode: {metrics['mode']}",
        f"micro F1 {metrics['micro']['f1']:.3f}   macro F1 {metrics['macro']['f1']:.3f}   "
        f"samples F1 {metrics['samples']['f1']:.3f}",
        f"subset accuracy {metrics['subset_accuracy']:.3f}   "
        f"Hamming loss {metrics['hamming_loss']:.4f}   "
        f"no label predicted {metrics['no_label_predicted']}",
    ]
    if metrics.get("accuracy") is not None:
        lines.append(f"accuracy {metrics['accuracy']:.3f}")
    return "\n".join(lines)
