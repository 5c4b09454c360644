"""Accuracy and training speed on real corpora, topictag against fastText and a plain pipeline.

    python benchmarks/bench_accuracy.py [--corpus NAME] [--quick] [--repeats N] [--budget S]

For each corpus in ../shared/data (skipped with a message where absent): topictag with the
default recipe and with ``--tune --budget S``, the plain scikit-learn pipeline
(``benchmarks/sklearn_peer.py``: TF-IDF + LinearSVC, defaults), fastText with the issue's fixed
configuration and with its own autotune (same budget), all on the same train/test split, every
time a whole process. Scores are computed the same way for every system
(topictag.evaluate.metrics, over the labels of the training split). Results:
``benchmarks/out/<corpus>.json`` and the table in ``benchmarks/results.md``. Models,
predictions and the default model's evaluation report (``benchmarks/out/<corpus>/report/``,
which quotes the corpus) stay in the git-ignored ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy_table import write_table
from benchmarks.common import (
    BIN,
    CORPORA,
    OUT,
    ROOT,
    Corpus,
    folder_mib,
    interleaved,
    progress,
    run,
)
from benchmarks.fasttext_run import preprocess
from topictag.data.corpus import group_keys, read_corpus, read_label_file
from topictag.evaluate.metrics import compute_metrics
from topictag.train.training import restrict_labels

TOPICTAG = [str(BIN / "topictag"), "-q"]
FASTTEXT = [sys.executable, str(ROOT / "benchmarks" / "fasttext_run.py")]
PLAIN = [sys.executable, "-m", "benchmarks.sklearn_peer"]


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
        if system == "plain":
            labels = str(corpus.labels) if corpus.labels else "-"
            return [*PLAIN, "train", str(corpus.path), labels, str(folder / "plain.joblib")]
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
        if system == "plain":
            return [*PLAIN, "predict", str(folder / "plain.joblib"), test, output]
        if system.startswith("topictag"):
            return [*TOPICTAG, "classify", "-m", str(folder / system), "-i", test, "-o", output]
        return [*FASTTEXT, "predict", str(folder / f"{system}.bin"), test, output, "--loss", loss]

    def record(system: str, train: Any, predict: Any) -> None:
        model = folder / system if system.startswith("topictag") else folder / f"{system}.bin"
        model = folder / "plain.joblib" if system == "plain" else model
        scores = score(folder / f"{system}.predictions.jsonl", facts)
        systems[system] = _result(train, predict, folder_mib(model), scores)
        if system.startswith("topictag"):
            systems[system]["serving"] = serving_cost(model, folder / "test.jsonl")

    # the fixed configurations, run in turn so that a noisy machine slows both alike
    fixed = ("topictag", "plain", "fasttext")
    progress(f"{corpus.name}: {', '.join(fixed)}: training ({repeats} run(s) each)")
    trained = interleaved(
        {
            "topictag": train_command("topictag", []),
            "plain": train_command("plain", []),
            "fasttext": train_command("fasttext", [], "fasttext-train.txt"),
        },
        repeats,
    )
    progress(f"{corpus.name}: {', '.join(fixed)}: predicting")
    predicted = interleaved({system: predict_command(system) for system in fixed}, repeats)
    for system in fixed:
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
        "tuned_trial_counts": dict(Counter(t["status"] for t in tuned["tuning"]["trials"])),
    }


def serving_cost(model: Path, test: Path) -> dict[str, Any]:
    """What serving a bundle costs: its views, n-grams looked up per paragraph, and paragraphs
    per second classified in this process (the test split, loading excluded)."""
    import time

    from topictag.model.inference import load_model

    served = load_model(model)
    texts = [json.loads(line)["text"] for line in test.read_text(encoding="utf-8").splitlines()]
    started = time.perf_counter()
    scores = served.score(texts)
    seconds = time.perf_counter() - started
    views = [f"{v.analyzer} {v.ngram_range[0]}-{v.ngram_range[1]}" for v in served.data.views]
    return {
        "views": " + ".join(views),
        "features": sum(len(vocab) for vocab in served.data.vocabularies),
        "ngrams_per_paragraph": float(np.mean(scores.known_terms)) if texts else 0.0,
        "paragraphs_per_second": len(texts) / seconds if seconds else 0.0,
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
