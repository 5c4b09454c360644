"""Why a model gave a label: each n-gram's contribution to the label's score.

A label's raw score is ``intercept + sum over n-grams (tf-idf value x coefficient)``; the
calibrated probability is ``1 / (1 + exp(a * score + b))`` (then normalized over labels for
single-label models). The numbers in an explanation add up to the model's own score.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from topictag.model.decision import sigmoid
from topictag.model.inference import Model


@dataclass
class LabelExplanation:
    """One label's score, taken apart."""

    label: str
    predicted: bool
    probability: float  # the model's probability (normalized for single-label models)
    calibrated: float  # the sigmoid of the raw score, before any normalization
    score: float  # intercept + sum of contributions
    intercept: float
    contributions: list[tuple[str, float, float]] = field(default_factory=list)  # term, value, x

    def to_json(self) -> dict[str, Any]:
        """Return the explanation as JSON-ready values."""
        return {
            "label": self.label,
            "predicted": self.predicted,
            "probability": self.probability,
            "calibrated": self.calibrated,
            "score": self.score,
            "intercept": self.intercept,
            "contributions": [
                {"term": t, "tfidf": v, "contribution": c} for t, v, c in self.contributions
            ],
        }


def explain(model: Model, text: str, *, labels: list[str] | None = None) -> list[LabelExplanation]:
    """Explain the predicted labels of a text (or the given ``labels``), largest share first."""
    _, cols, vals, _, _ = model._features([text])
    scores = model.score([text])
    predicted = model.labels_of(scores)[0]
    chosen = labels if labels is not None else predicted
    terms = model.terms()
    out = []
    for label in chosen:
        j = model.labels.index(label)
        weights = np.asarray(model.data.coef[cols, j], dtype=np.float64)
        parts = sorted(
            (
                (terms[c], float(v), float(v * w))
                for c, v, w in zip(cols, vals, weights, strict=True)
            ),
            key=lambda t: -abs(t[2]),
        )
        intercept = float(model.data.intercept[j])
        score = intercept + sum(p[2] for p in parts)
        a, b = model.data.calibration[j]
        out.append(
            LabelExplanation(
                label=label,
                predicted=label in predicted,
                probability=float(scores.proba[0, j]),
                calibrated=float(sigmoid(np.array([score]), a, b)[0]),
                score=score,
                intercept=intercept,
                contributions=parts,
            )
        )
    return out
