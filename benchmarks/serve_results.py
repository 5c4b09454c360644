"""Writing ``benchmarks/results-serve.md`` from what ``make bench-serve`` measured."""

from __future__ import annotations

import os
import statistics
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import cpu_model, topictag_version


def figures(runs: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Each goal's figure: (wall-clock ratio, CPU-time ratio)."""
    test, steady, cold = runs["test"], runs["steady"], runs["cold"]

    def faster(group: dict[str, Any], peer: str, ours: str) -> tuple[float, float]:
        return (
            group[peer].seconds / group[ours].seconds,
            group[peer].cpu / max(group[ours].cpu, 1e-9),
        )

    def slower(ours: str, base: str) -> tuple[float, float]:
        return cold[ours].seconds / cold[base].seconds, cold[ours].cpu / max(cold[base].cpu, 1e-9)

    none, every = "topictag (--scores none)", "topictag (every label's probability)"
    return {
        "whole": faster(test, "fastText", none),
        "whole_j2": faster(test, "fastText", "topictag (--scores none, -j 2)"),
        "steady_fasttext": faster(steady, "fastText", none),
        "steady_sklearn": faster(steady, "scikit-learn (bigrams)", none),
        "steady_sklearn_unigrams": faster(steady, "scikit-learn (unigrams)", none),
        "cold_editable": slower(
            "topictag classify, one paragraph (pip install -e .)",
            "`python -c 'import numpy'` (pip install -e .)",
        ),
        "cold_wheel": slower(
            "topictag classify, one paragraph (pip install .)",
            "`python -c 'import numpy'` (pip install .)",
        ),
        "all_scores": faster(steady, "fastText", every),
    }


def write_results(results: dict[str, Any], path: Path, *, quick: bool) -> None:
    """Write results-serve.md: the goals first, then every table and the profiles."""
    from benchmarks.bench_serve import GOALS

    facts, runs, load = results["facts"], results["runs"], results["load"]
    got = figures(runs)
    lines = [
        "# Serving: cold start, throughput, memory, size",
        "",
        f"Produced by `make bench-serve{' QUICK=1' if quick else ''}` "
        f"(`python -m benchmarks.bench_serve`) on {date.today()}, {cpu_model()}, "
        f"{os.cpu_count()} cores shared with other jobs (see *Machine*). numpy {version('numpy')}, "
        f"fasttext {version('fasttext')}, scikit-learn {version('scikit-learn')}, topictag "
        f"{topictag_version()}. Every time is a whole process (start, load, read, classify, "
        "write). All timed commands ran in one series of interleaved rounds; each figure is the "
        "median of its runs. The Reuters model is `topictag train` with the default recipe on the "
        f"Reuters-21578 training split ({facts['train_docs']:,} documents), labels restricted to "
        "`categories90.tsv`; fastText is trained on the same split (wordNgrams 2, epoch 25, loss "
        "ova); scikit-learn is TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2) + "
        "one-vs-rest LinearSVC, a label where its decision value is positive, as `predict` "
        "gives it (and the same with unigrams). The peers write label "
        "names only, so topictag runs with `--scores none`; its default output (every label's "
        "probability) has a row of its own.",
        "",
        "## Goals",
        "",
        "| figure | wall-clock ratio | goal | | CPU-time ratio |",
        "|---|---|---|---|---|",
    ]
    for key, (title, goal, higher) in GOALS.items():
        wall, cpu = got[key]
        met = wall >= goal if higher else wall <= goal
        sign = ">=" if higher else "<="
        lines.append(
            f"| {title} | **{wall:.2f}x** | {sign} {goal}x | {'met' if met else 'missed'} "
            f"| {cpu:.2f}x |"
        )
    wall, cpu = got["steady_sklearn_unigrams"]
    lines += [
        f"| steady state vs the scikit-learn pipeline (unigrams) | {wall:.2f}x | | | {cpu:.2f}x |",
        f"| whole process vs fastText with two workers (`-j 2`) | {got['whole_j2'][0]:.2f}x | | "
        f"| {got['whole_j2'][1]:.2f}x |",
        "",
        "Ratios are peer time / topictag time (higher is better), except the cold start: "
        "topictag / `import numpy` (lower is better). The CPU-time ratio compares user + system "
        "seconds of the process trees; it is what the wall-clock ratio tends to on an idle "
        "machine, where topictag's two workers each have a core.",
        "",
        "## Machine",
        "",
        f"- load average (1 min) during the run: min {min(load.loads):.1f}, median "
        f"{statistics.median(load.loads):.1f}, max {max(load.loads):.1f}, on "
        f"{os.cpu_count()} cores;",
        f"- other processes used {100 * load.others_share:.0f}% of all CPU time while it ran.",
        "",
        "A loaded machine stretches every wall-clock time; the rounds are interleaved so that it "
        "stretches all systems alike, but a system that runs two processes (topictag's workers) "
        "competes for the cores differently from one that runs one.",
        "",
    ]
    lines += _cold(results)
    lines += _throughput(results)
    lines += _profile(results)
    lines += _rest(results)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _cold(results: dict[str, Any]) -> list[str]:
    facts, cold = results["facts"], results["runs"]["cold"]
    wheel = ", ".join(f"{k} {v}" for k, v in facts["wheel_versions"].items())
    locked = ", ".join(f"{k} {v}" for k, v in facts["locked_versions"].items())
    return [
        "## Cold start: one paragraph",
        "",
        "| command | median s | CPU s | peak MiB |",
        "|---|---|---|---|",
        *(
            f"| {name} | {r.seconds:.3f} | {r.cpu:.3f} | {r.peak_mib:.0f} |"
            for name, r in cold.items()
        ),
        "",
        f"- `pip install -e .`: this checkout in the project's venv, locked versions ({locked}).",
        f"- `pip install .`: a wheel of this checkout in a venv of its own with the latest "
        f"releases ({wheel}). Both with bytecode caching on (a first, untimed run writes it).",
        "- `topictag classify` runs its plain command lines without typer (`cli/quick.py`), and "
        "with one OpenBLAS thread (starting OpenBLAS's thread pool is much of numpy's import "
        "time; classifying has no use for it). The last row shows numpy's import alone with one "
        "thread: the ratio against it is the honest measure of what topictag adds.",
        "",
    ]


def _throughput(results: dict[str, Any]) -> list[str]:
    facts, runs = results["facts"], results["runs"]
    out: list[str] = []
    for key, title, docs in (
        ("test", "the Reuters-21578 test set", facts["test_docs"]),
        ("steady", "the test set 30 times (steady state)", 30 * facts["test_docs"]),
    ):
        words = facts["test_words"] * docs / facts["test_docs"]
        out += [
            f"## Throughput: {title}, {docs:,} documents",
            "",
            "| system | median s | documents/s | words/s | CPU s | peak MiB |",
            "|---|---|---|---|---|---|",
            *(
                f"| {name} | {r.seconds:.2f} | {docs / r.seconds:,.0f} | {words / r.seconds:,.0f} "
                f"| {r.cpu:.2f} | {r.peak_mib:.0f} |"
                for name, r in runs[key].items()
            ),
            "",
        ]
    eq = results["equivalence"]
    out += [
        "By default (`--jobs 0`) topictag classifies a file under 4 MiB, such as the test set, in "
        "one process, and a larger one (the steady-state input) in two forked workers; the "
        "`-j 2` row forces the workers on the small file.",
        "",
    ]
    out += [
        f"Exactness on the {eq['documents']:,} test documents, against the equivalent "
        f"scikit-learn pipeline: labels identical for {eq['same_labels']:,}, largest probability "
        f"difference {eq['max_probability_difference']:.1e} (the limit is 1e-6).",
        "",
    ]
    return out


def _profile(results: dict[str, Any]) -> list[str]:
    out = [
        "## Where the time goes",
        "",
        "CPU seconds of each step of classifying the 3,019 test documents in one process "
        "(`benchmarks/serve_profile.py`, medians of 3):",
        "",
        "| step | `--scores none` | every probability |",
        "|---|---|---|",
    ]
    none, every = results["phases"]["none"], results["phases"]["all"]
    for step in none:
        out.append(f"| {step} | {none[step]:.3f} | {every[step]:.3f} |")
    fixed = sum(none[k] for k in ("import numpy", "import topictag", "load the model"))
    total = sum(none.values())
    docs = results["facts"]["test_docs"]
    per_doc = (total - fixed) / docs * 1e6
    out += [
        f"| total | {sum(none.values()):.3f} | {sum(every.values()):.3f} |",
        "",
        f"Of the {total:.3f} s, {fixed:.3f} s ({100 * fixed / total:.0f}%) is paid before the "
        f"first document: numpy's import ({none['import numpy']:.3f} s, which no Python "
        "process that classifies can skip), topictag's own modules, and loading the model "
        "(reading and hashing the weights, checking the manifest, inflating the coefficients, "
        f"building the word table). Each document then costs {per_doc:.0f} µs of CPU: reading "
        "and parsing its JSON line, tokenizing and looking up its words, one matrix-vector "
        "product, calibration, and writing its line. With two workers (`-j 2`, the default for "
        "files of 4 MiB or more) the scoring is shared by two forked processes, at about 0.05 s "
        "of CPU for starting them and handing batches over (the `-j 2` row above).",
        "",
        "cProfile of `topictag classify -j 1 --scores none` on the steady-state input, the "
        "functions with the most own time:",
        "",
        "| function | own s | share |",
        "|---|---|---|",
        *(f"| `{name}` | {sec:.3f} | {100 * share:.0f}% |" for name, sec, share in results["hot"]),
        "",
    ]
    ranked, extra, numpy_ms = results["imports"]
    out += [
        f"Cold start: numpy's own import takes {numpy_ms:.0f} ms of module time; the classify "
        f"command imports {extra:.0f} ms more. The largest (`python -X importtime`, best of 5):",
        "",
        "| module | own ms |",
        "|---|---|",
        *(f"| `{name}` | {ms:.1f} |" for name, ms in ranked),
        "",
    ]
    return out


def _rest(results: dict[str, Any]) -> list[str]:
    facts, memory = results["facts"], results["memory"]
    return [
        "## Memory",
        "",
        f"- `topictag classify` over {memory['lines']:,} lines (the Reuters test set repeated): "
        f"peak {memory['classify'].peak_mib:.0f} MiB (process tree; the limit is 300 MB), "
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
    ]
