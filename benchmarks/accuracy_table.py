"""The Markdown table of ``make bench`` (benchmarks/results.md), from benchmarks/out/*.json."""

from __future__ import annotations

import json
import platform
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import CORPORA, OUT, cpu_model, topictag_version

PUBLISHED = {
    "reuters21578": "linear SVM micro/macro F1 0.860 / 0.525 (Yang and Liu, 1999)",
    "bbc": "accuracy 0.96-0.98 (community reports)",
    "nyt_headlines": "-",
    "us_congress_bills": "-",
}
TARGETS = {
    "reuters21578": {"micro_f1": 0.890, "macro_f1": 0.640},
    "bbc": {"accuracy": 0.990},
    "nyt_headlines": {"accuracy": 0.60},
    "us_congress_bills": {"accuracy": 0.82},
}


def write_table(path: Path) -> None:
    """Write results.md from every corpus result in benchmarks/out."""
    results = [
        json.loads((OUT / f"{name}.json").read_text())
        for name in CORPORA
        if (OUT / f"{name}.json").is_file()
    ]
    lines = [
        "# Accuracy and training speed: topictag, a plain pipeline and fastText",
        "",
        f"Produced by `make bench` (`python benchmarks/bench_accuracy.py`) on {date.today()}, "
        f"{cpu_model()}, 2 cores shared with other work. Python {platform.python_version()}, "
        f"scikit-learn {version('scikit-learn')}, numpy {version('numpy')}, fasttext "
        f"{version('fasttext')}, topictag {topictag_version()}.",
        "",
        "Every time is a whole process (start, read, train or predict, write), the median of "
        "the runs shown; peak RSS is summed over the process tree. `topictag` is the default "
        "recipe (`training/default.toml`); `topictag-tuned` is `topictag train --tune --budget "
        "B` (search on the train split only); `plain` is TfidfVectorizer(sublinear_tf=True) + "
        "LinearSVC with scikit-learn's defaults (`benchmarks/sklearn_peer.py`: over the classes "
        "for single-label data, one-vs-rest with decision > 0 otherwise), what one writes by "
        "hand; `fasttext` is lr 0.5, wordNgrams 2, epoch 25, dim 100 (loss ova with threshold "
        "0.5 for multi-label data, softmax otherwise); `fasttext-autotuned` is fastText's "
        "autotune with the same budget B, validated on a fifth of the training groups. "
        "fastText gets lowercased text with punctuation split off words, on one line, "
        "training lines shuffled. Accuracy is subset accuracy for multi-label data. Scores "
        "are over the labels of the training split.",
        "",
        "Serving cost (topictag rows): the bundle's views and features, the n-grams looked up "
        "per test paragraph, and test paragraphs classified per second in one process "
        "(`Model.score`, loading excluded).",
        "",
    ]
    lines += _summary(results)
    for result in results:
        lines += _corpus_section(result)
    path.write_text("\n".join(lines), encoding="utf-8")


