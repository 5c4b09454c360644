"""Accuracy and training speed on real corpora, topictag against fastText, in one run.

    python benchmarks/bench_accuracy.py [--corpus NAME] [--quick] [--repeats N] [--budget S]

For each corpus in ../shared/data (skipped with a message where absent): topictag with the
default recipe and with ``--tune --budget S``, fastText with the issue's fixed configuration and
with its own autotune (same budget), all on the same train/test split, every time a whole
process. Scores are computed the same way for every system (topictag.evaluate.metrics, over
the labels of the training split). Results: ``benchmarks/out/<corpus>.json`` and the table in
``benchmarks/results.md``. Models, predictions and the default model's evaluation report
(``benchmarks/out/<corpus>/report/report.html``, which quotes the corpus) stay in the
git-ignored ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    BIN,
    CORPORA,
    OUT,
    ROOT,
    Corpus,
    cpu_model,
    folder_mib,
    interleaved,
    progress,
    run,
)
from benchmarks.fasttext_run import preprocess
from topictag.data.corpus import group_keys, read_corpus, read_label_file
from topictag.evaluate.metrics import compute_metrics
from topictag.train.training import restrict_labels

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
TOPICTAG = [str(BIN / "topictag"), "-q"]
FASTTEXT = [sys.executable, str(ROOT / "benchmarks" / "fasttext_run.py")]


def prepare(corpus: Corpus, folder: Path) -> dict[str, Any]:
    """Write the test inputs and fastText's files; return the split's facts."""
    records = read_corpus(corpus.path)
    if corpus.labels:
        records = restrict_labels(records, read_label_file(corpus.labels))
    train = [r for r in records if r.split != "test"]
    test = [r for r in records if r.split == "test"]
    labels = sorted({x for r in train for x in r.labels or ()})
    single = all(len(r.labels or ()) == 1 for r in train)
    (folder / "test.jsonl").write_text(
        "".join(json.dumps({"id": r.id, "text": r.text}) + "\n" for r in test), encoding="utf-8"
    )

    def fasttext_lines(rows: list[Any]) -> str:
        lines = [
            " ".join([*(f"__label__{x}" for x in r.labels or ()), preprocess(r.text)])
            for r in rows
            if r.labels
        ]
        random.Random(0).shuffle(lines)  # fastText reads in file order; the files are sorted
        return "\n".join(lines) + "\n"

    (folder / "fasttext-train.txt").write_text(fasttext_lines(train), encoding="utf-8")
    # autotune's validation split: a fifth of the training groups, never the test split
    keys = group_keys(train)
    chosen = set(random.Random(1).sample(sorted(set(keys)), k=len(set(keys)) // 5))
    fit = [r for r, k in zip(train, keys, strict=True) if k not in chosen]
    valid = [r for r, k in zip(train, keys, strict=True) if k in chosen]
    (folder / "fasttext-fit.txt").write_text(fasttext_lines(fit), encoding="utf-8")
    (folder / "fasttext-valid.txt").write_text(fasttext_lines(valid), encoding="utf-8")
    return {
        "train": len(train),
        "test": len(test),
        "labels": labels,
        "mode": "single-label" if single else "multi-label",
        "gold": {r.id: list(r.labels or ()) for r in test},
    }


def score(predictions: Path, facts: dict[str, Any]) -> dict[str, float]:
    """Score a predictions file (JSON Lines with id and labels) against the test split."""
    predicted = {}
    for line in predictions.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        predicted[row["id"]] = row["labels"]
    ids = list(facts["gold"])
    labels = facts["labels"]
    index = {x: j for j, x in enumerate(labels)}
    matrix = np.zeros((len(ids), len(labels)), dtype=np.int8)
    for i, ident in enumerate(ids):
        for x in predicted.get(ident, []):
            if x in index:
                matrix[i, index[x]] = 1
    m = compute_metrics([facts["gold"][i] for i in ids], matrix, labels, mode=facts["mode"])
    return {
        "micro_f1": m["micro"]["f1"],
        "macro_f1": m["macro"]["f1"],
        "accuracy": m["subset_accuracy"],
    }


def bench_corpus(corpus: Corpus, *, repeats: int, budget: int) -> dict[str, Any]:
    """Run every system on one corpus; return the results."""
    folder = OUT / corpus.name
    folder.mkdir(parents=True, exist_ok=True)
    progress(f"{corpus.name}: preparing")
    facts = prepare(corpus, folder)
    data = ["--data", str(corpus.path)] + (
        ["--labels", str(corpus.labels)] if corpus.labels else []
    )
    loss = "softmax" if facts["mode"] == "single-label" else "ova"
    systems: dict[str, dict[str, Any]] = {}
    test = str(folder / "test.jsonl")

    def train_command(system: str, extra: list[str], train_file: str = "") -> list[str]:
        if system.startswith("topictag"):
            return [*TOPICTAG, "train", *data, "-o", str(folder / system), "--force", *extra]
        return [
            *FASTTEXT,
            "train",
            str(folder / train_file),
            str(folder / f"{system}.bin"),
            "--loss",
            loss,
            *extra,
        ]

    def predict_command(system: str) -> list[str]:
        output = str(folder / f"{system}.predictions.jsonl")
        if system.startswith("topictag"):
            return [*TOPICTAG, "classify", "-m", str(folder / system), "-i", test, "-o", output]
        return [*FASTTEXT, "predict", str(folder / f"{system}.bin"), test, output, "--loss", loss]

    def record(system: str, train: Any, predict: Any) -> None:
        model = folder / system if system.startswith("topictag") else folder / f"{system}.bin"
        scores = score(folder / f"{system}.predictions.jsonl", facts)
        systems[system] = _result(train, predict, folder_mib(model), scores)

    # the fixed configurations, run in turn so that a noisy machine slows both alike
    progress(f"{corpus.name}: topictag and fasttext: training ({repeats} run(s) each)")
    trained = interleaved(
        {
            "topictag": train_command("topictag", []),
            "fasttext": train_command("fasttext", [], "fasttext-train.txt"),
        },
        repeats,
    )
    progress(f"{corpus.name}: topictag and fasttext: predicting")
    predicted = interleaved(
        {"topictag": predict_command("topictag"), "fasttext": predict_command("fasttext")}, repeats
    )
    for system in ("topictag", "fasttext"):
        record(system, trained[system], predicted[system])
    progress(f"{corpus.name}: the evaluation report of the default model")
    run(
        [
            *TOPICTAG,
            "evaluate",
            str(folder / "topictag"),
            "--data",
            str(corpus.path),
            "--output",
            str(folder / "report"),
        ]
    )
    # the tuned ones, once each: they are budgeted
    for system, command in (
        ("topictag-tuned", train_command("topictag-tuned", ["--tune", "--budget", str(budget)])),
        (
            "fasttext-autotuned",
            train_command(
                "fasttext-autotuned",
                ["--autotune", str(folder / "fasttext-valid.txt"), "--duration", str(budget)],
                "fasttext-fit.txt",
            ),
        ),
    ):
        progress(f"{corpus.name}: {system}: training")
        train = run(command)
        progress(f"{corpus.name}: {system}: predicting")
        record(system, train, run(predict_command(system)))
    tuned = json.loads((folder / "topictag-tuned" / "model.json").read_text())
    return {
        "corpus": corpus.name,
        "train": facts["train"],
        "test": facts["test"],
        "labels": len(facts["labels"]),
        "mode": facts["mode"],
        "repeats": repeats,
        "budget": budget,
        "systems": systems,
        "tuned_recipe": tuned["config"],
        "tuned_trials": sum(t["status"] == "done" for t in tuned["tuning"]["trials"]),
    }


def _result(train: Any, predict: Any, size: float, scores: dict[str, float]) -> dict[str, Any]:
    return {
        "train_seconds": train.seconds,
        "train_peak_mib": train.peak_mib,
        "predict_seconds": predict.seconds,
        "predict_peak_mib": predict.peak_mib,
        "model_mib": size,
        **scores,
    }


def write_table(path: Path) -> None:
    """Write results.md from every corpus result in benchmarks/out."""
    results = [
        json.loads((OUT / f"{name}.json").read_text())
        for name in CORPORA
        if (OUT / f"{name}.json").is_file()
    ]
    lines = [
        "# Accuracy and training speed: topictag and fastText",
        "",
        f"Produced by `make bench` (`python benchmarks/bench_accuracy.py`) on {date.today()}, "
        f"{cpu_model()}, 2 cores. Python {platform.python_version()}, scikit-learn "
        f"{version('scikit-learn')}, numpy {version('numpy')}, fasttext {version('fasttext')}, "
        f"topictag {version('topictag')}.",
        "",
        "Every time is a whole process (start, read, train or predict, write), the median of "
        "the runs shown; peak RSS is summed over the process tree. `topictag` is the default "
        "recipe (`training/default.toml`); `topictag-tuned` is `topictag train --tune --budget "
        "B` (search on the train split only); `fasttext` is lr 0.5, wordNgrams 2, epoch 25, "
        "dim 100 (loss ova with threshold 0.5 for multi-label data, softmax otherwise); "
        "`fasttext-autotuned` is fastText's autotune with the same budget B, validated on a "
        "fifth of the training groups. fastText gets lowercased text with punctuation split "
        "off words, on one line, training lines shuffled. Accuracy is subset accuracy for "
        "multi-label data. Scores are over the labels of the training split.",
        "",
    ]
    for result in results:
        name = result["corpus"]
        systems = result["systems"]
        lines += [
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
        ours, theirs = systems["topictag"], systems["fasttext"]
        tuned, auto = systems["topictag-tuned"], systems["fasttext-autotuned"]
        lines += [
            "",
            "- topictag / fastText (fixed): training time "
            f"{_ratio(ours, theirs, 'train_seconds')}, "
            f"prediction time {_ratio(ours, theirs, 'predict_seconds')}, model size "
            f"{_ratio(ours, theirs, 'model_mib')}, training peak RSS "
            f"{_ratio(ours, theirs, 'train_peak_mib')}.",
            f"- tuned vs autotuned: micro F1 {tuned['micro_f1']:.3f} vs {auto['micro_f1']:.3f}, "
            f"macro F1 {tuned['macro_f1']:.3f} vs {auto['macro_f1']:.3f}; "
            f"`--tune` took {tuned['train_seconds']:.0f} s for a {result['budget']} s budget "
            f"({result['tuned_trials']} trials).",
            "- targets: "
            + ", ".join(
                f"{metric} {tuned[metric]:.3f} (tuned) / {ours[metric]:.3f} (default) vs "
                f"{goal:.3f} {'met' if max(tuned[metric], ours[metric]) >= goal else 'MISSED'}"
                for metric, goal in TARGETS[name].items()
            )
            + ".",
            "",
        ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _ratio(ours: dict[str, Any], theirs: dict[str, Any], key: str) -> str:
    return f"{ours[key] / theirs[key]:.2f}x" if theirs[key] else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", choices=sorted(CORPORA), help="only this corpus")
    parser.add_argument("--quick", action="store_true", help="one run each, 20 s budgets")
    parser.add_argument("--repeats", type=int, default=3, help="runs per timing (median)")
    parser.add_argument("--budget", type=int, default=150, help="tuning budget, seconds")
    args = parser.parse_args()
    repeats, budget = (1, 20) if args.quick else (args.repeats, args.budget)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in [args.corpus] if args.corpus else list(CORPORA):
        corpus = CORPORA[name]
        if not corpus.available:
            progress(f"{name}: skipped, {corpus.path} is absent")
            continue
        result = bench_corpus(corpus, repeats=repeats, budget=budget)
        (OUT / f"{name}.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        write_table(ROOT / "benchmarks" / "results.md")
        progress(f"{name}: done")
    print((ROOT / "benchmarks" / "results.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
