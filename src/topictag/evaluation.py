"""Scoring a model on labeled paragraphs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from topictag.corpus import Record
from topictag.errors import DataError
from topictag.inference import Model
from topictag.metrics import compute_metrics, indicator_matrix

BATCH = 512


def evaluate_model(model: Model, records: Sequence[Record]) -> dict[str, Any]:
    """Predict every record with ``model`` and return the metrics (see :mod:`topictag.metrics`).

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
    predicted = []
    for start in range(0, len(records), BATCH):
        texts = [r.text for r in records[start : start + BATCH]]
        predicted += model.predict(texts)
    gold = [r.labels or () for r in records]
    return compute_metrics(
        gold, indicator_matrix(predicted, model.labels), model.labels, mode=model.mode
    )
