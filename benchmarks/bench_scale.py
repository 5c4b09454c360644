"""Scale benchmark: streaming training, streaming against in-memory, and Dask classify.

``make bench-scale`` (``FULL=1`` adds 5M paragraphs and repeats the 1M run) builds large corpora
by resampling the bundled corpus and the shared ones in ../shared/data into benchmarks/out/scale
(git-ignored; never committed) and writes benchmarks/results-scale.md:

- ``topictag train --streaming`` on 200k and 1M resampled paragraphs of the bundled train split:
  wall time, paragraphs/s, peak memory of the whole process tree (the sum of every process's
  resident set), and micro-F1 on the bundled test split against the committed default model;
- on Reuters-21578 (R90), the streaming model against the in-memory recipe;
- ``topictag classify --engine dask`` on 1 and 2 workers against ``classify --jobs 1``, on an
  archive of paragraphs resampled from every shared corpus, with the CPU share of the CLI
  process (client, scheduler and nannies) against the workers'.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import BIN, CORPORA, OUT, ROOT, SHARED, cpu_model, progress

TOPICTAG = [str(BIN / "topictag")]
BUNDLED = ROOT / "datasets" / "news-paragraphs" / "paragraphs.jsonl"
COMMITTED = ROOT / "models" / "news-topics"
RESULTS = ROOT / "benchmarks" / "results-scale.md"
ARCHIVE_FILES = 16


def measured(command: list[str], *, before: Any = None) -> dict[str, float]:
    """Run a command; return wall seconds, peak tree RSS (MiB) and CPU seconds by process.

    ``main_cpu`` is the command's own process (for ``--engine dask`` with a local cluster: the
    client, the scheduler and the nannies); ``child_cpu`` its descendants (the workers).
    """
    import psutil

    if before is not None:
        before()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    main = psutil.Process(process.pid)
    peak, cpu, done = [0], {}, threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                tree = [main, *main.children(recursive=True)]
            except psutil.Error:
                break
            rss = 0
            for proc in tree:
                try:
                    times = proc.cpu_times()
                    cpu[proc.pid] = times.user + times.system
                    rss += proc.memory_info().rss
                except psutil.Error:
                    continue
            peak[0] = max(peak[0], rss)
            done.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = process.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if process.returncode:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(command)} failed: {' | '.join(tail)}")
    main_cpu = cpu.get(process.pid, 0.0)
    return {
        "seconds": seconds,
        "peak_mib": peak[0] / 2**20,
        "main_cpu": main_cpu,
        "child_cpu": sum(cpu.values()) - main_cpu,
    }


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median of each figure; the peak memory is the largest."""
    out = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    out["peak_mib"] = max(r["peak_mib"] for r in runs)
    out["runs"] = len(runs)
    return out


