from __future__ import annotations

import os

import pytest

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
