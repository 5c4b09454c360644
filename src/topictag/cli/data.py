"""The ``data`` commands: validate, describe, split, import and export corpora."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    AsJson,
    Format,
    OutputFormat,
    Quiet,
    Split,
    log,
    output_format,
    reports_errors,
)
from topictag.cli.progress import progress_display


class ImportFormat(StrEnum):
    """The file types ``data import`` reads (``topictag.data.importers.FORMATS``)."""

    fasttext = "fasttext"
    csv = "csv"
    tsv = "tsv"
    reuters21578 = "reuters21578"
    newsgroups = "20newsgroups"
    articles = "articles"


class ExportFormat(StrEnum):
    """The file types ``data export`` writes."""

    fasttext = "fasttext"


@reports_errors
def data_validate(
    path: Annotated[list[Path], typer.Argument(help="JSON Lines corpus file(s).")],
    strict: Annotated[bool, typer.Option(help="Warnings fail too (exit 1).")] = False,
    min_examples: Annotated[
        int, typer.Option(min=1, help="Warn about labels with fewer examples.")
    ] = 5,
    format: Format = OutputFormat.text,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Check a corpus for schema errors, split leaks, duplicates and label problems."""
    from topictag.data.validation import format_report, validate_corpus

    with progress_display() as progress:
        report = validate_corpus(path, min_examples=min_examples, progress=progress)
    if output_format(format, as_json) == OutputFormat.json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(format_report(report))
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


@reports_errors
def data_stats(
    path: Annotated[list[Path], typer.Argument(help="JSON Lines corpus file(s).")],
    format: Format = OutputFormat.text,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Describe a corpus: labels by split, co-occurrence, lengths, articles."""
    from topictag.data.corpus import read_corpus
    from topictag.data.stats import corpus_stats, format_stats

    stats = corpus_stats(read_corpus(path))
    if output_format(format, as_json) == OutputFormat.json:
        typer.echo(json.dumps(stats, indent=2))
    else:
        typer.echo(format_stats(stats))


@reports_errors
def data_split(
    path: Annotated[Path, typer.Argument(help="JSON Lines corpus file.")],
    test_size: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of paragraphs for the test split.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for tie-breaking.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here [default: stdout].")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """Assign train/test splits: grouped by article, stratified over labels, deterministic."""
    from topictag.data.corpus import read_corpus, write_corpus
    from topictag.data.splitting import split_corpus

    if output is not None:
        from topictag.data.files import check_output_file

        check_output_file(output)
    records = split_corpus(read_corpus(path), test_size=test_size, seed=seed)
    if output is None:
        for record in records:
            typer.echo(json.dumps(record.to_json(), ensure_ascii=False))
    else:
        write_corpus(records, output)
        test = sum(r.split == "test" for r in records)
        log.info("wrote %s: %d train, %d test", output, len(records) - test, test)


@reports_errors
def data_import(
    format: Annotated[ImportFormat, typer.Argument(help="The file type to read.")],
    source: Annotated[Path, typer.Argument(help="The file or folder to read.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines file to write.")],
    text_column: Annotated[str, typer.Option(help="CSV/TSV: the text column.")] = "text",
    labels_column: Annotated[str, typer.Option(help="CSV/TSV: the labels column.")] = "labels",
    id_column: Annotated[str, typer.Option(help="CSV/TSV: the id column.")] = "id",
    label_separator: Annotated[
        str, typer.Option(help="CSV/TSV: separator between labels in one cell.")
    ] = ";",
    encoding: Annotated[str, typer.Option(help="CSV/TSV: file encoding, e.g. cp1252.")] = "utf-8",
    label_prefix: Annotated[str, typer.Option(help="fastText: the label prefix.")] = "__label__",
    quiet: Quiet = False,
) -> None:
    """Convert a corpus from another format to topictag's JSON Lines."""
    from topictag.data.corpus import write_corpus
    from topictag.data.files import check_output_file
    from topictag.data.importers import importer

    check_output_file(output)
    if format == ImportFormat.fasttext:
        options: dict[str, object] = {"prefix": label_prefix}
    elif format in (ImportFormat.csv, ImportFormat.tsv):
        options = {
            "text_column": text_column,
            "labels_column": labels_column,
            "id_column": id_column,
            "label_separator": label_separator,
            "encoding": encoding,
        }
    else:
        options = {}
    with progress_display() as progress:
        records = importer(format.value, progress=progress, **options)(source)
    count = write_corpus(records, output)
    labeled = sum(r.labels is not None for r in records)
    log.info("wrote %s: %d rows (%d labeled)", output, count, labeled)


@reports_errors
def data_export(
    format: Annotated[ExportFormat, typer.Argument(help="The file type to write.")],
    path: Annotated[Path, typer.Argument(help="JSON Lines corpus file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    split: Annotated[Split | None, typer.Option(help="Only rows of this split.")] = None,
    label_prefix: Annotated[str, typer.Option(help="The label prefix.")] = "__label__",
    quiet: Quiet = False,
) -> None:
    """Convert a topictag corpus to fastText's supervised format."""
    from topictag.data.corpus import read_corpus
    from topictag.data.files import check_output_file
    from topictag.data.importers import write_fasttext

    check_output_file(output)
    records = [r for r in read_corpus(path) if split is None or r.split == split.value]
    count = write_fasttext(records, output, prefix=label_prefix)
    log.info("wrote %s: %d rows", output, count)
