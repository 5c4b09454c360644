"""The self-contained HTML evaluation report (``evaluate --output DIR`` writes ``report.html``).

One file, plots as inline SVG (matplotlib, imported only here), no network: summary metrics with
bootstrap intervals, a sortable per-label table, precision-recall curves with the operating
threshold, a reliability plot with its expected calibration error, a label confusion view, the
strongest n-grams per label, and the most confident errors with the n-grams behind them.
"""

from __future__ import annotations

import html
import io
import re
from typing import Any

import numpy as np

from topictag.evaluate.predictions import Predictions
from topictag.model.decision import SINGLE_LABEL
from topictag.model.inference import Model

BINS = 10
ERRORS_SHOWN = 3
NGRAMS_SHOWN = 8
CONFUSIONS_SHOWN = 15


def expected_calibration_error(
    proba: np.ndarray, gold: np.ndarray, bins: int = BINS
) -> dict[str, Any]:
    """Bin every (paragraph, label) probability; return per-bin confidence, frequency and ECE."""
    p, y = proba.ravel(), gold.ravel().astype(float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    confidence = np.bincount(which, weights=p, minlength=bins) / np.maximum(count, 1)
    frequency = np.bincount(which, weights=y, minlength=bins) / np.maximum(count, 1)
    ece = float(np.sum(count / max(len(p), 1) * np.abs(confidence - frequency)))
    return {"count": count, "confidence": confidence, "frequency": frequency, "ece": ece}


def render_report(
    model: Model,
    name: str,
    predictions: Predictions,
    metrics: dict[str, Any],
    intervals: dict[str, dict[str, float]],
    *,
    comparison: dict[str, Any] | None = None,
) -> str:
    """Return the report as one HTML document.

    The figures are matplotlib ``Figure`` objects drawn straight to SVG: no backend is
    selected and pyplot is not used, and the style lives in an ``rc_context`` that is restored
    on return, so the caller's matplotlib settings are untouched.
    """
    import matplotlib

    labels = model.labels
    # a fixed hash salt keeps the SVG ids, and so the page, the same from run to run
    with matplotlib.rc_context({"svg.hashsalt": "topictag", "font.size": 9}):
        sections = [
            _summary(metrics, intervals, predictions),
            _label_table(model, predictions, metrics),
            _pr_curves(model, predictions),
            _reliability(predictions),
            _confusion(model, predictions),
            _ngrams(model),
            _errors(model, predictions),
        ]
    if comparison:
        sections.insert(1, _comparison(comparison))
    nav = "".join(
        f'<a href="#{anchor}">{title}</a>'
        for anchor, title in [
            ("summary", "Summary"),
            ("labels", "Per label"),
            ("pr", "Precision-recall"),
            ("calibration", "Calibration"),
            ("confusion", "Confusion"),
            ("ngrams", "N-grams"),
            ("errors", "Errors"),
        ]
    )
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>topictag report: {html.escape(name)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{html.escape(name)}</h1><p>{len(predictions.records)} paragraphs, "
        f"{len(labels)} labels, {html.escape(model.mode)} model</p><nav>{nav}</nav></header>"
        + "".join(sections)
        + f"<script>{_SORT_JS}</script></body></html>\n"
    )


def _summary(metrics: dict[str, Any], intervals: dict[str, Any], predictions: Predictions) -> str:
    unit = (
        "articles" if all(r.article_id is not None for r in predictions.records) else "paragraphs"
    )
    names = {
        "micro_f1": "micro F1",
        "macro_f1": "macro F1",
        "subset_accuracy": "subset accuracy" if metrics["mode"] != SINGLE_LABEL else "accuracy",
        "hamming_loss": "Hamming loss",
    }
    cards = "".join(
        f"<div class='card'><div class='big'>{intervals[k]['value']:.3f}</div>"
        f"<div>{label}</div><div class='ci'>95% CI {intervals[k]['low']:.3f}-"
        f"{intervals[k]['high']:.3f}</div></div>"
        for k, label in names.items()
    )
    return (
        "<section id='summary'><h2>Summary</h2>"
        f"<div class='cards'>{cards}</div><p class='note'>Intervals: 1,000 bootstrap resamples of "
        f"{unit} (seed 0). Macro F1 averages labels with support in the data; "
        f"{metrics['no_label_predicted']} paragraphs got no label.</p></section>"
    )


def _comparison(comparison: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v['a']:.3f}</td><td>{v['b']:.3f}</td>"
        f"<td>{v['difference']:+.3f}</td><td>{v['low']:+.3f} to {v['high']:+.3f}</td>"
        f"<td>{v['p_value']:.3f}</td></tr>"
        for k, v in comparison["overall"].items()
    )
    mcnemar = comparison.get("mcnemar")
    extra = (
        f"<p>McNemar's exact test: {mcnemar['only_a_correct']} paragraphs right only with "
        f"{html.escape(comparison['a'])}, {mcnemar['only_b_correct']} only with "
        f"{html.escape(comparison['b'])}; p = {mcnemar['p_value']:.4f}.</p>"
        if mcnemar
        else ""
    )
    return (
        f"<section id='compare'><h2>{html.escape(comparison['a'])} vs "
        f"{html.escape(comparison['b'])}</h2><table><tr><th>metric</th><th>A</th><th>B</th>"
        "<th>A - B</th><th>95% CI of A - B</th><th>p</th></tr>"
        f"{rows}</table>{extra}<p class='note'>Paired bootstrap: both models scored on the same "
        "1,000 resamples.</p></section>"
    )


