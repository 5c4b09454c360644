"""Progress on stderr: a rich progress bar on a terminal, otherwise a plain line now and then.

Library functions report :class:`~topictag.progress.Step` values to a callback; the commands
get theirs from :func:`progress_display`. On a terminal the steps drive a rich progress bar on
stderr (one row per task), drawn from the first step on, so that a command refused before any
work prints only its error line, and removed when the command ends. Elsewhere (a pipe, a log
file) a task the library does not already log gets one plain line per tenth of its total, at
most one line a second.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from topictag.cli.logs import log
from topictag.progress import Progress, Step

PLAIN_INTERVAL = 1.0  # seconds between plain progress lines, at least
REFRESH_INTERVAL = 0.1  # seconds between redraws of the bar, at least


@contextmanager
def progress_display(*, show: bool = True, console: Any = None) -> Iterator[Progress | None]:
    """Yield the progress callback of a command, or None when no progress is shown.

    Parameters
    ----------
    show : bool
        False for a command that has nothing long to report here (e.g. results go to the
        terminal, where a bar would mix with them).
    console : rich.console.Console, optional
        Draw the bar on this console [default: stderr, when stderr is a terminal].
    """
    if not show or log.getEffectiveLevel() > logging.INFO:
        yield None
        return
    if console is None and not sys.stderr.isatty():
        yield PlainProgress()
        return
    bar = BarProgress(console)
    try:
        yield bar
    finally:
        bar.close()


class PlainProgress:
    """Log one line per tenth of a task's total, at most every :data:`PLAIN_INTERVAL` seconds.

    Steps the library logs itself (``logged``) and steps of unknown total are not repeated.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last = clock()
        self._shown: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, step: Step) -> None:
        if step.logged or not step.total:
            return
        tenth = min(10, int(10 * step.done / step.total))
        with self._lock:
            now = self._clock()
            if tenth <= self._shown.get(step.task, 0) or now - self._last < PLAIN_INTERVAL:
                return
            self._last = now
            self._shown[step.task] = tenth
        log.info("%s: %d%%%s", step.task, 10 * tenth, f" ({step.note})" if step.note else "")


class BarProgress:
    """A rich progress bar with one row per task, redrawn as steps arrive.

    Redrawn by the caller's thread only (no refresh thread), so that forking worker processes
    while the bar is shown is safe. While it is shown, log lines print above it.
    """

    def __init__(self, console: Any = None) -> None:
        self._console = console
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._drawn = 0.0
        self._lock = threading.Lock()

    def __call__(self, step: Step) -> None:
        with self._lock:
            if self._bar is None:
                self._bar = _new_bar(self._console)
                self._bar.start()
            if step.task not in self._tasks:
                self._tasks[step.task] = self._bar.add_task(step.task, total=step.total, note="")
            self._bar.update(
                self._tasks[step.task], completed=step.done, total=step.total, note=step.note
            )
            now = time.monotonic()
            if now - self._drawn >= REFRESH_INTERVAL or step.done == step.total:
                self._drawn = now
                self._bar.refresh()

    def close(self) -> None:
        """Remove the bar from the screen."""
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


def _new_bar(console: Any) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress

    return RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console or Console(stderr=True),
        auto_refresh=False,
        transient=True,
    )