def resample(rows: list[dict[str, Any]], n: int, path: Path, *, seed: int = 0) -> Path:
    """Write ``n`` rows drawn with replacement (ids made unique, articles kept), once."""
    if path.is_file() and sum(1 for _ in path.open()) == n:
        return path
    progress(f"writing {path.name} ({n} rows)")
    picks = np.random.default_rng(seed).integers(0, len(rows), n)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as handle:
        for k, i in enumerate(picks.tolist()):
            row = dict(rows[i], id=f"{rows[i].get('id', i)}#{k}", split="train")
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def streaming(folder: Path, sizes: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """Streaming training on resamples of the bundled train split; micro-F1 on its test split."""
    from topictag.data.corpus import read_corpus
    from topictag.evaluate.evaluation import metrics_of, predict_records
    from topictag.model.inference import load_model

    rows = read_rows(BUNDLED)
    train = [r for r in rows if r.get("split") != "test"]
    test = read_corpus(BUNDLED)
    test = [r for r in test if r.split == "test"]
    committed = load_model(COMMITTED)
    reference = metrics_of(committed, predict_records(committed, test))["micro"]["f1"]
    out = []
    for n, repeats in sizes:
        data = resample(train, n, folder / f"bundled-train-{n}.jsonl")
        model = folder / f"streamed-{n}"
        command = [*TOPICTAG, "train", "--streaming", "-d", str(data), "-o", str(model), "-f"]
        runs = []
        for k in range(repeats):
            progress(f"streaming training, {n} paragraphs, run {k + 1}/{repeats}")
            runs.append(measured(command))
        result = median_of(runs)
        streamed = load_model(model)
        f1 = metrics_of(streamed, predict_records(streamed, test))["micro"]["f1"]
        result |= {"rows": n, "micro_f1": f1, "committed_micro_f1": reference}
        result["engine"] = streamed.manifest["engine"]
        out.append(result)
    return out


def reuters(folder: Path) -> dict[str, Any] | None:
    """Reuters-21578 R90: the streaming model against the in-memory recipe (test micro-F1)."""
    corpus = CORPORA["reuters21578"]
    if not corpus.available:
        return None
    out: dict[str, Any] = {}
    for name, extra in (("in-memory", []), ("streaming", ["--streaming"])):
        progress(f"Reuters-21578, {name}")
        model = folder / f"reuters-{name}"
        command = [*TOPICTAG, "train", "-d", str(corpus.path), "--labels", str(corpus.labels)]
        run = measured([*command, "-o", str(model), "-f", *extra])
        metrics = json.loads((model / "model.json").read_text())["metrics"]["test"]
        out[name] = run | {"micro_f1": metrics["micro"]["f1"], "macro_f1": metrics["macro"]["f1"]}
    return out


def archive(folder: Path, n: int) -> tuple[Path, Path]:
    """Paragraphs resampled from every shared corpus and the bundled one: as one file, and as
    an archive of ``ARCHIVE_FILES`` files."""
    single = folder / f"paragraphs-{n}.jsonl"
    parts = folder / f"archive-{n}"
    if single.is_file() and parts.is_dir():
        return single, parts
    pool = [r["text"] for r in read_rows(BUNDLED)]
    for corpus in CORPORA.values():
        if corpus.available:
            for row in read_rows(corpus.path):
                pool += [p.strip() for p in row["text"].split("\n\n") if p.strip()]
    rows = [{"id": str(i), "text": text} for i, text in enumerate(pool)]
    resample(rows, n, single, seed=1)
    shutil.rmtree(parts, ignore_errors=True)
    parts.mkdir()
    lines = single.read_text(encoding="utf-8").splitlines(keepends=True)
    size = -(-len(lines) // ARCHIVE_FILES)
    for k in range(ARCHIVE_FILES):
        (parts / f"part-{k:02d}.jsonl").write_text("".join(lines[k * size : (k + 1) * size]))
    return single, parts


def dask_classify(folder: Path, n: int, repeats: int) -> dict[str, Any]:
    """classify --jobs 1 on one file against --engine dask on 1 and 2 workers (interleaved)."""
    single, parts = archive(folder, n)
    out_dir = folder / "classified"
    model = ["-m", str(COMMITTED)]

    def clean() -> None:
        shutil.rmtree(out_dir, ignore_errors=True)
        (folder / "classified.jsonl").unlink(missing_ok=True)

    commands = {
        "classify --jobs 1 (one file)": [
            *TOPICTAG, "classify", *model, "--jobs", "1", "-i", str(single),
            "-o", str(folder / "classified.jsonl"),
        ],
        **{
            f"classify --engine dask --jobs {w}": [
                *TOPICTAG, "classify", *model, "--engine", "dask", "--jobs", str(w),
                "-i", str(parts), "-o", str(out_dir),
            ]
            for w in (1, 2)
        },
    }  # fmt: skip
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in commands}
    for k in range(repeats):
        for name, command in commands.items():
            progress(f"{name}, run {k + 1}/{repeats}")
            runs[name].append(measured(command, before=clean))
    clean()
    return {name: median_of(r) | {"rows": n} for name, r in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also 5M paragraphs; 3 runs of 1M")
    args = parser.parse_args()
    folder = OUT / "scale"
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sizes = [(200_000, 3), (1_000_000, 3 if args.full else 1)]
    if args.full:
        sizes.append((5_000_000, 1))
    results: dict[str, Any] = {"full": args.full, "cpu": cpu_model(), "shared": SHARED.is_dir()}
    results["load"] = [os.getloadavg()[0]]
    results["classify"] = dask_classify(folder, 400_000, 3)
    results["reuters"] = reuters(folder)
    results["streaming"] = streaming(folder, sizes)
    results["minutes"] = (time.perf_counter() - started) / 60
    results["load"].append(os.getloadavg()[0])
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    from benchmarks.scale_report import write_report

    write_report(results, RESULTS)
    progress(f"wrote {RESULTS} in {results['minutes']:.1f} min")


if __name__ == "__main__":
    main()
