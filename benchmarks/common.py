"""Helpers shared by the benchmarks: timing whole processes, machine facts, corpora."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "out"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Corpus:
    """A benchmark corpus in ../shared/data."""

    name: str
    path: Path
    labels: Path | None = None  # restrict to these labels (Reuters-90)

    @property
    def available(self) -> bool:
        return self.path.is_file()


CORPORA = {
    "reuters21578": Corpus(
        "reuters21578",
        SHARED / "reuters21578" / "reuters21578.jsonl",
        SHARED / "reuters21578" / "categories90.tsv",
    ),
    "bbc": Corpus("bbc", SHARED / "bbc" / "bbc.jsonl"),
    "nyt_headlines": Corpus("nyt_headlines", SHARED / "nyt_headlines" / "nyt_headlines.jsonl"),
    "us_congress_bills": Corpus(
        "us_congress_bills", SHARED / "us_congress_bills" / "us_congress_bills.jsonl"
    ),
}


@dataclass(frozen=True)
class Run:
    """One whole-process run: wall seconds, peak RSS of the process tree (MiB), CPU seconds.

    ``cpu`` is user + system time of the process and the children it waited for (its workers).
    """

    seconds: float
    peak_mib: float
    cpu: float = 0.0


def run(
    command: list[str],
    *,
    stdin: Path | None = None,
    stdout: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Run:
    """Run a command to completion; measure wall time, CPU time and the tree's peak RSS.

    RSS is sampled every 20 ms over the process and all its descendants (summed), so forked
    workers count. Raises RuntimeError on failure, with the end of the command's stderr.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with (
        open(stdin, "rb") if stdin else open(os.devnull, "rb") as source,
        open(stdout, "wb") if stdout else open(os.devnull, "wb") as sink,
    ):
        process = subprocess.Popen(
            command, stdin=source, stdout=sink, stderr=subprocess.PIPE, env=env, cwd=cwd
        )
        peak = [0]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(process.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = process.communicate()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode:
        tail = err.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {' | '.join(tail)}")
    return Run(seconds, peak[0] / 2**20, cpu)


def tree_rss(pid: int) -> int:
    """Return the summed resident memory (bytes) of a process and its descendants."""
    total = 0
    stack = [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as handle:
                total += int(handle.read().split()[1]) * page
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack += [int(child) for child in handle.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def median_run(command: list[str], repeats: int, **options: Path | None) -> Run:
    """Run a command several times; return the median time and the largest peak RSS."""
    return interleaved({"only": command}, repeats, **options)["only"]


def interleaved(
    commands: dict[str, list[str]], repeats: int, **options: Path | None
) -> dict[str, Run]:
    """Run several commands in turn (A, B, A, B, ...): a noisy machine hits each alike.

    Returns each command's median time and largest peak RSS.
    """
    runs: dict[str, list[Run]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            runs[name].append(run(command, **options))
    return {name: summarize(rs) for name, rs in runs.items()}


def summarize(runs: list[Run]) -> Run:
    """The median wall and CPU times of several runs, and their largest peak RSS."""
    return Run(
        statistics.median(r.seconds for r in runs),
        max(r.peak_mib for r in runs),
        statistics.median(r.cpu for r in runs),
    )


def folder_mib(path: Path) -> float:
    """Size of a file or folder on disk, MiB."""
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def progress(message: str) -> None:
    """Progress on stderr."""
    print(f"bench: {message}", file=sys.stderr, flush=True)


def topictag_version() -> str:
    """The version and commit of the code that ran (an editable install's metadata can be older)."""
    from topictag import __version__

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, cwd=Path(__file__).parent, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return __version__
    return f"{__version__} (commit {commit})"