def _label_table(model: Model, predictions: Predictions, metrics: dict[str, Any]) -> str:
    from sklearn.metrics import average_precision_score

    rows = []
    for j, label in enumerate(model.labels):
        m = metrics["per_label"][label]
        y = predictions.gold[:, j]
        ap = average_precision_score(y, predictions.proba[:, j]) if y.any() else float("nan")
        rows.append((m["f1"], label, m, ap, float(model.thresholds[j])))
    rows.sort(key=lambda r: (-r[0], r[1]))
    body = "".join(
        f"<tr><td>{html.escape(label)}</td><td>{m['precision']:.3f}</td><td>{m['recall']:.3f}</td>"
        f"<td>{m['f1']:.3f}</td><td>{m['support']}</td>"
        f"<td>{'-' if np.isnan(ap) else f'{ap:.3f}'}</td><td>{t:.3f}</td></tr>"
        for _, label, m, ap, t in rows
    )
    return (
        "<section id='labels'><h2>Per label</h2><p class='note'>Click a column to sort.</p>"
        "<table class='sortable'><thead><tr><th>label</th><th>precision</th><th>recall</th>"
        "<th>F1</th><th>support</th><th>average precision</th><th>threshold</th></tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def _pr_curves(model: Model, predictions: Predictions) -> str:
    from sklearn.metrics import precision_recall_curve

    figures = []
    for j, label in enumerate(model.labels):
        y, p = predictions.gold[:, j], predictions.proba[:, j]
        fig = _figure(figsize=(2.6, 2.2))
        ax = fig.subplots()
        if y.any():
            precision, recall, thresholds = precision_recall_curve(y, p)
            ax.plot(recall, precision, color="#1565c0", lw=1.4)
            t = model.thresholds[j]
            at = int(np.searchsorted(thresholds, t)) if len(thresholds) else 0
            at = min(at, len(precision) - 1)
            ax.plot([recall[at]], [precision[at]], "o", color="#c62828", ms=5)
        else:
            ax.text(0.5, 0.5, "no support", ha="center", va="center")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(label, fontsize=9)
        fig.tight_layout()
        figures.append(
            f"<figure class='plot pr-curve' data-label='{html.escape(label)}'>{_svg(fig)}</figure>"
        )
    return (
        "<section id='pr'><h2>Precision-recall curves</h2><p class='note'>The red dot is the "
        f"operating point: the label's threshold.</p><div class='grid'>{''.join(figures)}</div>"
        "</section>"
    )


def _reliability(predictions: Predictions) -> str:
    ece = expected_calibration_error(predictions.proba, predictions.gold)
    fig = _figure(figsize=(4.2, 4.2))
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1]}, sharex=True)
    used = ece["count"] > 0
    top.plot([0, 1], [0, 1], ls="--", color="#999", lw=1)
    top.plot(ece["confidence"][used], ece["frequency"][used], "o-", color="#1565c0")
    top.set_ylabel("observed frequency")
    top.set_title(f"expected calibration error {ece['ece']:.4f}")
    centers = (np.arange(BINS) + 0.5) / BINS
    bottom.bar(centers, ece["count"], width=1.0 / BINS * 0.9, color="#90a4ae")
    bottom.set_yscale("log")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("pairs")
    fig.tight_layout()
    return (
        "<section id='calibration'><h2>Calibration</h2>"
        f"<figure class='plot reliability'>{_svg(fig)}</figure><p class='note'>Every "
        "(paragraph, label) probability, in ten bins: points on the diagonal mean the "
        f"probabilities can be read as frequencies. ECE = {ece['ece']:.4f}.</p></section>"
    )


