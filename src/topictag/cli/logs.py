"""Logging to stderr, a closed stdout, SIGTERM as Ctrl-C: what every command shares.

The ``classify`` fast path (:mod:`topictag.cli.quick`) runs without importing typer, so what
it shares with the typer commands lives here, on the standard library alone.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_MODEL = "news-topics"
log = logging.getLogger("topictag")


class StderrHandler(logging.StreamHandler):
    """Log to whatever ``sys.stderr`` is at the time (a progress bar redirects it)."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter("topictag: %(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(*, quiet: bool) -> None:
    """Send the ``topictag`` logger to stderr: information too, unless ``quiet``."""
    log.handlers[:] = [StderrHandler()]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def silence_stdout() -> None:
    """Point stdout at the null device (the reader of a pipe has gone: ``... | head``)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C raises KeyboardInterrupt."""


_HANDLER_PID: int | None = None  # the process that installed the handler below


def _terminate(number: int, frame: Any) -> None:
    if os.getpid() != _HANDLER_PID:
        # A forked child (a pool worker still starting, before it resets its signals) that
        # inherited the handler: die of the signal, as the worker would once started, instead
        # of raising into multiprocessing's bootstrap (a traceback on stderr, exit code 1).
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
        return
    raise Terminated()


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """While the block runs, SIGTERM raises :class:`Terminated` in the main thread.

    Cleanup then runs as it does for Ctrl-C (no temporary file stays). Outside the main
    thread (a test runner's worker, say) signals cannot be handled and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    global _HANDLER_PID
    _HANDLER_PID = os.getpid()
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind an exception (itself or its cause chain), if any.

    A signal that arrives during an import can come wrapped in another exception.
    """
    seen: BaseException | None = error
    for _ in range(10):
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
    return None


def stopped(stop: KeyboardInterrupt) -> int:
    """Say on stderr that a run was interrupted or terminated; its exit code (130 or 143)."""
    terminated = isinstance(stop, Terminated)
    print(f"topictag: {'terminated' if terminated else 'interrupted'}", file=sys.stderr, flush=True)
    return 143 if terminated else 130
