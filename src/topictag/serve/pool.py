"""The one process pool: forked workers that share the caller's state without copying it.

Training fits (:mod:`topictag.train.estimator`) and classify workers
(:mod:`topictag.serve.stream`) both run their tasks through :class:`Workers`. The state a task
needs (a feature matrix, a loaded model) is registered here before the workers are forked, so
each worker inherits it instead of receiving a pickled copy per task; only the task's small
arguments and its result cross the process boundary. Where ``fork`` is unavailable, or with one
job, tasks run in the calling process on the same state.

Workers never outlive the run: on Linux each asks the kernel for ``SIGKILL`` when its parent
dies (``prctl(PR_SET_PDEATHSIG)``, even while it computes), and everywhere a thread in each
watches its parent; a run that ends by an exception (Ctrl-C, SIGTERM) ends its workers at
once. A worker that dies makes the run fail with one line (:class:`~topictag.errors.WorkerError`).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections.abc import Callable, Iterable
from contextlib import suppress
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from topictag.errors import WorkerError

if TYPE_CHECKING:
    from concurrent.futures import Future

S = TypeVar("S")
R = TypeVar("R")

_STATES: dict[int, Any] = {}  # the state of each open pool, by key; forked workers inherit it
_KEYS = itertools.count()


def fork_context() -> Any:
    """Return a ``fork`` multiprocessing context, or None where fork is unavailable."""
    import multiprocessing  # here, not at the top: the one-paragraph classify path skips it

    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None


class Workers(Generic[S]):
    """Run ``function(state, *args)`` tasks in forked worker processes, or in this one.

    Use it as a context manager. On entry, with ``jobs > 1`` and ``fork`` available, every
    worker is forked at once, before the caller starts threads of its own (a child forked
    while another thread holds a lock, such as stdin's, would inherit that lock held). On exit
    the workers are shut down and the state is released.

    Parameters
    ----------
    jobs : int
        Worker processes; 1 (or no ``fork``) runs every task in the calling process.
    state : object
        What every task receives as its first argument.

    Examples
    --------
    >>> def add(state, x):
    ...     return state + x
    >>> with Workers(2, 10) as workers:
    ...     workers.map(add, [1, 2, 3])
    [11, 12, 13]
    """

    def __init__(self, jobs: int, state: S) -> None:
        self.jobs = jobs
        self.state = state
        self._key: int | None = None
        self._executor: Any = None
        self._processes: list[Any] = []  # the workers, as launched

    @property
    def parallel(self) -> bool:
        """True when tasks run in worker processes."""
        return self._executor is not None

    def __enter__(self) -> Workers[S]:
        context = fork_context() if self.jobs > 1 else None
        if context is not None:
            from concurrent.futures import ProcessPoolExecutor

            self._key = next(_KEYS)
            _STATES[self._key] = self.state
            # The kernel's parent-death signal follows the thread that forked: ask for it only
            # when that is the main thread (a worker thread may end before the pool does).
            main = threading.current_thread() is threading.main_thread()
            try:
                self._executor = ProcessPoolExecutor(
                    self.jobs,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(os.getpid(), main),
                )
                # With fork, the first task launches every worker: do it now, and note them
                # before waiting, so that one killed while starting can still be named.
                started = self._executor.submit(int)
                self._processes = list((self._executor._processes or {}).values())
                started.result()
            except BaseException as error:  # a worker killed while the pool starts, Ctrl-C...
                self._stop(error)
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is None:
            # A worker killed while idle can go unnoticed: the executor's manager thread reads
            # a ready result before it looks at the workers' sentinels, so the others may finish
            # every task and the pool never breaks. The run still fails, as it would otherwise.
            died = self._close()
            if died:
                raise WorkerError(died)
        else:
            self._stop(error)

    def _stop(self, error: BaseException) -> None:
        """Stop the workers after ``error``; a broken pool becomes one :class:`WorkerError`."""
        broken = _broken(error)
        died = self._close(stop=True, broken=broken)
        if broken:
            raise WorkerError(
                died or "a worker process died unexpectedly; the run stopped"
            ) from None

    def submit(self, function: Callable[..., R], *args: Any) -> Future[R]:
        """Start ``function(state, *args)``; return its future.

        ``function`` must be importable by name (a module-level function) when tasks run in
        workers. In the calling process the task runs at once and the future is already done.
        """
        if self._executor is not None:
            future: Future[R] = self._executor.submit(_run, self._key, function, args)
            return future
        from concurrent.futures import Future

        done: Future[R] = Future()
        try:
            done.set_result(function(self.state, *args))
        except BaseException as error:
            done.set_exception(error)
        return done

    def map(self, function: Callable[..., R], items: Iterable[Any]) -> list[R]:
        """Return ``[function(state, item) for item in items]``, computed by the workers."""
        if self._executor is None:
            return [function(self.state, item) for item in items]
        futures = [self.submit(function, item) for item in items]
        return [future.result() for future in futures]

    def _close(self, *, stop: bool = False, broken: bool = False) -> str | None:
        """Shut the workers down (at once with ``stop``); say how one died, if one did."""
        died = None
        if self._executor is not None:
            launched = list((self._executor._processes or {}).values())
            processes = self._processes + [p for p in launched if p not in self._processes]
            ours: set[int | None] = set()
            if stop and not broken:  # Ctrl-C, SIGTERM, an error: do not wait for running tasks
                # SIGKILL, not SIGTERM: a worker ended while it writes a result holds the result
                # queue's lock, and a gentler signal lets another worker block on it forever
                # (the executor's shutdown would then wait for that worker). Killing every
                # worker leaves no one to wait for. (A broken pool's executor has already sent
                # SIGTERM to the workers left, and one of them died of its own signal.)
                for process in processes:
                    if process.is_alive():
                        process.kill()
                        ours.add(process.pid)
            manager = self._executor._executor_manager_thread
            self._executor.shutdown(wait=not stop, cancel_futures=stop)
            # A broken pool's manager thread terminates and joins (reaps) the workers itself.
            # Wait for it before looking at them: else both threads call waitpid() on a dead
            # worker, the loser gets ECHILD, and that worker looks alive here (its exit code not
            # set yet), so it would be "killed" and counted as ours, and the one a signal killed
            # would go unnamed. (The thread also closes a pipe that the executor's exit hook
            # writes to: joined, that no longer races at interpreter exit.)
            if manager is not None:
                manager.join(timeout=5)
            for process in processes:
                process.join(timeout=5)
                if process.is_alive():
                    process.kill()
                    ours.add(process.pid)
                    process.join(timeout=5)
            # name the signal of a worker that died of something other than our own stop
            codes = [(p.pid, p.exitcode) for p in processes if (p.exitcode or 0) < 0]
            named = [
                (pid, -code) for pid, code in codes if pid not in ours and code != -signal.SIGTERM
            ]
            died = _died(*named[0]) if named else None
            self._executor = None
            self._processes = []
        if self._key is not None:
            _STATES.pop(self._key, None)
            self._key = None
        return died


def _broken(error: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(error, BrokenProcessPool)


def _died(pid: int | None, number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    return f"a worker process (pid {pid}) was killed by {name}; the run stopped"


def _start_worker(parent: int, main_thread: bool) -> None:
    """Set a worker up: die with the parent, leave Ctrl-C and SIGTERM to it (in the worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if main_thread:
        _die_with_parent()
    if os.getppid() != parent:  # it died before the request above was made
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _die_with_parent() -> None:
    """Linux: have the kernel send SIGKILL to this process when its parent dies."""
    import ctypes

    pr_set_pdeathsig = 1
    with suppress(OSError, AttributeError):  # not Linux: the watching thread does it
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)


def _watch_parent(parent: int) -> None:
    import time

    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _run(key: int, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return function(_STATES[key], *args)
