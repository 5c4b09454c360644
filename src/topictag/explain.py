"""Why a model gave a label: each n-gram's contribution to the label's score.

A label's raw score is ``intercept + sum over n-grams (tf-idf value x coefficient)``; the
calibrated probability is ``1 / (1 + exp(a * score + b))`` (then normalized over labels for
single-label models). The numbers in an explanation add up to the model's own score.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from topictag.decision import sigmoid
from topictag.inference import Model


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
    _, cols, vals, known = model._features([text])
    scores = model.score([text])
    predicted = model.decide(scores.proba, known=known > 0)[0]
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


def format_explanation(explanations: list[LabelExplanation], *, top: int = 12) -> str:
    """Render explanations as terminal tables."""
    if not explanations:
        return "no label predicted (use --label to explain one)"
    lines = []
    for e in explanations:
        lines.append(
            f"{e.label}: probability {e.probability:.3f}"
            + ("" if e.predicted else " (not predicted)")
            + f"  score {e.score:+.4f} = intercept {e.intercept:+.4f}"
            f" + {len(e.contributions)} n-gram contributions"
        )
        lines.append(f"  {'n-gram':<28} {'tf-idf':>8} {'contribution':>13}")
        for term, value, contribution in e.contributions[:top]:
            lines.append(f"  {term:<28} {value:>8.4f} {contribution:>+13.4f}")
        rest = e.contributions[top:]
        if rest:
            lines.append(
                f"  {'(' + str(len(rest)) + ' more)':<28} {'':>8} "
                f"{sum(c for _, _, c in rest):>+13.4f}"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def explanation_html(
    text: str, explanations: list[LabelExplanation], model: Model, *, title: str = ""
) -> str:
    """Render the text with each word shaded by its contribution, one block per label."""
    from topictag.features import build_analyzer

    analyze = build_analyzer(model.data.views[0])
    blocks = []
    for e in explanations:
        unigram = {t: c for t, _, c in e.contributions if " " not in t}
        scale = max((abs(c) for c in unigram.values()), default=1.0) or 1.0
        pieces, position = [], 0
        for match in re.finditer(model.data.views[0].token_pattern, text):
            term = (analyze(match.group(0)) or [""])[0]
            pieces.append(html.escape(text[position : match.start()]))
            c = unigram.get(term, 0.0)
            color = "46,125,50" if c > 0 else "198,40,40"
            alpha = min(abs(c) / scale, 1.0) * 0.8
            pieces.append(
                f'<span class="term" title="{html.escape(term)}: {c:+.4f}" '
                f'style="background: rgba({color},{alpha:.2f})">'
                f"{html.escape(match.group(0))}</span>"
            )
            position = match.end()
        pieces.append(html.escape(text[position:]))
        rows = "".join(
            f"<tr><td>{html.escape(t)}</td><td>{v:.4f}</td><td>{c:+.4f}</td></tr>"
            for t, v, c in e.contributions[:15]
        )
        blocks.append(
            f"<section><h2>{html.escape(e.label)}: probability {e.probability:.3f}</h2>"
            f"<p class='sum'>score {e.score:+.4f} = intercept {e.intercept:+.4f} + contributions "
            f"{e.score - e.intercept:+.4f}</p><p class='text'>{''.join(pieces)}</p>"
            f"<table><tr><th>n-gram</th><th>tf-idf</th><th>contribution</th></tr>{rows}</table>"
            "</section>"
        )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title or 'topictag explanation')}</title><style>"
        "body{font:15px/1.5 system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
        ".text{padding:.8em;border:1px solid #ddd;border-radius:6px}"
        ".term{border-radius:3px;padding:0 1px}table{border-collapse:collapse}"
        "td,th{padding:2px 10px;border-bottom:1px solid #eee;text-align:left}"
        "</style></head><body>"
        f"<h1>{html.escape(title or 'Why these labels')}</h1>"
        "<p>Green words pushed the label's score up, red ones down (unigrams shown; the "
        "tables list every n-gram).</p>"
        + ("".join(blocks) or "<p>No label predicted.</p>")
        + "</body></html>\n"
    )
