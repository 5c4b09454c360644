"""Serving speed and size: cold start, throughput, memory, pruning (``make bench-serve``).

    python -m benchmarks.bench_serve [--quick]

Every time is a whole process, medians of interleaved runs. Peers, in the same run: fastText
(bigrams, one-vs-all loss) trained on the same Reuters-21578 split, and a plain scikit-learn
pipeline (TfidfVectorizer + one-vs-rest LinearSVC, loaded with joblib). Results:
``benchmarks/results-serve.md``; models and data stay in the git-ignored ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BIN,
    CORPORA,
    OUT,
    ROOT,
    cpu_model,
    folder_mib,
    interleaved,
    progress,
    run,
)
from benchmarks.fasttext_run import preprocess

PARAGRAPH = "Moscow again ruled out talks on the status of Abkhazia and South Ossetia."
TOPICTAG = [str(BIN / "topictag"), "-q"]
PYTHON = sys.executable


def setup(folder: Path) -> dict[str, Any]:
    """Train the Reuters models (topictag, fastText, scikit-learn) and write the inputs."""
    corpus = CORPORA["reuters21578"]
    from topictag.data.corpus import read_corpus, read_label_file
    from topictag.train.training import restrict_labels

    records = restrict_labels(read_corpus(corpus.path), read_label_file(corpus.labels))
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    lines = [json.dumps({"id": r.id, "text": r.text}) + "\n" for r in test]
    (folder / "test.jsonl").write_text("".join(lines), encoding="utf-8")
    with open(folder / "test-90k.jsonl", "w", encoding="utf-8") as handle:
        for k in range(90_000):
            handle.write(lines[k % len(lines)])
    words = sum(len(r.text.split()) for r in test)
    progress("training the Reuters models")
    run(
        [
            *TOPICTAG,
            "train",
            "-d",
            str(corpus.path),
            "--labels",
            str(corpus.labels),
            "-o",
            str(folder / "reuters"),
            "--force",
        ]
    )
    import random

    rows = [" ".join([*(f"__label__{x}" for x in r.labels), preprocess(r.text)]) for r in train]
    random.Random(0).shuffle(rows)
    (folder / "fasttext-train.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    run(
        [
            PYTHON,
            str(ROOT / "benchmarks" / "fasttext_run.py"),
            "train",
            str(folder / "fasttext-train.txt"),
            str(folder / "fasttext.bin"),
            "--loss",
            "ova",
        ]
    )
    run(
        [
            PYTHON,
            "-m",
            "benchmarks.sklearn_peer",
            "train",
            str(corpus.path),
            str(corpus.labels),
            str(folder / "sklearn.joblib"),
        ]
    )
    return {"test_docs": len(test), "test_words": words}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, 100,000 lines")
    args = parser.parse_args()
    if not CORPORA["reuters21578"].available:
        progress(f"skipped: {CORPORA['reuters21578'].path} is absent")
        return
    folder = OUT / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    facts = setup(folder)
    repeats = 3 if args.quick else 7
    results: dict[str, Any] = {"facts": facts}

    progress("cold start")
    cold = interleaved(
        {
            "python -c 'import numpy'": [PYTHON, "-c", "import numpy"],
            "topictag classify (one paragraph)": [
                *TOPICTAG,
                "classify",
                "--model",
                str(ROOT / "models" / "news-topics"),
                PARAGRAPH,
            ],
        },
        repeats,
    )
    results["cold"] = cold

    def systems(source: str) -> dict[str, list[str]]:
        return {
            "topictag": [
                *TOPICTAG,
                "classify",
                "-m",
                str(folder / "reuters"),
                "-i",
                str(folder / source),
                "-o",
                str(folder / "topictag.out.jsonl"),
            ],
            "fasttext": [
                PYTHON,
                str(ROOT / "benchmarks" / "fasttext_run.py"),
                "predict",
                str(folder / "fasttext.bin"),
                str(folder / source),
                str(folder / "fasttext.out.jsonl"),
                "--loss",
                "ova",
            ],
            "scikit-learn": [
                PYTHON,
                "-m",
                "benchmarks.sklearn_peer",
                "predict",
                str(folder / "sklearn.joblib"),
                str(folder / source),
                str(folder / "sklearn.out.jsonl"),
            ],
        }

    progress("throughput: the Reuters test set, whole process")
    results["test"] = interleaved(systems("test.jsonl"), max(repeats - 2, 3))
    progress("throughput: 90,000 documents")
    results["steady"] = interleaved(systems("test-90k.jsonl"), 3 if not args.quick else 1)

    lines = 100_000 if args.quick else 1_000_000
    progress(f"memory: {lines:,} lines")
    big = folder / "test-big.jsonl"
    test_lines = (folder / "test.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    with open(big, "w", encoding="utf-8") as handle:
        for k in range(lines):
            handle.write(test_lines[k % len(test_lines)])
    results["memory"] = {
        "lines": lines,
        "classify": run(
            [
                *TOPICTAG,
                "classify",
                "-m",
                str(folder / "reuters"),
                "-i",
                str(big),
                "-o",
                str(folder / "big.out.jsonl"),
            ]
        ),
        "serve": run(
            [*TOPICTAG, "serve", "-m", str(folder / "reuters")], stdin=folder / "test.jsonl"
        ),
    }
    big.unlink()

    progress("pruning")
    results["pruning"] = pruning(folder)
    results["sizes"] = {
        "models/news-topics": folder_mib(ROOT / "models" / "news-topics"),
        "Reuters-21578 model": folder_mib(folder / "reuters"),
        "fastText Reuters model": folder_mib(folder / "fasttext.bin"),
        "scikit-learn Reuters pipeline (joblib)": folder_mib(folder / "sklearn.joblib"),
    }
    write_table(results, ROOT / "benchmarks" / "results-serve.md")
    print((ROOT / "benchmarks" / "results-serve.md").read_text(encoding="utf-8"))


def pruning(folder: Path) -> list[dict[str, Any]]:
    """Size and accuracy of pruned Reuters models, and their label changes on the test set."""
    from topictag.data.corpus import read_corpus, read_label_file
    from topictag.evaluate.evaluation import evaluate_model
    from topictag.model.inference import load_model
    from topictag.train.training import restrict_labels

    corpus = CORPORA["reuters21578"]
    records = restrict_labels(read_corpus(corpus.path), read_label_file(corpus.labels))
    test = [r for r in records if r.split == "test"]
    full = load_model(folder / "reuters")
    reference = full.predict([r.text for r in test])
    variants: list[tuple[str, list[str]]] = [
        ("full (float64)", []),
        ("float16", ["--float16"]),
        ("10,000 features", ["--max-features", "10000"]),
        ("5,000 features, float16", ["--max-features", "5000", "--float16"]),
        ("2,000 features, float16", ["--max-features", "2000", "--float16"]),
    ]
    rows = []
    for name, options in variants:
        path = folder / "reuters"
        if options:
            path = folder / ("pruned-" + "-".join(o.strip("-") for o in options))
            run(
                [
                    *TOPICTAG,
                    "models",
                    "prune",
                    str(folder / "reuters"),
                    "-o",
                    str(path),
                    "--force",
                    *options,
                ]
            )
        model = load_model(path)
        metrics = evaluate_model(model, test).metrics
        predicted = model.predict([r.text for r in test])
        probability_gap = float(
            abs(
                model.predict_proba([r.text for r in test[:500]])
                - full.predict_proba([r.text for r in test[:500]])
            ).max()
        )
        rows.append(
            {
                "variant": name,
                "mib": folder_mib(path / "weights.npz"),
                "features": int(model.data.coef.shape[0]),
                "micro_f1": metrics["micro"]["f1"],
                "macro_f1": metrics["macro"]["f1"],
                "changed": sum(a != b for a, b in zip(predicted, reference, strict=True)),
                "max_probability_change": probability_gap,
            }
        )
    return rows


def write_table(results: dict[str, Any], path: Path) -> None:
    """Write results-serve.md."""
    facts = results["facts"]
    cold = results["cold"]
    numpy_s = cold["python -c 'import numpy'"].seconds
    ours_s = cold["topictag classify (one paragraph)"].seconds
    lines = [
        "# Serving: cold start, throughput, memory, size",
        "",
        f"Produced by `make bench-serve` (`python -m benchmarks.bench_serve`) on {date.today()}, "
        f"{cpu_model()}, 2 cores. numpy {version('numpy')}, fasttext {version('fasttext')}, "
        f"scikit-learn {version('scikit-learn')}, topictag {version('topictag')}. Every time is "
        "a whole process (start, load, read, classify, write); medians of interleaved runs; "
        "peak RSS summed over the process tree. The Reuters model is `topictag train` with the "
        "default recipe on the Reuters-21578 training split, labels restricted to "
        "`categories90.tsv`; fastText is trained on the same split (wordNgrams 2, epoch 25, "
        "loss ova), scikit-learn is TfidfVectorizer(sublinear_tf) + one-vs-rest LinearSVC.",
        "",
        "## Cold start",
        "",
        "| command | median s | peak MiB |",
        "|---|---|---|",
        *(f"| `{k}` | {v.seconds:.3f} | {v.peak_mib:.0f} |" for k, v in cold.items()),
        "",
        f"Ratio topictag / numpy import: **{ours_s / numpy_s:.2f}x** (target: at most 2.5x).",
        "",
    ]
    for key, title, docs in (
        ("test", "Reuters-21578 test set", facts["test_docs"]),
        ("steady", "Reuters test set repeated to 90,000 documents", 90_000),
    ):
        runs = results[key]
        words = facts["test_words"] * docs / facts["test_docs"]
        lines += [
            f"## Throughput: {title}",
            "",
            "| system | median s | documents/s | words/s | peak MiB |",
            "|---|---|---|---|---|",
            *(
                f"| {name} | {r.seconds:.2f} | {docs / r.seconds:,.0f} | {words / r.seconds:,.0f} "
                f"| {r.peak_mib:.0f} |"
                for name, r in runs.items()
            ),
            "",
            f"topictag / fastText documents per second: "
            f"**{runs['fasttext'].seconds / runs['topictag'].seconds:.2f}x**; "
            f"topictag / scikit-learn: "
            f"**{runs['scikit-learn'].seconds / runs['topictag'].seconds:.2f}x**.",
            "",
        ]
    memory = results["memory"]
    lines += [
        "## Memory",
        "",
        f"- `topictag classify` over {memory['lines']:,} lines (the Reuters test set repeated): "
        f"peak {memory['classify'].peak_mib:.0f} MiB (process tree), "
        f"{memory['classify'].seconds:.0f} s.",
        f"- `topictag serve` answering the {facts['test_docs']:,} test documents one line at a "
        f"time: peak {memory['serve'].peak_mib:.0f} MiB, {memory['serve'].seconds:.1f} s.",
        "",
        "## Sizes",
        "",
        "| model | MiB on disk |",
        "|---|---|",
        *(f"| {k} | {v:.1f} |" for k, v in results["sizes"].items()),
        "",
        "## Pruning on Reuters-21578 (test split)",
        "",
        "| variant | weights MiB | features | micro F1 | macro F1 | paragraphs whose labels "
        "changed | largest probability change |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {r['variant']} | {r['mib']:.2f} | {r['features']:,} | {r['micro_f1']:.3f} | "
            f"{r['macro_f1']:.3f} | {r['changed']} | {r['max_probability_change']:.1e} |"
            for r in results["pruning"]
        ),
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
