"""The drift report for people: plain text, and one self-contained HTML page.

Both render the dictionary of :func:`topictag.model.drift.compare`; the HTML page draws the
two histograms (new text against the reference) as inline SVG bars, with no script and no
network.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

_LABELS_SHOWN = 40


def format_drift(report: dict[str, Any]) -> str:
    """Render a drift report as text: the overall number, each component, shifted labels."""
    lines = [f"drift: {_number(report['drift'])} over {report['rows']} paragraph(s)"]
    known, confidence = report["known_share"], report["confidence"]
    lines.append(
        f"known-token share: {known['new']:.1%}"
        + (f" (reference {known['reference']:.1%})" if "reference" in known else "")
        + _psi(known)
    )
    lines.append(
        f"mean top probability: {confidence['new']:.3f}"
        + (f" (reference {confidence['reference']:.3f})" if "reference" in confidence else "")
        + _psi(confidence)
    )
    if report.get("label_mix"):
        lines.append("label mix (labels and no label): " + _psi(report["label_mix"])[2:])
    shifted = [row for row in report["labels"] if row.get("shifted")]
    rows = shifted or report["labels"][:5]
    lines.append("labels whose rate moved:" if shifted else "no label's rate moved; the first:")
    for row in rows[:_LABELS_SHOWN]:
        low, high = row["interval"]
        lines.append(
            f"  {row['label']}: {row['rate']:.1%} [{low:.1%}, {high:.1%}]"
            + (f", reference {row['reference']:.1%}" if "reference" in row else "")
            + (f", training labels {row['training']:.1%}" if "training" in row else "")
        )
    if report["new_terms"]:
        lines.append(
            "new terms: "
            + ", ".join(f"{t['term']} ({t['paragraphs']})" for t in report["new_terms"][:10])
            + " (paragraphs)"
        )
    lines += [f"cannot compute: {reason}" for reason in report["missing"]]
    return "\n".join(lines)


def render_drift_html(report: dict[str, Any], *, title: str) -> str:
    """Return the drift report as one HTML document."""
    known, confidence = report["known_share"], report["confidence"]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='drift'>drift <strong>{_number(report['drift'])}</strong> over "
        f"{report['rows']} paragraph(s); 0 means no shift beyond chance, 0.1-0.25 moderate, "
        "above 0.25 large.</p>",
        "".join(
            f"<p class='missing'>Cannot compute: {html.escape(m)}</p>" for m in report["missing"]
        ),
        "<h2>Known-token share</h2>",
        f"<p>{known['new']:.1%} of the n-grams are known"
        + (f" (reference {known['reference']:.1%})" if "reference" in known else "")
        + html.escape(_psi(known))
        + "</p>",
        _bars(known, "share of a paragraph's n-grams the model knows"),
        "<h2>Confidence</h2>",
        f"<p>mean top probability {confidence['new']:.3f}"
        + (f" (reference {confidence['reference']:.3f})" if "reference" in confidence else "")
        + html.escape(_psi(confidence))
        + "</p>",
        _bars(confidence, "each paragraph's highest probability"),
        "<h2>Labels</h2>",
        _label_table(report),
        "<h2>New terms</h2>",
        _terms(report["new_terms"]),
    ]
    style = (
        "body{font:14px/1.4 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;"
        "text-align:right}td:first-child,th:first-child{text-align:left}tr.shifted{background:"
        "#fde8e8}.missing{color:#a33}.drift strong{font-size:1.4em}svg{display:block}"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
        + "\n".join(parts)
        + "</body></html>\n"
    )


def _number(value: float | None) -> str:
    return "unknown" if value is None else f"{value:.3f}"


def _psi(part: dict[str, Any]) -> str:
    if "psi" not in part:
        return ""
    return f", PSI {part['psi']:.3f} (chance {part['noise']:.3f}, excess {part['excess']:.3f})"


def _bars(part: dict[str, Any], caption: str) -> str:
    """Two bar series over 10 bins: reference (grey) and new (blue), as inline SVG."""
    new: Sequence[float] = part["histogram"]
    old: Sequence[float] = part.get("reference_histogram") or []
    width, height, pad = 520, 160, 24
    top = max([*new, *old, 1e-9])
    slot = (width - pad) / len(new)
    rects = []
    for k in range(len(new)):
        for offset, series, colour in ((0.1, old, "#aaa"), (0.5, new, "#3566b8")):
            if k >= len(series):
                continue
            h = (height - pad) * series[k] / top
            rects.append(
                f"<rect x='{pad + (k + offset) * slot:.1f}' y='{height - pad - h:.1f}' "
                f"width='{0.4 * slot:.1f}' height='{h:.1f}' fill='{colour}'>"
                f"<title>{k / len(new):.1f}-{(k + 1) / len(new):.1f}: {series[k]:.1%}</title>"
                "</rect>"
            )
    ticks = "".join(
        f"<text x='{pad + k * slot:.1f}' y='{height - 6}' font-size='10'>{k / len(new):.1f}</text>"
        for k in range(0, len(new) + 1, 2)
    )
    legend = "<text x='30' y='12' font-size='11' fill='#3566b8'>new text</text>" + (
        "<text x='100' y='12' font-size='11' fill='#777'>reference</text>" if old else ""
    )
    return (
        f"<figure><svg width='{width}' height='{height}' role='img' "
        f"aria-label='{html.escape(caption)}'>{legend}{''.join(rects)}{ticks}</svg>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _label_table(report: dict[str, Any]) -> str:
    head = (
        "<table><tr><th>label</th><th>new rate</th><th>95% interval</th>"
        "<th>reference</th><th>training labels</th></tr>"
    )
    rows = []
    for row in report["labels"]:
        low, high = row["interval"]
        rows.append(
            f"<tr class='{'shifted' if row.get('shifted') else ''}'>"
            f"<td>{html.escape(row['label'])}</td><td>{row['rate']:.1%}</td>"
            f"<td>{low:.1%} - {high:.1%}</td>"
            f"<td>{_rate(row.get('reference'))}</td><td>{_rate(row.get('training'))}</td></tr>"
        )
    return (
        head
        + "".join(rows)
        + "</table><p>Shaded rows: the reference rate lies outside the interval.</p>"
    )


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _terms(terms: list[dict[str, Any]]) -> str:
    if not terms:
        return "<p>No unknown terms.</p>"
    cells = "".join(
        f"<tr><td>{html.escape(t['term'])}</td><td>{t['paragraphs']}</td><td>{t['share']:.1%}</td></tr>"
        for t in terms
    )
    return (
        "<p>Terms the model does not know, in most paragraphs first.</p>"
        f"<table><tr><th>term</th><th>paragraphs</th><th>share</th></tr>{cells}</table>"
    )
