"""What ``topictag classify`` does once its options are parsed, without typer.

Both ways in call :func:`run_classify`: the typer command (:func:`topictag.cli.classify.classify`)
and the fast path that parses a plain command line itself (:mod:`topictag.cli.quick`), so the
two cannot drift apart. A usage error is raised as :class:`UsageProblem`; the typer command
turns it into its usage message, the fast path hands the whole command line to typer instead.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topictag.cli.logs import DEFAULT_MODEL, log
from topictag.data.corpus import MAX_LINE_BYTES

INPUT_FORMATS = ("auto", "text", "jsonl", "csv")  # topictag.data.inputs.FORMATS
# Below this size a file is classified in one process: forking workers and handing batches to
# them costs more than the second core saves (measured in make bench-serve).
SMALL_INPUT_BYTES = 4 << 20
TABLE_FORMATS = ("table", "jsonl", "parquet")  # parquet: folder outputs only
SCORES = ("all", "labels", "none")  # topictag.serve.stream.SCORES


class UsageProblem(Exception):
    """A command line that cannot be run: ``param_hint`` names the option (or is None)."""

    def __init__(self, message: str, param_hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.param_hint = param_hint


@dataclass(frozen=True)
class ClassifyOptions:
    """The options of ``topictag classify``, with its defaults."""

    text: tuple[str, ...] = ()
    model: str = DEFAULT_MODEL
    input: str | None = None
    input_format: str = "auto"
    text_field: str = "text"
    id_field: str = "id"
    format: str | None = None  # "table" or "jsonl"; None picks by the terminal
    old_format: str | None = None  # the deprecated -f
    output: Path | None = None
    top_k: int | None = None
    threshold: tuple[str, ...] = ()
    paragraphs: bool = False
    scores: str = "all"
    skip_invalid: bool = False
    batch_size: int = 256
    jobs: int = 0
    max_line_bytes: int = MAX_LINE_BYTES


def parse_thresholds(values: Iterable[str]) -> tuple[float | None, dict[str, float]]:
    """Split ``--threshold`` values into one for every label and per-label overrides.

    Raises
    ------
    UsageProblem
        If a value is not ``X`` or ``LABEL=X`` with X a probability.
    """
    overall: float | None = None
    per_label: dict[str, float] = {}
    for value in values:
        label, _, number = value.rpartition("=")
        try:
            x = float(number)
        except ValueError:
            raise UsageProblem(
                f"expected X or LABEL=X with X a number, got {value!r}", "--threshold"
            ) from None
        if not 0.0 <= x <= 1.0:
            raise UsageProblem(
                f"a threshold is a probability between 0 and 1, got {x:g}", "--threshold"
            )
        if label:
            per_label[label] = x
        else:
            overall = x
    return overall, per_label


def cuts_for(model: Any, values: Iterable[str]) -> float | dict[str, float] | None:
    """The ``--threshold`` values as the model's labels see them.

    Raises
    ------
    UsageProblem
        If a value is malformed or names a label the model does not have.
    """
    overall, per_label = parse_thresholds(values)
    unknown = [label for label in per_label if label not in model.labels]
    if unknown:
        raise UsageProblem(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(model.labels)})",
            "--threshold",
        )
    if not per_label:
        return overall
    if overall is None:
        return per_label
    return {label: per_label.get(label, overall) for label in model.labels}


def is_archive(source: str) -> bool:
    """A folder, a glob or a remote path: many files in, a folder out."""
    if source == "-" or Path(source).is_file():
        return False
    return Path(source).is_dir() or "://" in source or any(c in source for c in "*?[")


def run_classify(options: ClassifyOptions) -> None:
    """Classify what the options say and write the results (stdout or ``--output``).

    Raises
    ------
    UsageProblem
        Before anything is read or written, if the options do not fit together or a
        ``--threshold`` names a label the model does not have.
    TopictagError
        On a model or data error (rows before a bad input row have been written).
    """
    from topictag.cli.progress import progress_display
    from topictag.data.inputs import items_from_texts, read_items
    from topictag.model.inference import load_model
    from topictag.serve.stream import ClassifyStats, Options, classify_stream, render_jsonl

    text, input, output = options.text, options.input, options.output
    format = options.format
    if options.old_format is not None:
        log.warning("-f for --format is deprecated (-f will mean --force): use --format")
        format = format or options.old_format
    if text and input:
        raise UsageProblem("give paragraphs as arguments or --input, not both")
    if options.format == "parquet" or options.old_format == "parquet":
        raise UsageProblem("parquet is for a folder output", "--format")
    parse_thresholds(options.threshold)  # a malformed value is a usage error before any work
    if output is not None:
        from topictag.data.files import check_output_file

        check_output_file(output)
    loaded = load_model(options.model)
    cuts = cuts_for(loaded, options.threshold)
    if not text and input in (None, "-") and sys.stdin.isatty():
        log.info(
            "reading paragraphs from stdin, one per line (end with Ctrl-D); "
            "or give TEXT arguments or --input FILE"
        )
    on_file = input not in (None, "-") and (output is not None or not sys.stdout.isatty())
    with progress_display(show=on_file) as progress:
        items: Iterable[Any] = (
            items_from_texts(text)
            if text
            else read_items(
                input or "-",
                input_format=options.input_format,
                text_field=options.text_field,
                id_field=options.id_field,
                whole=options.paragraphs,
                max_line_bytes=options.max_line_bytes,
                progress=progress,
            )
        )
        stats = ClassifyStats()
        table = format == "table" or (format is None and output is None and sys.stdout.isatty())
        chunks = classify_stream(
            loaded,
            items,
            render=render_table if table else render_jsonl,
            stats=stats,
            options=Options(
                cuts, options.top_k, options.paragraphs, "all" if table else options.scores
            ),
            batch_size=options.batch_size,
            jobs=options.jobs or default_jobs(options),
            skip_invalid=options.skip_invalid,
            on_skip=lambda error: log.warning("skipped %s", error),
        )
        if output is not None:
            from topictag.data.files import atomic_write

            with atomic_write(output) as handle:
                for chunk in chunks:
                    handle.write(chunk)
        else:
            for chunk in chunks:
                sys.stdout.write(chunk)
                sys.stdout.flush()
    if stats.unknown:
        log.warning(
            "%d paragraph(s) had no n-gram the model knows (known_terms 0): no labels given",
            stats.unknown,
        )
    from topictag.model.shift import known_share_warning

    drifted = known_share_warning(loaded.manifest, stats.known_terms, stats.terms)
    if drifted:
        log.warning("%s", drifted)
    if stats.skipped or stats.inputs > 1:
        log.info(
            "classified %d paragraph(s)%s",
            stats.paragraphs,
            f", skipped {stats.skipped} invalid line(s)" if stats.skipped else "",
        )


def default_jobs(options: ClassifyOptions) -> int:
    """Worker processes when ``--jobs`` is 0: one for TEXT arguments and regular files under
    :data:`SMALL_INPUT_BYTES`, two for larger files and for stdin."""
    if options.text:
        return 1
    if options.input in (None, "-"):
        return 2
    try:
        info = os.stat(options.input)
    except OSError:
        return 2  # reading it will say what is wrong
    return 1 if stat.S_ISREG(info.st_mode) and info.st_size < SMALL_INPUT_BYTES else 2


def render_table(rows: list[dict[str, Any]]) -> str:
    """Render output rows as an aligned table: id, labels, the three most probable labels."""
    cells = []
    for row in rows:
        ident = row["id"] + (f" ¶{row['paragraph']}" if "paragraph" in row else "")
        ident += " (article)" if row.get("article") else ""
        top = sorted(row["scores"].items(), key=lambda kv: -kv[1])[:3]
        cells.append(
            (
                ident,
                ", ".join(row["labels"]) or "-",
                "  ".join(f"{label} {p:.2f}" for label, p in top),
            )
        )
    widths = [max(len(c[k]) for c in cells) for k in range(2)]
    return "".join(f"{a.ljust(widths[0])}  {b.ljust(widths[1])}  {c}\n" for a, b, c in cells)
