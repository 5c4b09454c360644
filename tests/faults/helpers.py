"""Running topictag as a separate process, watching its process group, listing leftovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
TIMEOUT = 60  # seconds any one command may take


def topictag(*args: str | Path) -> list[str]:
    """The command line that runs topictag with this interpreter and these sources."""
    return [sys.executable, "-m", "topictag", *map(str, args)]


def run(*args: str | Path, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run topictag to the end (with a timeout) and return what it did."""
    options.setdefault("capture_output", True)
    options.setdefault("env", ENV)
    return subprocess.run(topictag(*args), text=True, timeout=TIMEOUT, check=False, **options)


def start(*args: str | Path, **options: Any) -> subprocess.Popen[str]:
    """Start topictag in a process group of its own (its workers join it)."""
    return subprocess.Popen(
        topictag(*args),
        text=True,
        env=ENV,
        start_new_session=True,
        stdout=options.pop("stdout", subprocess.DEVNULL),
        stderr=options.pop("stderr", subprocess.PIPE),
        **options,
    )


def group(pgid: int) -> list[int]:
    """The live processes (zombies excluded) of a process group, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != b"Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def assert_group_ends(pgid: int, within: float = 5.0) -> None:
    """Every process of the run is gone within a few seconds (then cleaned up, if not)."""
    deadline = time.monotonic() + within
    while (left := group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        os.killpg(pgid, signal.SIGKILL)  # our own run: do not leave it behind the test
    assert not left, f"processes of the run still alive after {within} s: {left}"


def wait_for_children(pid: int, count: int, within: float = 30.0) -> list[int]:
    """Wait until process ``pid`` has ``count`` children (its workers); return their pids."""
    import psutil

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        children = psutil.Process(pid).children()
        if len(children) >= count:
            return [child.pid for child in children]
        time.sleep(0.05)
    raise AssertionError(f"process {pid} did not start {count} workers within {within} s")


def stop_at(process: subprocess.Popen[str], delay: float, number: int) -> str:
    """Send ``number`` to the main process only, after ``delay`` s; reap it; return stderr."""
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, number)
    try:
        _, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    return err or ""


def hidden(folder: Path) -> list[str]:
    """Names in ``folder`` that start with a dot (temporary files and staging folders)."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def assert_one_line_error(result: subprocess.CompletedProcess[str], *pieces: str) -> str:
    """The run failed with exit 1 and printed exactly one line, the error, and nothing else."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("topictag: error: "), result.stderr
    assert result.stdout == ""
    for piece in pieces:
        assert piece in lines[0], lines[0]
    return lines[0]
