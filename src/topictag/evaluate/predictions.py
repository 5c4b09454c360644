"""A model's predictions on labeled paragraphs, and the numbers computed from them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from topictag.data.corpus import Record, group_keys
from topictag.errors import DataError
from topictag.evaluate.metrics import compute_metrics, indicator_matrix
from topictag.model.inference import Model

BATCH = 512


@dataclass
class Predictions:
    """A model's outputs on labeled records, aligned row by row."""

    records: Sequence[Record]
    labels: list[str]
    gold: np.ndarray  # (n, n_labels) binary
    predicted: np.ndarray  # (n, n_labels) binary
    proba: np.ndarray  # (n, n_labels)
    raw: np.ndarray  # (n, n_labels) linear scores


def predict_records(model: Model, records: Sequence[Record]) -> Predictions:
    """Run a model over labeled records.

    Raises
    ------
    DataError
        If there are no records or a record has no ``labels``.
    """
    if not records:
        raise DataError("no paragraphs to evaluate")
    unlabeled = next((r for r in records if r.labels is None), None)
    if unlabeled is not None:
        raise DataError(
            f"paragraph {unlabeled.id!r} has no 'labels'; evaluation needs labeled data"
        )
    probas, raws, chosen = [], [], []
    for start in range(0, len(records), BATCH):
        scores = model.score([r.text for r in records[start : start + BATCH]])
        probas.append(scores.proba)
        raws.append(scores.raw)
        chosen += model.labels_of(scores)
    return Predictions(
        records=records,
        labels=model.labels,
        gold=indicator_matrix([r.labels or () for r in records], model.labels),
        predicted=indicator_matrix(chosen, model.labels),
        proba=np.vstack(probas),
        raw=np.vstack(raws),
    )


def metrics_of(model: Model, predictions: Predictions) -> dict[str, Any]:
    """The metrics of predictions (gold labels the model does not know are counted)."""
    gold = [r.labels or () for r in predictions.records]
    return compute_metrics(gold, predictions.predicted, model.labels, mode=model.mode)


def intervals_of(predictions: Predictions) -> dict[str, dict[str, float]]:
    """95% bootstrap intervals of the headline metrics (resampling the rows' group keys)."""
    from topictag.evaluate.bootstrap import confidence_intervals, unit_counts, unit_ids

    units = unit_ids(group_keys(predictions.records))
    return confidence_intervals(unit_counts(predictions.gold, predictions.predicted, units))


def compare_predictions(
    a: Predictions, b: Predictions, *, names: tuple[str, str], mode: str
) -> dict[str, Any]:
    """Compare two models' predictions on the same records (paired bootstrap, McNemar)."""
    from topictag.evaluate.bootstrap import mcnemar, paired_comparison, unit_counts, unit_ids

    if a.labels != b.labels:
        raise DataError(
            f"models {names[0]!r} and {names[1]!r} have different labels; compare models "
            "trained for the same labels"
        )
    units = unit_ids(group_keys(a.records))
    result: dict[str, Any] = {
        "a": names[0],
        "b": names[1],
        "overall": paired_comparison(
            unit_counts(a.gold, a.predicted, units), unit_counts(b.gold, b.predicted, units)
        ),
    }
    if mode == "single-label":
        a_right = np.all(a.gold == a.predicted, axis=1)
        b_right = np.all(b.gold == b.predicted, axis=1)
        result["mcnemar"] = mcnemar(a_right, b_right)
    return result