def _summary(results: list[dict[str, Any]]) -> list[str]:
    """The goals (issue 16) against the tuned model, the default recipe and the plain pipeline."""
    lines = [
        "## Goals",
        "",
        "| corpus | metric | topictag --tune | default recipe | plain | fastText | goal | "
        "goal met | tuned - plain |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        systems = result["systems"]
        tuned, ours, plain = systems["topictag-tuned"], systems["topictag"], systems["plain"]
        for metric, goal in TARGETS[result["corpus"]].items():
            lines.append(
                f"| {result['corpus']} | {metric} | {tuned[metric]:.3f} | {ours[metric]:.3f} | "
                f"{plain[metric]:.3f} | {systems['fasttext'][metric]:.3f} | {goal:.3f} | "
                f"{'yes' if tuned[metric] >= goal else 'no'} | "
                f"{tuned[metric] - plain[metric]:+.3f} |"
            )
    return [*lines, ""]


def _corpus_section(result: dict[str, Any]) -> list[str]:
    name = result["corpus"]
    systems = result["systems"]
    lines = [
        f"## {name}",
        "",
        f"{result['train']} train / {result['test']} test, {result['labels']} labels, "
        f"{result['mode']}; {result['repeats']} run(s) per timing, budget B = "
        f"{result['budget']} s. Published: {PUBLISHED[name]}.",
        "",
        "| system | micro F1 | macro F1 | accuracy | train s | predict s | train peak MiB "
        "| predict peak MiB | model MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for system, r in systems.items():
        lines.append(
            f"| {system} | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} | {r['accuracy']:.3f} | "
            f"{r['train_seconds']:.1f} | {r['predict_seconds']:.2f} | "
            f"{r['train_peak_mib']:.0f} | {r['predict_peak_mib']:.0f} | {r['model_mib']:.1f} |"
        )
    lines += ["", "| topictag system | views | features | n-grams / paragraph | paragraphs / s |"]
    lines.append("|---|---|---|---|---|")
    for system, r in systems.items():
        if "serving" in r:
            c = r["serving"]
            lines.append(
                f"| {system} | {c['views']} | {c['features']} | "
                f"{c['ngrams_per_paragraph']:.0f} | {c['paragraphs_per_second']:.0f} |"
            )
    ours, theirs, plain = systems["topictag"], systems["fasttext"], systems["plain"]
    tuned, auto = systems["topictag-tuned"], systems["fasttext-autotuned"]
    counts = result.get("tuned_trial_counts", {})
    headline = ["accuracy"] if result["mode"] == "single-label" else ["micro_f1", "macro_f1"]
    lines += [
        "",
        "- topictag / fastText (fixed): training time "
        f"{_ratio(ours, theirs, 'train_seconds')}, "
        f"prediction time {_ratio(ours, theirs, 'predict_seconds')}, model size "
        f"{_ratio(ours, theirs, 'model_mib')}, training peak RSS "
        f"{_ratio(ours, theirs, 'train_peak_mib')}.",
        "- tuned vs plain: "
        + ", ".join(
            f"{metric} {tuned[metric]:.3f} vs {plain[metric]:.3f} "
            f"({tuned[metric] - plain[metric]:+.3f})"
            for metric in headline
        )
        + "; default vs plain: "
        + ", ".join(f"{ours[m] - plain[m]:+.3f}" for m in headline)
        + ".",
        f"- tuned vs autotuned: micro F1 {tuned['micro_f1']:.3f} vs {auto['micro_f1']:.3f}, "
        f"macro F1 {tuned['macro_f1']:.3f} vs {auto['macro_f1']:.3f}; "
        f"`--tune` took {tuned['train_seconds']:.0f} s for a {result['budget']} s budget "
        f"({tuned['train_seconds'] / result['budget']:.0%}): "
        f"{sum(counts.values()) or result['tuned_trials']} trials, "
        + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        + f". Chosen: {_recipe_changes(result['tuned_recipe'])}.",
        "- targets: "
        + ", ".join(
            f"{metric} {tuned[metric]:.3f} (tuned) / {ours[metric]:.3f} (default) vs "
            f"{goal:.3f} {'met' if tuned[metric] >= goal else 'MISSED'}"
            for metric, goal in TARGETS[name].items()
        )
        + ".",
        "",
    ]
    return lines


def _recipe_changes(recipe: dict[str, Any]) -> str:
    """The keys of a recipe that differ from the defaults, as ``section.key = value``."""
    from topictag.train.recipe import TrainConfig

    defaults = TrainConfig().to_dict()
    changed = [
        f"{section}.{key} = {value}"
        for section, values in recipe.items()
        if isinstance(values, dict)
        for key, value in values.items()
        if defaults.get(section, {}).get(key) != value
    ]
    return ", ".join(f"`{c}`" for c in changed) or "the default recipe"


def _ratio(ours: dict[str, Any], theirs: dict[str, Any], key: str) -> str:
    return f"{ours[key] / theirs[key]:.2f}x" if theirs[key] else "n/a"
