"""The ``classify`` command (its work is :mod:`topictag.cli.classifying`'s)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from topictag.cli.classifying import (
    ClassifyOptions,
    UsageProblem,
    cuts_for,
    is_archive,
    run_classify,
)
from topictag.cli.common import (
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    SCORES_HELP,
    MaxLineBytes,
    Quiet,
    Scores,
    TableFormat,
    log,
    reports_errors,
)


class InputFormat(StrEnum):
    """How ``classify`` reads its input (``topictag.data.inputs.FORMATS``)."""

    auto = "auto"
    text = "text"
    jsonl = "jsonl"
    csv = "csv"


@reports_errors
def classify(
    text: Annotated[list[str] | None, typer.Argument(help="Paragraph(s) to classify.")] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    input: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Read paragraphs from a file, or - for stdin."),
    ] = None,
    input_format: Annotated[
        InputFormat,
        typer.Option(help="How to read input: auto picks by extension, then by content."),
    ] = InputFormat.auto,
    text_field: Annotated[
        str, typer.Option(help="JSON field or CSV column with the text.")
    ] = "text",
    id_field: Annotated[str, typer.Option(help="JSON field or CSV column with the id.")] = "id",
    format: Annotated[
        TableFormat | None,
        typer.Option(
            "--format",
            help="What to print [default: table on a terminal, else jsonl]; jsonl or parquet "
            "for a folder.",
        ),
    ] = None,
    old_format: Annotated[
        TableFormat | None, typer.Option("-f", hidden=True, help="Deprecated: use --format.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write results to this file (atomically; a FIFO or device is streamed to), or a "
            "folder for a folder or glob of inputs.",
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, help="Keep at most K labels per paragraph."),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", "-t", help="X for every label, or LABEL=X for one (repeatable)."
        ),
    ] = None,
    paragraphs: Annotated[
        bool, typer.Option("--paragraphs", "-p", help="Each input is an article: split it.")
    ] = False,
    scores: Annotated[
        Scores, typer.Option(help=SCORES_HELP + " The table format ignores it.")
    ] = Scores.all,
    skip_invalid: Annotated[
        bool, typer.Option(help="Report bad input lines on stderr and go on.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Paragraphs per batch.")] = 256,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes [default 0: 1 for TEXT and files under 4 MiB, else 2].",
        ),
    ] = 0,
    quiet: Quiet = False,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
    engine: Annotated[
        str,
        typer.Option(
            help="local, or dask: a folder or glob of files as Dask tasks (--output DIR)."
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="With --engine dask: an existing scheduler (tcp://HOST:PORT)."),
    ] = None,
    compress: Annotated[
        str | None, typer.Option(help="gzip: write OUTPUT/NAME.jsonl.gz files (folder output).")
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Folder output: keep the files a previous run finished.")
    ] = False,
) -> None:
    """Tag paragraphs with topics: from arguments, a file, stdin, or a folder or glob of files.

    A folder or glob (or --engine dask) writes OUTPUT/REL/NAME.jsonl for each input REL/NAME.EXT
    (JSON Lines, plain or .gz, text, CSV or Parquet).
    """
    if engine not in ("local", "dask"):
        raise typer.BadParameter("must be local or dask", param_hint="--engine")
    try:
        if engine == "dask" or (input is not None and is_archive(input)):
            if text:
                raise UsageProblem("--engine dask and folder inputs read --input, not arguments")
            if input is None or output is None:
                raise UsageProblem("a folder or glob of files needs --input and --output DIR")
            if scheduler is not None and engine != "dask":
                raise UsageProblem("--scheduler goes with --engine dask")
            _classify_archive(
                model,
                input,
                output,
                engine=engine,
                scheduler=scheduler,
                jobs=jobs or 2,
                resume=resume,
                thresholds=threshold,
                top_k=top_k,
                input_format=input_format.value,
                text_field=text_field,
                id_field=id_field,
                paragraphs=paragraphs,
                skip_invalid=skip_invalid,
                batch_size=batch_size,
                output_format=(format or old_format or TableFormat.jsonl).value,
                compress=compress,
            )
            return
        if scheduler is not None or resume or compress is not None:
            raise UsageProblem(
                "--scheduler, --resume and --compress go with a folder output (--engine dask, "
                "or a folder or glob --input)"
            )
        run_classify(
            ClassifyOptions(
                text=tuple(text or ()),
                model=model,
                input=input,
                input_format=input_format.value,
                text_field=text_field,
                id_field=id_field,
                format=None if format is None else format.value,
                old_format=None if old_format is None else old_format.value,
                output=output,
                top_k=top_k,
                threshold=tuple(threshold or ()),
                paragraphs=paragraphs,
                scores=scores.value,
                skip_invalid=skip_invalid,
                batch_size=batch_size,
                jobs=jobs,
                max_line_bytes=max_line_bytes,
            )
        )
    except UsageProblem as problem:
        raise typer.BadParameter(problem.message, param_hint=problem.param_hint) from None


def _classify_archive(model: str, source: str, output: Path, **settings: Any) -> None:
    """Classify a folder or glob of files into an output folder; log progress per file."""
    from topictag.model.inference import load_model
    from topictag.serve.archive import ArchiveOptions, FileResult, classify_archive

    if settings["input_format"] not in ("auto", "text", "jsonl", "csv", "parquet"):
        raise UsageProblem("must be auto, text, jsonl, csv or parquet", "--input-format")
    if settings["output_format"] not in ("jsonl", "parquet"):
        raise UsageProblem("must be jsonl or parquet for a folder", "--format")
    if settings["compress"] not in (None, "gzip"):
        raise UsageProblem("must be gzip", "--compress")
    loaded = load_model(model)
    options = ArchiveOptions(
        input_format=settings["input_format"],
        text_field=settings["text_field"],
        id_field=settings["id_field"],
        paragraphs=settings["paragraphs"],
        skip_invalid=settings["skip_invalid"],
        batch_size=settings["batch_size"],
        thresholds=cuts_for(loaded, settings["thresholds"] or ()),
        top_k=settings["top_k"],
        output_format=settings["output_format"],
        compress=settings["compress"],
    )

    def progress(kind: str, value: Any) -> None:
        if kind == "dashboard":
            log.info("Dask dashboard: %s", value)
        elif kind == "file":
            result, finished, total = value
            assert isinstance(result, FileResult)
            log.info(
                "[%d/%d] %s: %d paragraph(s) in %.1f s",
                finished,
                total,
                result.name,
                result.stats.paragraphs,
                result.seconds,
            )
            for message in result.skipped:
                log.warning("skipped %s", message)

    summary = classify_archive(
        loaded,
        source,
        output,
        options,
        engine=settings["engine"],
        jobs=settings["jobs"],
        scheduler=settings["scheduler"],
        resume=settings["resume"],
        on_event=progress,
    )
    stats = summary.stats
    log.info(
        "classified %d paragraph(s) in %d file(s)%s%s; results in %s",
        stats.paragraphs,
        summary.written,
        f", {summary.resumed} already done" if summary.resumed else "",
        f", skipped {stats.skipped} invalid line(s)" if stats.skipped else "",
        output,
    )
