"""Logging to stderr and a closed stdout: what every command shares, without typer.

The ``classify`` fast path (:mod:`topictag.cli.quick`) runs without importing typer, so what
it shares with the typer commands lives here, on the standard library alone.
"""

from __future__ import annotations

import logging
import os
import sys
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
