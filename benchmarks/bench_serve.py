"""Serving speed and size: cold start, throughput, memory, pruning (``make bench-serve``).

    python -m benchmarks.bench_serve [--quick] [--fresh-venv]

Every time is a whole process; all the timed commands run in one interleaved series of rounds
(each round runs each command in turn, so a noisy machine hits all alike) and each figure is a
median. Peers, in the same run: fastText (bigrams, one-vs-all loss) trained on the same
Reuters-21578 split, and the scikit-learn pipeline a user would typically write
(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2) + one-vs-rest LinearSVC,
loaded with joblib; the unigram pipeline as a second row). topictag runs with ``--scores none``
like the peers, which write label names only, and with every label's probability as a row of
its own. The cold start is measured for ``pip install -e .`` (this checkout, the locked
versions) and ``pip install .`` (a wheel in a venv of its own, the latest releases). Results:
``benchmarks/results-serve.md``; models, data and the venv stay in ``benchmarks/out/``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import (
    BIN,
    CORPORA,
    OUT,
    ROOT,
    Run,
    folder_mib,
    progress,
    run,
    summarize,
)
from benchmarks.fasttext_run import preprocess
from benchmarks.serve_profile import (
    MachineLoad,
    clean_env,
    cold_imports,
    equivalence,
    hot_functions,
    installed,
    phases,
    wheel_venv,
)

PARAGRAPH = "Moscow again ruled out talks on the status of Abkhazia and South Ossetia."
TOPICTAG = [str(BIN / "topictag"), "-q"]
PYTHON = sys.executable
REPEATS = 30  # the steady-state input: the test set 30 times (90,570 documents)
GOALS = {  # figure: (what it is, the goal, True when higher is better)
    "whole": ("whole process, 3,019 test documents, vs fastText", 3.0, True),
    "steady_fasttext": ("steady state, 90,570 documents, vs fastText", 2.0, True),
    "steady_sklearn": ("steady state vs the scikit-learn pipeline (bigrams)", 3.0, True),
    "cold_editable": ("cold start vs `import numpy`, `pip install -e .`", 2.5, False),
    "cold_wheel": ("cold start vs `import numpy`, `pip install .`", 2.5, False),
    "all_scores": ("steady state with every label's probability vs fastText", 1.5, True),
}


def setup(folder: Path, *, reuse: bool = False) -> dict[str, Any]:
    """Train the Reuters models (topictag, fastText, scikit-learn) and write the inputs.

    With ``reuse``, models already in ``folder`` are kept.
    """
    corpus = CORPORA["reuters21578"]
    from topictag.data.corpus import read_corpus, read_label_file
    from topictag.train.training import restrict_labels

    records = restrict_labels(read_corpus(corpus.path), read_label_file(corpus.labels))
    train = [r for r in records if r.split == "train"]
    test = [r for r in records if r.split == "test"]
    lines = [json.dumps({"id": r.id, "text": r.text}) + "\n" for r in test]
    (folder / "test.jsonl").write_text("".join(lines), encoding="utf-8")
    (folder / "steady.jsonl").write_text("".join(lines) * REPEATS, encoding="utf-8")
    words = sum(len(r.text.split()) for r in test)
    facts = {"test_docs": len(test), "test_words": words, "train_docs": len(train)}
    models = ["reuters/model.json", "fasttext.bin", "sklearn-2.joblib", "sklearn-1.joblib"]
    if reuse and all((folder / name).exists() for name in models):
        return facts
    progress("training the Reuters models")
    train_command = [*TOPICTAG, "train", "-d", str(corpus.path), "--labels", str(corpus.labels)]
    run([*train_command, "-o", str(folder / "reuters"), "--force"])
    import random

    rows = [" ".join([*(f"__label__{x}" for x in r.labels), preprocess(r.text)]) for r in train]
    random.Random(0).shuffle(rows)
    (folder / "fasttext-train.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    fasttext = [PYTHON, str(ROOT / "benchmarks" / "fasttext_run.py")]
    train_file, model_file = folder / "fasttext-train.txt", folder / "fasttext.bin"
    run([*fasttext, "train", str(train_file), str(model_file), "--loss", "ova"])
    for ngrams in (2, 1):
        peer = [PYTHON, "-m", "benchmarks.sklearn_peer", "train", str(corpus.path)]
        model = folder / f"sklearn-{ngrams}.joblib"
        run([*peer, str(corpus.labels), str(model), "--ngrams", str(ngrams), "--min-df", "2"])
    return facts


def commands(folder: Path, wheel_bin: Path) -> dict[str, dict[str, list[str]]]:
    """The timed commands, by group."""
    news = str(ROOT / "models" / "news-topics")
    groups: dict[str, dict[str, list[str]]] = {
        "cold": {
            "`python -c 'import numpy'` (pip install -e .)": [PYTHON, "-c", "import numpy"],
            "topictag classify, one paragraph (pip install -e .)": [
                *TOPICTAG, "classify", "--model", news, PARAGRAPH
            ],
            "`python -c 'import numpy'` (pip install .)": [
                str(wheel_bin / "python"), "-c", "import numpy"
            ],
            "topictag classify, one paragraph (pip install .)": [
                str(wheel_bin / "topictag"), "-q", "classify", "--model", news, PARAGRAPH
            ],
            "`python -c 'import numpy'`, OPENBLAS_NUM_THREADS=1 (pip install -e .)": [
                "env", "OPENBLAS_NUM_THREADS=1", PYTHON, "-c", "import numpy"
            ],
        }
    }  # fmt: skip
    for group, source in (("test", "test.jsonl"), ("steady", "steady.jsonl")):
        out = folder / "out"
        out.mkdir(exist_ok=True)
        ours = [*TOPICTAG, "classify", "-m", str(folder / "reuters"), "-i", str(folder / source)]
        peer = [PYTHON, "-m", "benchmarks.sklearn_peer", "predict"]
        groups[group] = {
            "topictag (--scores none)": [*ours, "-o", str(out / "t.jsonl"), "--scores", "none"],
            "fastText": [
                PYTHON, str(ROOT / "benchmarks" / "fasttext_run.py"), "predict",
                str(folder / "fasttext.bin"), str(folder / source), str(out / "f.jsonl"),
                "--loss", "ova",
            ],
            "scikit-learn (bigrams)": [
                *peer, str(folder / "sklearn-2.joblib"), str(folder / source), str(out / "s2.jsonl")
            ],
            "scikit-learn (unigrams)": [
                *peer, str(folder / "sklearn-1.joblib"), str(folder / source), str(out / "s1.jsonl")
            ],
        }  # fmt: skip
        if group == "steady":
            groups[group]["topictag (every label's probability)"] = [
                *ours, "-o", str(out / "a.jsonl")
            ]  # fmt: skip
        else:  # the default for a file this small is one process; two workers for comparison
            groups[group]["topictag (--scores none, -j 2)"] = [
                *ours, "-o", str(out / "t2.jsonl"), "--scores", "none", "-j", "2"
            ]  # fmt: skip
    return groups


def measure(
    groups: dict[str, dict[str, list[str]]], *, rounds: int, per_round: dict[str, int],
    steady_rounds: int, wheel_env: dict[str, str], load: MachineLoad,
) -> dict[str, dict[str, Run]]:  # fmt: skip
    """Run every command in interleaved rounds; return each one's medians."""
    samples: dict[str, dict[str, list[Run]]] = {
        g: {name: [] for name in cmds} for g, cmds in groups.items()
    }
    edit_env = editable_env()
    for group in ("cold", "test"):  # warm up: bytecode written, page cache filled
        for name, command in groups[group].items():
            run(command, env=wheel_env if "(pip install .)" in name else edit_env, cwd=ROOT)
    for k in range(rounds):
        progress(f"round {k + 1} of {rounds}")
        for group, cmds in groups.items():
            times = per_round.get(group, 1) if group != "steady" or k < steady_rounds else 0
            for _ in range(times):
                for name, command in cmds.items():
                    env = wheel_env if "(pip install .)" in name else edit_env
                    samples[group][name].append(run(command, env=env, cwd=ROOT))
        load.sample()
    return {g: {name: summarize(rs) for name, rs in runs.items()} for g, runs in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, 100,000 lines")
    parser.add_argument("--fresh-venv", action="store_true", help="rebuild the pip install . venv")
    parser.add_argument("--reuse", action="store_true", help="keep models trained by a last run")
    args = parser.parse_args()
    if not CORPORA["reuters21578"].available:
        progress(f"skipped: {CORPORA['reuters21578'].path} is absent")
        return
    folder = OUT / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    facts = setup(folder, reuse=args.reuse)
    wheel_bin = wheel_venv(folder / "venv-wheel", fresh=args.fresh_venv)
    facts["wheel_versions"] = installed(
        wheel_bin, ["topictag", "numpy", "typer", "click", "pydantic", "rich", "isal"]
    )
    facts["locked_versions"] = {
        n: _version(n) for n in ("numpy", "typer", "click", "pydantic", "rich", "isal")
    }
    groups = commands(folder, wheel_bin)
    load = MachineLoad()
    started = time.perf_counter()
    load.start()
    results: dict[str, Any] = {"facts": facts}
    results["runs"] = measure(
        groups,
        rounds=3 if args.quick else 5,
        per_round={"cold": 2 if args.quick else 3, "test": 1},
        steady_rounds=1 if args.quick else 3,
        wheel_env=clean_env(),
        load=load,
    )
    load.stop(time.perf_counter() - started)
    results["load"] = load

    progress("profiles")
    test, steady = folder / "test.jsonl", folder / "steady.jsonl"
    results["phases"] = {
        scores: phases(folder / "reuters", test, scores=scores) for scores in ("none", "all")
    }
    results["hot"] = hot_functions(
        ["-q", "classify", "-m", str(folder / "reuters"), "-i", str(steady), "-j", "1",
         "--scores", "none", "-o", str(folder / "out" / "p.jsonl")]
    )  # fmt: skip
    results["imports"] = cold_imports(
        PYTHON,
        ["-m", "topictag", "classify", "-m", str(ROOT / "models" / "news-topics"), PARAGRAPH],
        env=editable_env(),
    )
    from topictag.data.inputs import read_items

    texts = [item.text for item in read_items(test)]  # type: ignore[union-attr]
    results["equivalence"] = equivalence(folder / "reuters", texts)

    lines = 100_000 if args.quick else 1_000_000
    progress(f"memory: {lines:,} lines")
    big = folder / "test-big.jsonl"
    test_lines = test.read_text(encoding="utf-8").splitlines(keepends=True)
    with open(big, "w", encoding="utf-8") as handle:
        for k in range(lines):
            handle.write(test_lines[k % len(test_lines)])
    ours = [*TOPICTAG, "classify", "-m", str(folder / "reuters")]
    results["memory"] = {
        "lines": lines,
        "classify": run([*ours, "-i", str(big), "-o", str(folder / "out" / "big.jsonl")]),
        "serve": run([*TOPICTAG, "serve", "-m", str(folder / "reuters")], stdin=test),
    }
    big.unlink()

    progress("pruning")
    results["pruning"] = pruning(folder)
    results["sizes"] = {
        "models/news-topics": folder_mib(ROOT / "models" / "news-topics"),
        "Reuters-21578 model": folder_mib(folder / "reuters"),
        "fastText Reuters model": folder_mib(folder / "fasttext.bin"),
        "scikit-learn Reuters pipeline, bigrams (joblib)": folder_mib(folder / "sklearn-2.joblib"),
        "scikit-learn Reuters pipeline, unigrams (joblib)": folder_mib(folder / "sklearn-1.joblib"),
    }
    from benchmarks.serve_results import write_results

    write_results(results, ROOT / "benchmarks" / "results-serve.md", quick=args.quick)
    print((ROOT / "benchmarks" / "results-serve.md").read_text(encoding="utf-8"))


def editable_env() -> dict[str, str]:
    """The environment of this checkout's commands: bytecode cached, PYTHONPATH kept."""
    keep = {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}
    return clean_env(**keep)


def _version(name: str) -> str:
    try:
        return version(name)
    except Exception:
        return "-"


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


if __name__ == "__main__":
    main()
