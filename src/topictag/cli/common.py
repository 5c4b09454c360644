"""What every command shares: defaults, choices, the error wrapper, logging to stderr."""

from __future__ import annotations

import functools
import inspect
import logging
import os
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand
from typer.models import ArgumentInfo

from topictag.cli.logs import DEFAULT_MODEL as DEFAULT_MODEL  # re-exported: typer-free
from topictag.cli.logs import StderrHandler as StderrHandler
from topictag.cli.logs import interruption, sigterm_interrupts, stopped
from topictag.cli.logs import log as log
from topictag.cli.logs import silence_stdout as silence_stdout
from topictag.data.corpus import MAX_LINE_BYTES
from topictag.errors import TopictagError

DEFAULT_DATA = Path("datasets/news-paragraphs/paragraphs.jsonl")
DEFAULT_CONFIG = Path("training/default.toml")
MaxLineBytes = Annotated[
    int,
    typer.Option(
        min=1,
        help=f"Refuse input lines longer than this many bytes [default: {MAX_LINE_BYTES}, 1 MiB].",
        show_default=False,
    ),
]
F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(StrEnum):
    """What a command prints: text for people, or JSON (``--json`` is short for it)."""

    text = "text"
    json = "json"


class TableFormat(StrEnum):
    """What ``classify`` prints: an aligned table, or JSON Lines."""

    table = "table"
    jsonl = "jsonl"
    parquet = "parquet"  # folder outputs only


class Scores(StrEnum):
    """How much of each result's ``scores`` to keep."""

    all = "all"
    labels = "labels"
    none = "none"


SCORES_HELP = "all: every label's probability; labels: only the given labels'; none: no scores."


class Split(StrEnum):
    """A split of a corpus."""

    train = "train"
    test = "test"


Quiet = Annotated[
    bool, typer.Option("--quiet", "-q", help="Hide progress and information messages.")
]
Format = Annotated[OutputFormat, typer.Option("--format", help="What to print.")]
AsJson = Annotated[bool, typer.Option("--json", help="Short for --format json.")]


def output_format(format: OutputFormat, as_json: bool) -> OutputFormat:
    """The shape asked for: ``--json`` means ``--format json``."""
    return OutputFormat.json if as_json else format


def reports_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 1.

    A command's ``quiet`` option (``--quiet/-q``, as the global one) is applied here, before
    the command runs. While it runs, SIGTERM ends it as Ctrl-C does: cleanup runs (no
    temporary file stays), and the exit code is 143 (130 for Ctrl-C).
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("quiet"):
            log.setLevel(logging.WARNING)
        try:
            with sigterm_interrupts():
                return func(*args, **kwargs)
        except TopictagError as error:
            typer.echo(f"topictag: error: {error}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # e.g. `topictag classify ... | head`
            silence_stdout()
            raise typer.Exit(0) from None
        except BaseException as error:  # a signal during an import can come wrapped
            stop = interruption(error)
            if stop is None:
                raise
            raise typer.Exit(stopped(stop)) from None

    return wrapper  # type: ignore[return-value]


class Command(TyperCommand):
    """A command whose ``--help`` describes its positional arguments too.

    typer 0.24 sets an argument's help before click 8.5's ``Argument`` (which now takes a help
    of its own) resets it to None; this puts the ``typer.Argument(help=...)`` text back when
    help is shown (only then: reading the annotations again costs a few milliseconds).
    """

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """Restore the arguments' help, then write the help page."""
        restore_argument_help(self)
        super().format_help(ctx, formatter)

    def format_arguments(self, ctx: Any, formatter: Any) -> None:
        """List nothing here: typer lists the arguments with the options, under "Arguments"."""


def restore_argument_help(command: Any) -> None:
    """Give each positional argument of a command the help text its annotation declares."""
    if command.callback is None:
        return
    function = inspect.unwrap(command.callback)
    for param in command.params:
        if not isinstance(param, TyperArgument) or getattr(param, "help", None):
            continue
        hint = function.__annotations__.get(param.name or "")
        if isinstance(hint, str):  # postponed annotations: evaluate this one only
            hint = eval(hint, function.__globals__)  # the annotation text of our own code
        for info in getattr(hint, "__metadata__", ()):
            if isinstance(info, ArgumentInfo) and info.help:
                param.help = info.help


def models_dir() -> Path:
    return Path(os.environ.get("TOPICTAG_MODELS", "models"))
