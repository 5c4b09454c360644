"""``topictag classify`` without typer: the fast path for a plain command line.

Importing typer and building its application costs more than classifying one paragraph (and
recent typer releases import pydantic to run it), so :func:`main` first tries to read the
command line itself. It takes only what it can read without doubt: ``classify`` (after an
optional ``-q``), its options as ``--name value``, ``--name=value``, ``-x value`` or a bare
flag, positional texts, and ``--``. Anything else (``--help``, another command, an unknown or
abbreviated option, a value that typer would refuse or convert otherwise, a usage error found
later) returns None, and the caller hands the whole command line to typer, which answers as
always. Both paths run :func:`topictag.cli.classifying.run_classify`; a test holds this
option table to the typer command's.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from topictag.cli.classifying import (
    INPUT_FORMATS,
    SCORES,
    TABLE_FORMATS,
    ClassifyOptions,
    UsageProblem,
    is_archive,
    run_classify,
)

_TABLE: tuple[tuple[tuple[str, ...], str, Any], ...] = (
    (("--model", "-m"), "model", str),
    (("--input", "-i"), "input", str),
    (("--input-format",), "input_format", INPUT_FORMATS),  # a choice, as spelled
    (("--text-field",), "text_field", str),
    (("--id-field",), "id_field", str),
    (("--format",), "format", TABLE_FORMATS),
    (("-f",), "old_format", TABLE_FORMATS),
    (("--output", "-o"), "output", Path),
    (("--top-k", "-k"), "top_k", 1),  # an integer, at least this
    (("--threshold", "-t"), "threshold", tuple),  # repeatable
    (("--paragraphs", "-p"), "paragraphs", True),  # flags: the value they set
    (("--scores",), "scores", SCORES),
    (("--skip-invalid",), "skip_invalid", True),
    (("--no-skip-invalid",), "skip_invalid", False),
    (("--batch-size",), "batch_size", 1),
    (("--jobs", "-j"), "jobs", 0),
    (("--quiet", "-q"), "quiet", True),
    (("--max-line-bytes",), "max_line_bytes", 1),
)
# option -> (field of ClassifyOptions, how its value is read)
OPTIONS: dict[str, tuple[str, Any]] = {
    name: (field, kind) for names, field, kind in _TABLE for name in names
}
GLOBAL_OPTIONS = ("--quiet", "-q")
# The folder and Dask path's options: a command line with one of them is typer's to run.
HANDED_TO_TYPER = frozenset({"--engine", "--scheduler", "--compress", "--resume", "--no-resume"})


def main(argv: list[str]) -> int | None:
    """Run ``topictag classify`` from a plain command line; return its exit code.

    Returns None, having written nothing, when typer should handle the command line.
    """
    parsed = parse(argv)
    if parsed is None:
        return None
    options, quiet = parsed
    # One BLAS thread: classifying multiplies one paragraph's few rows at a time, where
    # OpenBLAS's thread pool only costs (starting it is half of numpy's import time), and the
    # worker processes are the parallelism. A value the user set is kept.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from topictag.cli.logs import (
        interruption,
        setup_logging,
        sigterm_interrupts,
        silence_stdout,
        stopped,
    )
    from topictag.errors import TopictagError

    setup_logging(quiet=quiet)
    try:
        with sigterm_interrupts():
            run_classify(options)
    except UsageProblem:
        return None  # typer reports it, as a usage error, with its usage line
    except TopictagError as error:
        print(f"topictag: error: {error}", file=sys.stderr, flush=True)
        return 1
    except BrokenPipeError:  # e.g. `topictag classify ... | head`
        silence_stdout()
        return 0
    except BaseException as error:  # a signal during an import can come wrapped
        stop = interruption(error)
        if stop is None:
            raise
        return stopped(stop)
    return 0


def parse(argv: list[str]) -> tuple[ClassifyOptions, bool] | None:
    """Read a ``classify`` command line; None for anything this parser does not take."""
    if any(name.startswith("_TOPICTAG_COMPLETE") for name in os.environ):
        return None  # shell completion: typer's
    quiet = False
    args = list(argv)
    while args and args[0] in GLOBAL_OPTIONS:
        quiet = True
        args.pop(0)
    if not args or args.pop(0) != "classify":
        return None
    values: dict[str, Any] = {}
    texts: list[str] = []
    thresholds: list[str] = []
    while args:
        arg = args.pop(0)
        if arg == "--":
            texts += args
            break
        if arg == "-" or not arg.startswith("-"):
            texts.append(arg)
            continue
        name, equals, attached = arg.partition("=")
        if name not in OPTIONS or (equals and not name.startswith("--")):
            return None
        field, kind = OPTIONS[name]
        if isinstance(kind, bool):
            if equals:
                return None
            values[field] = kind
            continue
        if equals:
            raw = attached
        elif args:
            raw = args.pop(0)
        else:
            return None
        if raw.startswith("-") and raw != "-":
            return None  # typer reads it as the value; let it, and say what it says
        value = _convert(raw, kind)
        if value is None:
            return None
        if kind is tuple:
            thresholds.append(raw)
        else:
            values[field] = value
    quiet = bool(values.pop("quiet", False)) or quiet
    options = replace(ClassifyOptions(), **values, text=tuple(texts), threshold=tuple(thresholds))
    if options.input is not None and is_archive(options.input):
        return None  # a folder or glob of files: the archive path, which typer's command runs
    return options, quiet


def _convert(raw: str, kind: Any) -> Any:
    """A value as typer would make it, or None when this parser leaves it to typer."""
    if kind is str or kind is tuple:
        return raw
    if kind is Path:
        return Path(raw) if raw else None
    if isinstance(kind, tuple):  # a choice, exactly as spelled
        return raw if raw in kind else None
    if isinstance(kind, int):  # an integer of at least ``kind``
        if not (raw.isascii() and raw.isdigit()) or int(raw) < kind:
            return None
        return int(raw)
    raise TypeError(f"unknown option kind {kind!r}")
