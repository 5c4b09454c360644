"""Human-readable renderings of metrics: the Markdown report and the model card."""

from __future__ import annotations

from typing import Any

METRIC_NOTES = (
    "Metrics are over the model's labels; gold labels the model does not know are counted and "
    "ignored. Macro averages are over labels with support in the evaluated data. "
    "Samples-averaged scores count a paragraph with no gold and no predicted label as correct."
)


def metrics_markdown(
    metrics: dict[str, Any],
    *,
    title: str = "Evaluation",
    intervals: dict[str, dict[str, float]] | None = None,
) -> str:
    """Render a metrics dict (see :mod:`topictag.evaluate.metrics`) as a Markdown report."""
    lines = [f"# {title}", ""]
    lines += headline_lines(metrics)
    if intervals:
        lines += ["", *interval_lines(intervals)]
    lines += ["", "## Per label", "", *per_label_table(metrics)]
    if metrics["labels_without_support"]:
        lines += [
            "",
            "Labels with no support in this data (not in macro averages): "
            + ", ".join(f"`{x}`" for x in metrics["labels_without_support"]),
        ]
    if metrics["unknown_gold_labels"]:
        unknown = ", ".join(f"`{k}` ({v})" for k, v in metrics["unknown_gold_labels"].items())
        lines += ["", f"Gold labels the model does not know (ignored): {unknown}"]
    lines += ["", METRIC_NOTES, ""]
    return "\n".join(lines)


def interval_lines(intervals: dict[str, dict[str, float]]) -> list[str]:
    """Markdown lines for the headline metrics with their 95% bootstrap intervals."""
    names = {
        "micro_f1": "micro F1",
        "macro_f1": "macro F1",
        "subset_accuracy": "subset accuracy",
        "hamming_loss": "Hamming loss",
    }
    return [
        "| metric | value | 95% bootstrap interval |",
        "|---|---|---|",
        *(
            f"| {names[k]} | {v['value']:.3f} | {v['low']:.3f} - {v['high']:.3f} |"
            for k, v in intervals.items()
        ),
    ]


def comparison_markdown(comparison: dict[str, Any]) -> str:
    """Render a model comparison (paired bootstrap, McNemar) as Markdown."""
    lines = [
        f"## {comparison['a']} (A) vs {comparison['b']} (B)",
        "",
        "| metric | A | B | A - B | 95% interval of A - B | p |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in comparison["overall"].items():
        lines.append(
            f"| {name} | {v['a']:.3f} | {v['b']:.3f} | {v['difference']:+.3f} | "
            f"{v['low']:+.3f} to {v['high']:+.3f} | {v['p_value']:.3f} |"
        )
    mcnemar = comparison.get("mcnemar")
    if mcnemar:
        lines += [
            "",
            f"McNemar's exact test: {mcnemar['only_a_correct']} paragraphs right only with A, "
            f"{mcnemar['only_b_correct']} only with B, p = {mcnemar['p_value']:.4f}.",
        ]
    lines += [
        "",
        "Paired bootstrap: both models scored on the same 1,000 resamples; a difference is real "
        "at the 5% level when its interval excludes 0.",
        "",
    ]
    return "\n".join(lines)


def per_label_table(metrics: dict[str, Any]) -> list[str]:
    """Return the per-label Markdown table rows, best F1 first."""
    rows = sorted(metrics["per_label"].items(), key=lambda kv: (-kv[1]["f1"], kv[0]))
    table = [
        "| label | precision | recall | F1 | support | predicted |",
        "|---|---|---|---|---|---|",
    ]
    table += [
        f"| `{label}` | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
        f"{m['support']} | {m['predicted']} |"
        for label, m in rows
    ]
    return table


def headline_lines(metrics: dict[str, Any]) -> list[str]:
    lines = [
        f"{metrics['n_paragraphs']} paragraphs, {len(metrics['labels'])} labels, "
        f"{metrics['mode']} model.",
        "",
        "| average | precision | recall | F1 |",
        "|---|---|---|---|",
    ]
    for average in ("micro", "macro", "weighted", "samples"):
        m = metrics[average]
        lines.append(f"| {average} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} |")
    lines.append("")
    if metrics.get("accuracy") is not None:
        lines.append(f"- accuracy: {metrics['accuracy']:.3f}")
    lines += [
        f"- subset accuracy (exact label set): {metrics['subset_accuracy']:.3f}",
        f"- Hamming loss: {metrics['hamming_loss']:.4f}",
        f"- paragraphs predicted with no label: {metrics['no_label_predicted']}",
    ]
    return lines
