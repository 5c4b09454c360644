"""Worker processes: forked, so that they share the parent's loaded data without copying it."""

from __future__ import annotations

from typing import Any


def fork_context() -> Any:
    """Return a ``fork`` multiprocessing context, or None where fork is unavailable.

    Callers run their work in the current process when this returns None.
    """
    import multiprocessing  # here, not at the top: the one-paragraph classify path skips it

    try:
        return multiprocessing.get_context("fork")
    except ValueError:
        return None
