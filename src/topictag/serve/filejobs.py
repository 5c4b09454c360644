"""One file of an archive: its job, its options, and classifying it into its output file.

Both engines of :mod:`topictag.serve.archive` (this process, or Dask tasks in
:mod:`topictag.serve.dask`) call :func:`classify_file`, so they write the same bytes. Each output
is written atomically: a crash leaves a hidden temporary file, never half an output.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from topictag.data.files import atomic_write
from topictag.data.inputs import FILE_FORMATS, read_file_items
from topictag.errors import DataError
from topictag.model.inference import Model
from topictag.serve.stream import ClassifyStats, classify_items, render_jsonl

OUTPUT_FORMATS = ("jsonl", "parquet")
COMPRESSIONS = (None, "gzip")
_MAX_SKIP_MESSAGES = 20  # skipped-row messages kept per file for the caller to show


@dataclass(frozen=True)
class ArchiveOptions:
    """How every file of an archive is read, classified and written."""

    input_format: str = "auto"  # one of FILE_FORMATS; auto picks by extension
    text_field: str = "text"
    id_field: str = "id"
    paragraphs: bool = False  # each input is an article: split it
    skip_invalid: bool = False  # skip bad rows (counted) instead of failing the file
    batch_size: int = 256
    thresholds: Mapping[str, float] | float | None = None
    top_k: int | None = None
    output_format: str = "jsonl"  # one of OUTPUT_FORMATS
    compress: str | None = None  # None or "gzip" (JSON Lines only)

    def __post_init__(self) -> None:
        if self.input_format not in FILE_FORMATS:
            raise DataError(f"input format must be one of {', '.join(FILE_FORMATS)}")
        if self.output_format not in OUTPUT_FORMATS:
            raise DataError(f"output format must be one of {', '.join(OUTPUT_FORMATS)}")
        if self.compress not in COMPRESSIONS:
            raise DataError("compression must be gzip or none")
        if self.compress and self.output_format == "parquet":
            raise DataError("Parquet files are compressed already: --compress goes with jsonl")

    def to_json(self) -> dict[str, Any]:
        """Return the options as JSON values (for the bookkeeping file)."""
        out = asdict(self)
        if isinstance(self.thresholds, Mapping):
            out["thresholds"] = dict(sorted(self.thresholds.items()))
        return out


@dataclass(frozen=True)
class FileJob:
    """One input file and the output file it gives."""

    source: str  # the input path, as the workers open it
    target: str  # the output path
    name: str  # REL/NAME.EXT, for messages


@dataclass
class FileResult:
    """What classifying one file gave."""

    name: str
    stats: ClassifyStats
    skipped: list[str] = field(default_factory=list)  # the first skipped rows' messages
    seconds: float = 0.0


def classify_file(model: Model, job: FileJob, options: ArchiveOptions) -> FileResult:
    """Classify one input file into its output file, atomically; rows keep their order.

    Raises
    ------
    DataError
        For the first bad row (unless ``options.skip_invalid``); no output file is written.
    """
    started = time.perf_counter()
    stats = ClassifyStats()
    skipped: list[str] = []

    def on_skip(error: DataError) -> None:
        if len(skipped) < _MAX_SKIP_MESSAGES:
            skipped.append(str(error))

    items = read_file_items(
        job.source,
        input_format=options.input_format,
        text_field=options.text_field,
        id_field=options.id_field,
        whole=options.paragraphs,
    )
    batches = classify_items(
        model,
        items,
        stats=stats,
        batch_size=options.batch_size,
        thresholds=options.thresholds,
        top_k=options.top_k,
        paragraphs=options.paragraphs,
        skip_invalid=options.skip_invalid,
        on_skip=on_skip,
    )
    with atomic_write(job.target, "wb") as raw, _writer(raw, options) as write:
        for rows in batches:
            write(rows)
    return FileResult(job.name, stats, skipped, time.perf_counter() - started)


@contextmanager
def _writer(
    raw: IO[bytes], options: ArchiveOptions
) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Yield a function that appends output rows to ``raw`` in the chosen format."""
    if options.output_format == "parquet":
        with _parquet_writer(raw) as write:
            yield write
        return
    if options.compress == "gzip":
        # mtime 0 and no file name in the header: the same rows give the same bytes
        with gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as zipped:
            yield lambda rows: _write_text(zipped, rows)
        return
    yield lambda rows: _write_text(raw, rows)


def _write_text(handle: IO[bytes] | gzip.GzipFile, rows: list[dict[str, Any]]) -> None:
    handle.write(render_jsonl(rows).encode("utf-8"))


@contextmanager
def _parquet_writer(raw: IO[bytes]) -> Iterator[Callable[[list[dict[str, Any]]], None]]:
    """Parquet with the schema of the first batch (later rows are cast to it)."""
    import pyarrow as pa  # the dask extra
    import pyarrow.parquet as pq

    state: dict[str, Any] = {}

    def write(rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if "writer" not in state:
            table = pa.Table.from_pylist(rows)
            state["writer"] = pq.ParquetWriter(raw, table.schema)
        else:
            table = pa.Table.from_pylist(rows, schema=state["writer"].schema)
        state["writer"].write_table(table)

    yield write
    if "writer" not in state:  # no rows: an empty table that still names its columns
        empty = pa.table(
            {"id": pa.array([], pa.string()), "labels": pa.array([], pa.list_(pa.string()))}
        )
        state["writer"] = pq.ParquetWriter(raw, empty.schema)
    state["writer"].close()
