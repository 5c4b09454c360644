"""What every command shares: defaults, choices, the error wrapper, logging to stderr."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import typing
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from typer.core import TyperCommand
from typer.models import ArgumentInfo

from topictag.errors import TopictagError

DEFAULT_DATA = Path("datasets/news-paragraphs/paragraphs.jsonl")
DEFAULT_CONFIG = Path("training/default.toml")
DEFAULT_MODEL = "news-topics"

log = logging.getLogger("topictag")
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    """What a command prints: text for people, or JSON (``--json`` is short for it)."""

    text = "text"
    json = "json"


class TableFormat(StrEnum):
    """What ``classify`` prints: an aligned table, or JSON Lines."""

    table = "table"
    jsonl = "jsonl"


class Split(StrEnum):
    """A split of a corpus."""

    train = "train"
    test = "test"


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Hide progress and information messages.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Short for --format json.")]


def output_format(format: OutputFormat, as_json: bool) -> OutputFormat:
    """The shape asked for: ``--json`` means ``--format json``."""
    return OutputFormat.json if as_json else format


def reports_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 1.

    A command's ``quiet`` option (``--quiet/-q``, as the global one) is applied here, before
    the command runs.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("quiet"):
            log.setLevel(logging.WARNING)
        try:
            return func(*args, **kwargs)
        except TopictagError as error:
            typer.echo(f"topictag: error: {error}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # e.g. `topictag classify ... | head`
            silence_stdout()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


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


class Command(TyperCommand):
    """A command whose ``--help`` describes its positional arguments too.

    typer 0.24 sets an argument's help before click 8.5's ``Argument`` (which now takes a help
    of its own) resets it to None; this puts the ``typer.Argument(help=...)`` text back.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        helps = _argument_helps(self.callback)
        for param in self.params:
            if isinstance(param, click.Argument) and not getattr(param, "help", None):
                param.help = helps.get(param.name or "")

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List nothing here: typer lists the arguments with the options, under "Arguments"."""


def _argument_helps(callback: Callable[..., Any] | None) -> dict[str, str]:
    if callback is None:
        return {}
    hints = typing.get_type_hints(inspect.unwrap(callback), include_extras=True)
    return {
        name: info.help
        for name, hint in hints.items()
        for info in getattr(hint, "__metadata__", ())
        if isinstance(info, ArgumentInfo) and info.help
    }


def silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def models_dir() -> Path:
    return Path(os.environ.get("TOPICTAG_MODELS", "models"))