def _confusion(model: Model, predictions: Predictions) -> str:
    labels = model.labels
    matrix = predictions.gold.T.astype(float) @ predictions.predicted.astype(float)
    single = model.mode == SINGLE_LABEL
    size = max(4.0, 0.28 * len(labels) + 2.0)
    fig = _figure(figsize=(size, size))
    ax = fig.subplots()
    shown = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    if len(labels) <= 20:
        for i in range(len(labels)):
            for j in range(len(labels)):
                if matrix[i, j]:
                    ax.text(
                        j,
                        i,
                        str(int(matrix[i, j])),
                        ha="center",
                        va="center",
                        fontsize=6,
                        color="white" if shown[i, j] > 0.5 else "#222",
                    )
    fig.tight_layout()
    what = (
        "Confusion matrix: rows are the true label, columns the predicted one."
        if single
        else "Label confusion: cell (true T, predicted P) counts paragraphs that carry T and "
        "were given P. The diagonal is hits; off the diagonal, which labels are mistaken for "
        "which. Shading is the share of the row."
    )
    wrong = predictions.predicted.astype(bool) & ~predictions.gold.astype(bool)
    mistakes = predictions.gold.T.astype(float) @ wrong.astype(float)  # P given, not a gold label
    pairs = [
        (int(mistakes[i, j]), labels[i], labels[j])
        for i, j in zip(*np.nonzero(mistakes), strict=True)
    ]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    top = "".join(
        f"<tr><td>{html.escape(t)}</td><td>{html.escape(p)}</td><td>{n}</td></tr>"
        for n, t, p in pairs[:CONFUSIONS_SHOWN]
    )
    table = (
        "<h3>Most frequent confusions</h3><p class='note'>Paragraphs that carry the true label "
        "and were wrongly given the other one (it is not among their gold labels).</p>"
        "<table><tr><th>true label</th><th>wrongly predicted</th>"
        f"<th>paragraphs</th></tr>{top}</table>"
        if pairs
        else ""
    )
    return (
        "<section id='confusion'><h2>Confusion</h2>"
        f"<figure class='plot confusion'>{_svg(fig)}</figure><p class='note'>{what}</p>"
        f"{table}</section>"
    )


def _ngrams(model: Model) -> str:
    terms = model.terms()
    coef = np.asarray(model.data.coef, dtype=np.float64)
    rows = []
    for j, label in enumerate(model.labels):
        order = np.argsort(coef[:, j])
        positive = ", ".join(html.escape(terms[i]) for i in order[::-1][:NGRAMS_SHOWN])
        negative = ", ".join(html.escape(terms[i]) for i in order[:NGRAMS_SHOWN])
        rows.append(f"<tr><td>{html.escape(label)}</td><td>{positive}</td><td>{negative}</td></tr>")
    return (
        "<section id='ngrams'><h2>Strongest n-grams</h2><table><tr><th>label</th>"
        "<th>most positive</th><th>most negative</th></tr>" + "".join(rows) + "</table></section>"
    )


