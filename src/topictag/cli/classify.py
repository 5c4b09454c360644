"""The ``classify`` and ``serve`` commands."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from topictag.cli.common import (
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    MaxLineBytes,
    Quiet,
    TableFormat,
    log,
    reports_errors,
)
from topictag.cli.progress import progress_display


class InputFormat(StrEnum):
    """How ``classify`` reads its input (``topictag.data.inputs.FORMATS``)."""

    auto = "auto"
    text = "text"
    jsonl = "jsonl"
    csv = "csv"


class Scores(StrEnum):
    """How much of each result's ``scores`` to keep."""

    all = "all"
    labels = "labels"
    none = "none"


_SCORES_HELP = "all: every label's probability; labels: only the given labels'; none: no scores."


def _parse_thresholds(values: list[str] | None) -> tuple[float | None, dict[str, float]]:
    """Split ``--threshold`` values into one for every label and per-label overrides."""
    overall: float | None = None
    per_label: dict[str, float] = {}
    for value in values or []:
        label, _, number = value.rpartition("=")
        try:
            x = float(number)
        except ValueError:
            raise typer.BadParameter(
                f"expected X or LABEL=X with X a number, got {value!r}", param_hint="--threshold"
            ) from None
        if not 0.0 <= x <= 1.0:
            raise typer.BadParameter(
                f"a threshold is a probability between 0 and 1, got {x:g}", param_hint="--threshold"
            )
        if label:
            per_label[label] = x
        else:
            overall = x
    return overall, per_label


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
        Scores, typer.Option(help=_SCORES_HELP + " The table format ignores it.")
    ] = Scores.all,
    skip_invalid: Annotated[
        bool, typer.Option(help="Report bad input lines on stderr and go on.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Paragraphs per batch.")] = 256,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Worker processes [default 0: 2 for files and stdin]."
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
    from topictag.data.inputs import items_from_texts, read_items
    from topictag.model.inference import load_model
    from topictag.serve.stream import ClassifyStats, Options, classify_stream, render_jsonl

    if engine not in ("local", "dask"):
        raise typer.BadParameter("must be local or dask", param_hint="--engine")
    if engine == "dask" or (input is not None and _is_archive(input)):
        if text:
            raise typer.BadParameter("--engine dask and folder inputs read --input, not arguments")
        if input is None or output is None:
            raise typer.BadParameter("a folder or glob of files needs --input and --output DIR")
        if scheduler is not None and engine != "dask":
            raise typer.BadParameter("--scheduler goes with --engine dask")
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
        raise typer.BadParameter(
            "--scheduler, --resume and --compress go with a folder output (--engine dask, "
            "or a folder or glob --input)"
        )
    if format == TableFormat.parquet or old_format == TableFormat.parquet:
        raise typer.BadParameter("parquet is for a folder output", param_hint="--format")
    if old_format is not None:
        log.warning("-f for --format is deprecated (-f will mean --force): use --format")
        format = format or old_format
    if text and input:
        raise typer.BadParameter("give paragraphs as arguments or --input, not both")
    overall, per_label = _parse_thresholds(threshold)
    if output is not None:
        from topictag.data.files import check_output_file

        check_output_file(output)
    loaded = load_model(model)
    unknown = [label for label in per_label if label not in loaded.labels]
    if unknown:
        raise typer.BadParameter(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(loaded.labels)})",
            param_hint="--threshold",
        )
    cuts: float | dict[str, float] | None = overall
    if per_label:
        cuts = (
            per_label
            if overall is None
            else {label: per_label.get(label, overall) for label in loaded.labels}
        )
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
                input_format=input_format.value,
                text_field=text_field,
                id_field=id_field,
                whole=paragraphs,
                max_line_bytes=max_line_bytes,
                progress=progress,
            )
        )
        stats = ClassifyStats()
        table = format == TableFormat.table or (
            format is None and output is None and sys.stdout.isatty()
        )
        chunks = classify_stream(
            loaded,
            items,
            render=_table if table else render_jsonl,
            stats=stats,
            options=Options(cuts, top_k, paragraphs, "all" if table else scores.value),
            batch_size=batch_size,
            jobs=jobs if jobs else (1 if text else 2),
            skip_invalid=skip_invalid,
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


def _thresholds_for(loaded: Any, values: list[str] | None) -> float | dict[str, float] | None:
    """The ``--threshold`` values as the model's labels see them."""
    overall, per_label = _parse_thresholds(values)
    unknown = [label for label in per_label if label not in loaded.labels]
    if unknown:
        raise typer.BadParameter(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(loaded.labels)})",
            param_hint="--threshold",
        )
    if not per_label:
        return overall
    if overall is None:
        return per_label
    return {label: per_label.get(label, overall) for label in loaded.labels}


def _is_archive(source: str) -> bool:
    """A folder, a glob or a remote path: many files in, a folder out."""
    if source == "-" or Path(source).is_file():
        return False
    return Path(source).is_dir() or "://" in source or any(c in source for c in "*?[")


