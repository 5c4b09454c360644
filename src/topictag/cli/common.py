"""What every command shares: defaults, choices, the error wrapper, logging to stderr."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import click
import typer
from typer.core import TyperCommand
from typer.models import ArgumentInfo

from topictag.data.corpus import MAX_LINE_BYTES
from topictag.errors import TopictagError

DEFAULT_DATA = Path("datasets/news-paragraphs/paragraphs.jsonl")
DEFAULT_CONFIG = Path("training/default.toml")
DEFAULT_MODEL = "news-topics"

log = logging.getLogger("topictag")
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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread as Ctrl-C raises KeyboardInterrupt."""


def _terminate(number: int, frame: Any) -> None:
    raise Terminated()


def _interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM an exception was raised from, if any (its cause chain)."""
    seen: BaseException | None = error
    for _ in range(10):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if isinstance(seen, KeyboardInterrupt):
            return seen
    return None


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
        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminate) if main else None
        try:
            return func(*args, **kwargs)
        except TopictagError as error:
            typer.echo(f"topictag: error: {error}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # e.g. `topictag classify ... | head`
            silence_stdout()
            raise typer.Exit(0) from None
        except KeyboardInterrupt as stop:
            terminated = isinstance(stop, Terminated)
            typer.echo(f"topictag: {'terminated' if terminated else 'interrupted'}", err=True)
            raise typer.Exit(143 if terminated else 130) from None
        except Exception as error:  # a signal during an import can come wrapped (__set_name__)
            cause = _interruption(error)
            if cause is None:
                raise
            terminated = isinstance(cause, Terminated)
            typer.echo(f"topictag: {'terminated' if terminated else 'interrupted'}", err=True)
            raise typer.Exit(143 if terminated else 130) from None
        finally:
            if main:
                signal.signal(signal.SIGTERM, previous)

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
    of its own) resets it to None; this puts the ``typer.Argument(help=...)`` text back when
    help is shown (only then: reading the annotations again costs a few milliseconds).
    """

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Restore the arguments' help, then write the help page."""
        restore_argument_help(self)
        super().format_help(ctx, formatter)

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List nothing here: typer lists the arguments with the options, under "Arguments"."""


def restore_argument_help(command: click.Command) -> None:
    """Give each positional argument of a command the help text its annotation declares."""
    if command.callback is None:
        return
    function = inspect.unwrap(command.callback)
    for param in command.params:
        if not isinstance(param, click.Argument) or getattr(param, "help", None):
            continue
        hint = function.__annotations__.get(param.name or "")
        if isinstance(hint, str):  # postponed annotations: evaluate this one only
            hint = eval(hint, function.__globals__)  # the annotation text of our own code
        for info in getattr(hint, "__metadata__", ()):
            if isinstance(info, ArgumentInfo) and info.help:
                param.help = info.help


def silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def models_dir() -> Path:
    return Path(os.environ.get("TOPICTAG_MODELS", "models"))
