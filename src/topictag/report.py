"""Human-readable renderings of metrics: the Markdown report and the model card."""

from __future__ import annotations

from typing import Any

from topictag.bundle import ModelData

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
    """Render a metrics dict (see :mod:`topictag.metrics`) as a Markdown report."""
    lines = [f"# {title}", ""]
    lines += _headline(metrics)
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


def _headline(metrics: dict[str, Any]) -> list[str]:
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


def model_card(data: ModelData, name: str) -> str:
    """Render ``MODEL_CARD.md`` for a bundle from its manifest."""
    manifest = data.manifest
    training = manifest["training_data"]
    config = manifest["config"]
    metrics = manifest.get("metrics", {})
    files = ", ".join(f"`{f['name']}`" for f in training["files"])
    lines = [
        f"# Model card: {name}",
        "",
        "A topictag model: TF-IDF over word n-grams feeding one linear classifier per label, "
        "with per-label sigmoid calibration and per-label thresholds chosen on grouped "
        "out-of-fold scores of the training data.",
        "",
        "## Intended use",
        "",
        "Tagging news paragraphs in English with the topics below, for news analysis, media "
        "research and policy monitoring: as a first pass that people check, for counting and "
        "routing, not for decisions about individuals.",
        "",
        "## Labels and thresholds",
        "",
        f"Mode: **{data.mode}**"
        + (" (a paragraph may get several labels, or none)" if data.mode == "multi-label" else "")
        + (
            ". When no label passes its threshold, the most probable one is given."
            if data.at_least_one
            else "."
        ),
        "",
        "| label | training paragraphs | threshold |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{label}` | {training['label_counts'][label]} | {threshold:.3f} |"
        for label, threshold in zip(data.labels, data.thresholds, strict=True)
    ]
    lines += [
        "",
        "## Training data",
        "",
        f"{files}: {training['train_rows']} training paragraphs, {training['test_rows']} held "
        f"out for testing (SHA-256 `{training['sha256'][:16]}...`).",
        "",
        "## Recipe",
        "",
        f"- features: word {tuple(config['features']['ngram_range'])}-grams, "
        f"min_df {config['features']['min_df']}, sublinear tf {config['features']['sublinear_tf']}"
        + (
            f", char_wb {tuple(config['features']['char_ngram_range'])}-grams"
            if config["features"].get("char_ngram_range")
            else ""
        ),
        f"- classifier: {config['model']['classifier']}, C = {config['model']['C']}, "
        f"class weight {config['model']['class_weight']}",
        f"- calibration and thresholds: {config['decision']['cv_folds']} grouped folds; seed "
        f"{config['seed']}",
        f"- vocabulary: {data.coef.shape[0]} features",
        "",
        "## Evaluation",
        "",
    ]
    test = metrics.get("test")
    if test:
        lines += ["On the held-out test split:", "", *_headline(test)]
        if metrics.get("test_intervals"):
            lines += ["", "With 95% bootstrap intervals (resampling articles):", ""]
            lines += interval_lines(metrics["test_intervals"])
        lines += ["", "### Per label (test split)", "", *per_label_table(test)]
    else:
        lines.append("No test split was held out.")
    cv = metrics.get("cv")
    if cv:
        lines += [
            "",
            f"Grouped {cv['folds']}-fold cross-validation on the training split: micro F1 "
            f"{cv['micro_f1']['mean']:.3f} ± {cv['micro_f1']['std']:.3f}, macro F1 "
            f"{cv['macro_f1']['mean']:.3f} ± {cv['macro_f1']['std']:.3f}.",
        ]
    lines += [
        "",
        METRIC_NOTES,
        "",
        "## Limitations",
        "",
        "- A bag of n-grams: it sees words, not meaning; negation, irony and reported speech "
        "are not understood.",
        "- English only. Paragraphs with no known n-gram get no label and are flagged "
        "(`known_terms: 0`).",
        "- It knows only its training data's topics, era and register; text far from them "
        "(other domains, new names) gets less reliable scores.",
        "",
        "## How to use",
        "",
        "```",
        f'topictag classify --model {name} "Talks on the disputed islands resumed in Tokyo."',
        "```",
        "",
        "```python",
        "import topictag",
        f'model = topictag.load_model("{name}")',
        'model.predict(["Talks on the disputed islands resumed in Tokyo."])',
        "```",
        "",
        f"Versions: topictag {manifest['topictag_version']}, "
        + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)