def _classify_archive(model: str, source: str, output: Path, **settings: Any) -> None:
    """Classify a folder or glob of files into an output folder; log progress per file."""
    from topictag.model.inference import load_model
    from topictag.serve.archive import ArchiveOptions, FileResult, classify_archive

    if settings["input_format"] not in ("auto", "text", "jsonl", "csv", "parquet"):
        raise typer.BadParameter(
            "must be auto, text, jsonl, csv or parquet", param_hint="--input-format"
        )
    if settings["output_format"] not in ("jsonl", "parquet"):
        raise typer.BadParameter("must be jsonl or parquet for a folder", param_hint="--format")
    if settings["compress"] not in (None, "gzip"):
        raise typer.BadParameter("must be gzip", param_hint="--compress")
    loaded = load_model(model)
    options = ArchiveOptions(
        input_format=settings["input_format"],
        text_field=settings["text_field"],
        id_field=settings["id_field"],
        paragraphs=settings["paragraphs"],
        skip_invalid=settings["skip_invalid"],
        batch_size=settings["batch_size"],
        thresholds=_thresholds_for(loaded, settings["thresholds"]),
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


@reports_errors
def serve(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model folder or name (repeatable with --http; the first is the default) "
            f"[default: {DEFAULT_MODEL}].",
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, help="Keep at most K labels per paragraph."),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="[HOST:]PORT",
            help="Serve HTTP on this address instead of stdin (host default 127.0.0.1).",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="Require 'Authorization: Bearer <token>' with the token in this file."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="HTTP worker processes.")] = 2,
    max_batch: Annotated[
        int, typer.Option(min=1, help="At most this many texts per scoring batch.")
    ] = 256,
    max_wait_ms: Annotated[
        float,
        typer.Option(min=0.0, help="Wait this long for more requests to batch with the first."),
    ] = 0.0,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body (HTTP 413 above).")
    ] = 10 << 20,
    max_texts: Annotated[
        int, typer.Option(min=1, help="Most texts (or items) in one request (HTTP 413 above).")
    ] = 1000,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
    scores: Annotated[Scores, typer.Option(help=_SCORES_HELP)] = Scores.all,
    watch_interval: Annotated[
        float,
        typer.Option(
            min=0.0, help="Look for changed bundles this often, in seconds (0: only on SIGHUP)."
        ),
    ] = 1.0,
    access_quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No access log (the start-up lines stay; topictag -q hides them)."
        ),
    ] = False,
) -> None:
    """Answer requests on stdin, one JSON line out per line in, until EOF or Ctrl-C; or over HTTP.

    A request is a JSON object with "text" (and optionally "id"), or a plain line of text.
    Every line gets one answer, in order; a bad line gets {"id": ..., "error": ...}.
    With --http, POST /v1/classify answers {"texts": [...]} (see the README and /openapi.json).
    """
    models = model or [DEFAULT_MODEL]
    _setup_access_log(access_quiet)
    if http is not None:
        from topictag.serve.server import HttpConfig, parse_address, run_http

        try:
            host, port = parse_address(http)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--http") from None
        run_http(
            HttpConfig(
                host=host,
                port=port,
                models=models,
                token_file=token_file,
                jobs=jobs,
                max_batch=max_batch,
                max_wait_ms=max_wait_ms,
                max_body_bytes=max_body_bytes,
                max_texts=max_texts,
                max_text_bytes=max_line_bytes,
                scores=scores.value,
                watch_seconds=watch_interval,
            )
        )
        return
    if len(models) > 1:
        raise typer.BadParameter("several models need --http", param_hint="--model")
    _serve_stdin(models[0], top_k, scores.value, max_line_bytes)


def _setup_access_log(quiet: bool) -> None:
    """JSON access lines go to stderr as they are (no prefix); --quiet turns them off."""
    access = logging.getLogger("topictag.access")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.handlers[:] = [handler]
    access.propagate = False
    access.setLevel(logging.WARNING if quiet else logging.INFO)


def _serve_stdin(model: str, top_k: int | None, scores: str, max_line_bytes: int) -> None:
    import signal

    from topictag.model.inference import load_model
    from topictag.serve.protocol import ServeStats, serve_lines
    from topictag.serve.stream import Options

    loaded = load_model(model)
    log.info("serving %s: one request per line on stdin", model)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stats = ServeStats()
    out = sys.stdout.buffer
    try:
        for answer in serve_lines(
            loaded,
            sys.stdin.buffer,
            Options(top_k=top_k, scores=scores),
            max_line_bytes=max_line_bytes,
            stats=stats,
        ):
            out.write(answer)
            out.flush()
    except KeyboardInterrupt:
        pass
    log.info(
        "served %d request(s)%s",
        stats.answered + stats.refused,
        f", {stats.refused} answered with an error" if stats.refused else "",
    )


def _table(rows: list[dict[str, Any]]) -> str:
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
