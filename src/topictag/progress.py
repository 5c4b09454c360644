"""Progress of long steps, reported to an optional callback (standard library only).

Library functions that take a while accept ``progress: Progress | None``; they call it with a
:class:`Step` as work gets done and return their result as usual, so progress never mixes with
what they return. The command line turns steps into a progress bar on a terminal, or into a
plain line now and then (``topictag.cli.progress``); a notebook may pass any callable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    """``done`` of ``total`` units of a task (``total`` None when unknown).

    ``note`` says more (the best score so far, the file being read). ``logged`` is true when
    the library also logs this step as a line of its own (a cross-validation fold, a tuning
    trial), so that a plain-text reporter need not repeat it.
    """

    task: str
    done: float
    total: float | None = None
    note: str = ""
    logged: bool = False


Progress = Callable[[Step], None]


def report(
    progress: Progress | None,
    task: str,
    done: float,
    total: float | None = None,
    *,
    note: str = "",
    logged: bool = False,
) -> None:
    """Call ``progress`` with a :class:`Step`, if there is a callback."""
    if progress is not None:
        progress(Step(task, done, total, note, logged))
