"""Exceptions that the command line turns into one-line messages and exit code 1."""

from __future__ import annotations


class TopictagError(Exception):
    """A problem with the user's data, model or files, explained in one line."""


class DataError(TopictagError):
    """Input data that cannot be read or does not follow the format."""

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None):
        self.source = source
        self.line = line
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class ModelError(TopictagError):
    """A model bundle that is missing, corrupt or incompatible."""


class OutputError(TopictagError):
    """An output path that cannot be written, or holds something topictag will not replace."""


class WorkerError(TopictagError):
    """A worker process died (killed, or out of memory) before finishing its task."""
