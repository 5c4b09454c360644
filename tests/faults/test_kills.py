"""kill -9 and SIGTERM at random moments: the old output or the new, whole; no process left.

Each command runs once to the end (the new output, and how long a run takes), then again from
the old output, stopped after a random share of that time (seeded, so the moments are the
same on every run): SIGTERM first (exit 143, nothing left behind at once), then SIGKILL of the
main process alone (its workers must follow within seconds; what it left is cleaned by the
next run, which the test then makes).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.helpers import (
    assert_group_ends,
    hidden,
    run,
    start,
    stop_at,
    wait_for_children,
)
from topictag.model.bundle import load_bundle

Snapshot = object


@dataclass
class Case:
    """A command that writes one output, and how to put back and read its old output."""

    args: Callable[[Path, Path, tuple[Path, Path]], list[str | Path]]
    output: str
    restore: Callable[[Path, tuple[Path, Path]], None]
    snapshot: Callable[[Path], Snapshot]
    kills: tuple[int, int]  # SIGTERM moments, SIGKILL moments


def _file(path: Path) -> Snapshot:
    return path.read_bytes() if path.exists() else None


def _old_file(path: Path, bundles: tuple[Path, Path]) -> None:
    path.write_bytes(b"the old output\n")


def _bundle(path: Path) -> Snapshot:
    names = sorted(p.name for p in path.iterdir())
    return names, load_bundle(path).manifest["integrity"]["sha256"]  # loads whole, or fails


def _old_bundle(path: Path, bundles: tuple[Path, Path]) -> None:
    shutil.rmtree(path, ignore_errors=True)
    shutil.copytree(bundles[0], path)


def _report(path: Path) -> Snapshot:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def _old_report(path: Path, bundles: tuple[Path, Path]) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    (path / "metrics.json").write_text(json.dumps({"schema_version": 1, "metrics": {}}))
    (path / "report.md").write_text("# the old report\n")
    (path / "report.html").write_text("<p>the old report</p>\n")


def _paragraphs(folder: Path) -> Path:
    path = folder / "paragraphs.txt"
    if not path.exists():
        lines = [f"Oil prices rose as troops shelled town {i} and envoys met." for i in range(6000)]
        path.write_text("\n".join(lines) + "\n")
    return path


def _fasttext(folder: Path, corpus: Path) -> Path:
    path = folder / "corpus.txt"
    rows = [json.loads(line) for line in corpus.read_text().splitlines()]
    path.write_text(
        "".join(
            " ".join(f"__label__{x}" for x in r["labels"]) + f" {r['text']}\n"
            for r in rows
            if r["labels"]
        )
    )
    return path


CASES = {
    "train --force": Case(
        lambda d, c, b: ["train", "-d", c, "-o", d / "model", "--force", "--seed", "2", "-j", "2"],
        "model",
        _old_bundle,
        _bundle,
        (1, 2),
    ),
    "classify --output": Case(
        lambda d, c, b: [
            "classify",
            "-m",
            b[0],
            "-i",
            _paragraphs(d),
            "-o",
            d / "out.jsonl",
            "-j",
            "2",
        ],
        "out.jsonl",
        lambda p, b: _old_file(p, b),
        _file,
        (2, 2),
    ),
    "evaluate --output": Case(
        lambda d, c, b: ["evaluate", b[1], "-d", c, "-o", d / "report"],
        "report",
        _old_report,
        _report,
        (1, 1),  # each run takes seconds (scikit-learn, matplotlib): one of each
    ),
    "data split -o": Case(
        lambda d, c, b: ["data", "split", c, "-o", d / "split.jsonl", "--seed", "3"],
        "split.jsonl",
        _old_file,
        _file,
        (2, 2),
    ),
    "data import -o": Case(
        lambda d, c, b: ["data", "import", "fasttext", _fasttext(d, c), "-o", d / "imported.jsonl"],
        "imported.jsonl",
        _old_file,
        _file,
        (2, 2),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_stopped_run_leaves_the_old_output_or_the_new_whole_and_no_process(
    name, tmp_path, corpus, bundles
):
    case = CASES[name]
    folder = tmp_path / "work"
    folder.mkdir()
    output = folder / case.output
    args = case.args(folder, corpus, bundles)
    inputs = sorted(p.name for p in folder.iterdir())

    case.restore(output, bundles)
    old = case.snapshot(output)
    began = time.monotonic()
    done = run(*args)
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    new = case.snapshot(output)
    assert new != old

    rng = random.Random(f"topictag-11 {name}")
    terms, kills = case.kills
    for number in [signal.SIGTERM] * terms + [signal.SIGKILL] * kills:
        case.restore(output, bundles)
        process = start(*args)
        err = stop_at(process, rng.uniform(0.3, 1.0) * took, number)
        assert_group_ends(process.pid)
        assert case.snapshot(output) in (old, new), f"{name}: a mixed or partial output"
        if number == signal.SIGTERM:
            # stopped as Ctrl-C is (143), or killed by the signal before topictag could catch
            # it (at start-up, before any file is made); or it was already done
            assert process.returncode in (143, -signal.SIGTERM, 0), (process.returncode, err)
            if process.returncode == 143:
                assert err.splitlines()[-1] == "topictag: terminated", err
                assert "Traceback" not in err
            assert hidden(folder) == [], "SIGTERM left temporary files behind"
        else:
            assert process.returncode in (-signal.SIGKILL, 0)

    case.restore(output, bundles)
    again = run(*args)  # the next run cleans what the killed ones left behind
    assert again.returncode == 0, again.stderr
    assert case.snapshot(output) == new
    assert hidden(folder) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted({*inputs, case.output})


def test_a_killed_worker_fails_the_run_with_one_line(tmp_path, bundles):
    output = tmp_path / "out.jsonl"
    process = start("classify", "-m", bundles[0], "-i", "-", "-o", output, stdin=subprocess.PIPE)
    try:
        worker = wait_for_children(process.pid, 2)[0]
        os.kill(worker, signal.SIGKILL)
        _, err = process.communicate("Oil prices rose.\n" * 2000, timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert_group_ends(process.pid)
    assert process.returncode == 1, err
    assert err.splitlines() == [
        f"topictag: error: a worker process (pid {worker}) was killed by SIGKILL; the run stopped"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("number", "code", "said"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_sigterm_ends_a_run_reading_stdin_as_ctrl_c_does(tmp_path, bundles, number, code, said):
    output = tmp_path / "out.jsonl"
    process = start("classify", "-m", bundles[0], "-i", "-", "-o", output, stdin=subprocess.PIPE)
    try:
        assert process.stdin is not None
        process.stdin.write("Oil prices rose.\n" * 100)
        process.stdin.flush()
        wait_for_children(process.pid, 2)  # workers forked: the reader thread waits for more
        time.sleep(0.2)
        os.kill(process.pid, number)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert_group_ends(process.pid)
    assert (process.returncode, err) == (code, f"topictag: {said}\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
