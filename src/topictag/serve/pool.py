"""The one process pool: forked workers that share the caller's state without copying it.

Training fits (:mod:`topictag.train.estimator`) and classify workers
(:mod:`topictag.serve.stream`) both run their tasks through :class:`Workers`. The state a task
needs (a feature matrix, a loaded model) is registered here before the workers are forked, so
each worker inherits it instead of receiving a pickled copy per task; only the task's small
arguments and its result cross the process boundary. Where ``fork`` is unavailable, or with one
job, tasks run in the calling process on the same state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
            try:
                self._executor = ProcessPoolExecutor(self.jobs, mp_context=context)
                # With fork, the first task launches every worker: do it now.
                self._executor.submit(int).result()
            except BaseException:
                self._close()
                raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._close()

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

    def _close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None
        if self._key is not None:
            _STATES.pop(self._key, None)
            self._key = None


def _run(key: int, function: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    return function(_STATES[key], *args)
