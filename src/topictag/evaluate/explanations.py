"""Rendering explanations for people: aligned text tables and a highlighted HTML page."""

from __future__ import annotations

import html
import re

from topictag.model.explain import LabelExplanation
from topictag.model.features import build_analyzer
from topictag.model.inference import Model


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
