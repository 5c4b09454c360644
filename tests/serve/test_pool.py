from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from topictag.errors import WorkerError
from topictag.serve import pool
from topictag.serve.pool import Workers


def _pid_and(state: dict[str, int], key: str) -> tuple[int, int]:
    return os.getpid(), state[key]


def _fail(state: object, message: str) -> None:
    raise ValueError(message)


def test_tasks_see_the_state_in_forked_workers_and_results_keep_order():
    state = {str(i): i * i for i in range(20)}
    with Workers(2, state) as workers:
        assert workers.parallel
        results = workers.map(_pid_and, [str(i) for i in range(20)])
    assert [value for _, value in results] == [i * i for i in range(20)]
    assert os.getpid() not in {pid for pid, _ in results}
    assert pool._STATES == {}  # released on exit


def test_one_job_runs_in_this_process_on_the_same_state():
    with Workers(1, {"a": 1}) as workers:
        assert not workers.parallel
        assert workers.map(_pid_and, ["a"]) == [(os.getpid(), 1)]
        assert workers.submit(_pid_and, "a").result() == (os.getpid(), 1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_task_raises_from_its_future(jobs):
    with Workers(jobs, None) as workers:
        future = workers.submit(_fail, "bad row")
        with pytest.raises(ValueError, match="bad row"):
            future.result(timeout=30)
    assert pool._STATES == {}


def test_without_fork_tasks_run_in_this_process(monkeypatch):
    monkeypatch.setattr(pool, "fork_context", lambda: None)
    with Workers(4, {"a": 2}) as workers:
        assert not workers.parallel
        assert workers.map(_pid_and, ["a"]) == [(os.getpid(), 2)]


def _die(state: object, number: int) -> None:
    os.kill(os.getpid(), number)
    time.sleep(5)


def test_a_killed_worker_fails_the_pool_with_one_line_not_a_traceback():
    killed = r"^a worker process \(pid \d+\) was killed by SIGKILL; the run stopped$"
    with pytest.raises(WorkerError, match=killed), Workers(2, None) as workers:
        workers.map(_die, [signal.SIGKILL])
    assert pool._STATES == {}


BUSY_PARENT = """
import sys
from topictag.serve.pool import Workers

def spin(state, n):
    return sum(range(n))  # C code that holds the GIL: only the kernel can stop it at once

with Workers(2, None) as workers:
    futures = [workers.submit(spin, 10**11) for _ in range(2)]
    import multiprocessing
    print(" ".join(str(p.pid) for p in multiprocessing.active_children()), flush=True)
    [future.result() for future in futures]
"""


def test_busy_workers_die_within_seconds_when_the_parent_is_killed():
    parent = subprocess.Popen(
        [sys.executable, "-c", BUSY_PARENT],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        start_new_session=True,
    )
    try:
        assert parent.stdout is not None
        pids = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(pids) == 2
        time.sleep(0.3)  # both are spinning
        parent.kill()  # SIGKILL of the parent alone, not of its group
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(pid) for pid in pids)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False
