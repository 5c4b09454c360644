"""What every command shares: defaults, the error wrapper, logging to stderr."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

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


def reports_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TopictagError as error:
            typer.echo(f"topictag: error: {error}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # e.g. `topictag classify ... | head`
            silence_stdout()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def models_dir() -> Path:
    return Path(os.environ.get("TOPICTAG_MODELS", "models"))