def _errors(model: Model, predictions: Predictions) -> str:
    from topictag.model.explain import explain

    blocks = []
    for j, label in enumerate(model.labels):
        gold, chosen = predictions.gold[:, j], predictions.predicted[:, j]
        p = predictions.proba[:, j]
        parts = []
        for kind, mask, order in (
            ("false positives", (chosen == 1) & (gold == 0), -p),
            ("false negatives", (chosen == 0) & (gold == 1), p),
        ):
            rows = [i for i in np.argsort(order, kind="stable") if mask[i]][:ERRORS_SHOWN]
            items = []
            for i in rows:
                record = predictions.records[i]
                (why,) = explain(model, record.text, labels=[label])
                drivers = ", ".join(
                    f"{html.escape(t)} ({c:+.2f})" for t, _, c in why.contributions[:5]
                )
                text = record.text if len(record.text) <= 400 else record.text[:397] + "..."
                items.append(
                    f"<li><span class='p'>p = {p[i]:.3f}</span> "
                    f"<span class='id'>{html.escape(record.id)}</span> "
                    f"<q>{html.escape(_one_line(text))}</q><br><span class='why'>driven by: "
                    f"{drivers or 'no known n-gram'}</span></li>"
                )
            listing = f"<ol>{''.join(items)}</ol>" if items else "<p>none</p>"
            parts.append(f"<h4>{kind}</h4>{listing}")
        blocks.append(f"<details><summary>{html.escape(label)}</summary>{''.join(parts)}</details>")
    return (
        "<section id='errors'><h2>Most confident errors</h2><p class='note'>For each label, the "
        "paragraphs the model was surest about and got wrong, with the n-grams that drove the "
        f"label's score.</p>{''.join(blocks)}</section>"
    )


def _figure(**options: Any) -> Any:
    """Return a new matplotlib ``Figure`` on its own SVG canvas (no pyplot, no global backend).

    The SVG canvas also lays the figure out (``tight_layout``) with SVG text metrics.
    """
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    fig = Figure(**options)
    FigureCanvasSVG(fig)
    return fig


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;color:#1f2328;margin:0;
background:#fafafa}
header{background:#263238;color:#fff;padding:1.2em 2em}header h1{margin:0;font-size:1.6em}
header p{margin:.3em 0;color:#cfd8dc}nav a{color:#fff;margin-right:1.2em;text-decoration:none;
border-bottom:1px dotted #90a4ae}section{background:#fff;margin:1.2em 2em;padding:1em 1.5em;
border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.08)}h2{margin-top:0}
.cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #e0e0e0;border-radius:8px;
padding:.8em 1.2em;min-width:150px}.big{font-size:2em;font-weight:600;color:#1565c0}
.ci,.note{color:#666}table{border-collapse:collapse}th,td{padding:3px 10px;
border-bottom:1px solid #eee;text-align:left}th{cursor:pointer;background:#f5f5f5}
.grid{display:flex;flex-wrap:wrap;gap:.5em}figure{margin:0}figure svg{height:auto;max-width:100%}
.confusion{overflow-x:auto}.confusion svg{max-width:none;width:auto}
details{margin:.3em 0}summary{cursor:pointer;font-weight:600}
q{color:#333}.why{color:#2e7d32;font-size:.9em}.p{font-weight:600}.id{color:#888}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var descending = th.dataset.order !== 'desc';
    th.dataset.order = descending ? 'desc' : 'asc';
    rows.sort(function (a, b) {
      var x = a.cells[column].textContent, y = b.cells[column].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny;
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"""
