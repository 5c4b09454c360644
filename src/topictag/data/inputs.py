"""Reading paragraphs to classify: command-line texts, plain text, JSON Lines, CSV or Parquet.

Rows are read lazily, so memory stays flat however long the input is (files may be
gzipped, ``.gz``; a path with a scheme, ``s3://...``, is opened with fsspec, as Dask does): no
line, CSV row or article longer than ``max_line_bytes`` is held in memory. A row that cannot be
read is yielded as a :class:`~topictag.errors.DataError` value in its place; the caller decides
whether to stop or skip it. Only a problem after which the next row cannot be found (inside a
quoted CSV row) is raised, so that no good row is ever lost without a word.
"""

from __future__ import annotations

import csv
import gzip
import itertools
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from topictag.data.lines import (
    MAX_LINE_BYTES,
    STDIN,
    describe,
    describe_names,
    iter_line_results,
    parse_json_object,
)
from topictag.errors import DataError
from topictag.progress import Progress

FORMATS = ("auto", "text", "jsonl", "csv")
FILE_FORMATS = (*FORMATS, "parquet")  # what a file of an archive may be
RESERVED = ("labels", "scores", "known_terms", "paragraph", "article", "paragraphs", "gold_labels")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "text",
    ".text": "text",
    ".parquet": "parquet",
}
PARQUET_BATCH = 4096  # Parquet rows decoded at once


Line = tuple[int, str | DataError]  # a line number and the line, or why it could not be read


@dataclass(frozen=True, slots=True)
class Item:
    """One input to classify: a paragraph, or an article in ``--paragraphs`` mode."""

    id: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)  # carried through to the output


def items_from_texts(texts: Iterable[str]) -> Iterator[Item]:
    """Wrap command-line texts as items, numbered from 1."""
    yield from (Item(id=str(position), text=text) for position, text in enumerate(texts, 1))


def read_items(
    source: str | Path,
    *,
    input_format: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    whole: bool = False,
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: Progress | None = None,
    stream: IO[bytes] | None = None,
) -> Iterator[Item | DataError]:
    """Yield the items of a file (or ``"-"`` for stdin), or a DataError for each bad row.

    Parameters
    ----------
    source : path or "-"
    input_format : {"auto", "text", "jsonl", "csv"}
        ``auto`` picks by file extension, then by the first non-blank character
        (``{`` means JSON Lines, anything else plain text).
    text_field, id_field : str
        Field (or CSV column) names of the text and the id.
    whole : bool
        For plain text, the whole input is one item (an article) instead of one per line.
    max_line_bytes : int
        The longest line, CSV row or (with ``whole``) article accepted, in bytes.
    progress : callable, optional
        Receives the bytes read (see :func:`topictag.data.lines.iter_lines`).
    stream : binary file, optional
        Read from this open stream (``source`` still names it, and picks the format).

    Raises
    ------
    DataError
        If the file cannot be opened, or (CSV) at a problem after which no further row can be
        told apart, such as a bad line inside a quoted row. Every other problem is yielded in
        place, and reading goes on with the next row.
    """
    name = str(source)
    lines: Iterator[Line] = iter_line_results(
        source, stream, max_line_bytes=max_line_bytes, progress=progress
    )
    if input_format == "auto":
        input_format = _EXTENSIONS.get(Path(name).suffix.lower(), "") if name != STDIN else ""
        if not input_format:
            head = []
            for number, line in lines:
                head.append((number, line))
                if isinstance(line, str) and line.strip():
                    break
            first = next((x.lstrip() for _, x in head if isinstance(x, str) and x.strip()), "")
            input_format = "jsonl" if first.startswith("{") else "text"
            lines = itertools.chain(head, lines)
    if input_format == "text":
        yield from _text_items(lines, name, whole=whole, limit=max_line_bytes)
    elif input_format == "jsonl":
        yield from _jsonl_items(lines, name, text_field, id_field)
    elif input_format == "csv":
        yield from _csv_items(lines, name, text_field, id_field, limit=max_line_bytes)
    else:
        raise ValueError(f"unknown input format {input_format!r}")


def file_format(path: str | Path) -> str:
    """Return the format a file's extension names (after any ``.gz``), or ``"auto"``."""
    name = str(path).lower().removesuffix(".gz")
    return _EXTENSIONS.get(Path(name).suffix, "auto")


def read_file_items(
    path: str | Path,
    *,
    input_format: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    whole: bool = False,
) -> Iterator[Item | DataError]:
    """Yield the items of one file of an archive: plain or gzipped text, JSON Lines, CSV or Parquet.

    Like :func:`read_items`, with ``.gz`` files decompressed on the fly, ``"parquet"`` (by
    extension or ``input_format``) read in batches of row groups, and remote paths opened with
    fsspec.
    """
    name = str(path)
    if input_format == "auto":
        input_format = file_format(name)
    try:
        with open_binary(name) as stream:
            if input_format == "parquet":
                yield from _parquet_items(stream, name, text_field, id_field)
            else:  # "auto" here means an unknown extension: sniffed from the content
                yield from read_items(
                    name,
                    input_format=input_format,
                    text_field=text_field,
                    id_field=id_field,
                    whole=whole,
                    stream=stream,
                )
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        yield DataError(f"cannot read file: {getattr(exc, 'strerror', None) or exc}", source=name)


@contextmanager
def open_binary(path: str) -> Iterator[IO[bytes]]:
    """Open a local or remote file for reading bytes, decompressing ``.gz``."""
    if "://" in path:
        import fsspec  # an optional dependency (the dask extra); remote paths need it

        with fsspec.open(path, "rb", compression="infer") as remote:
            yield remote
        return
    with open(path, "rb") as raw:
        if path.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield raw


def _parquet_items(
    stream: IO[bytes], name: str, text_field: str, id_field: str
) -> Iterator[Item | DataError]:
    import pyarrow.parquet as pq  # an optional dependency (the dask extra)

    number = 0
    try:
        for batch in pq.ParquetFile(stream).iter_batches(batch_size=PARQUET_BATCH):
            for row in batch.to_pylist():
                number += 1
                try:
                    yield item_from(row, number, name, text_field, id_field)
                except DataError as error:
                    yield error
    except Exception as exc:  # pyarrow raises its own error types for a malformed file
        yield DataError(f"cannot read Parquet after row {number}: {exc}", source=name)


def _carry(obj: Mapping[str, Any], skip: tuple[str, ...]) -> dict[str, Any]:
    if len(obj) <= len(skip) and all(map(skip.__contains__, obj)):
        return {}  # the common row: nothing but the text and the id
    # "id" is never carried: the output's id is the --id-field value
    fields = {k: v for k, v in obj.items() if k not in skip and k not in RESERVED and k != "id"}
    if "labels" in obj and "labels" not in skip:
        fields["gold_labels"] = obj["labels"]
    return fields


def _text_items(
    lines: Iterable[Line], name: str, *, whole: bool, limit: int
) -> Iterator[Item | DataError]:
    if not whole:
        for number, line in lines:
            if isinstance(line, DataError) or line.strip():
                yield line if isinstance(line, DataError) else Item(id=str(number), text=line)
        return
    parts, size = [], 0
    for _, line in lines:
        if isinstance(line, DataError):
            yield line
            return
        size += len(line.encode("utf-8")) + 1
        if size > limit + 1:
            yield DataError(
                f"article longer than {limit} bytes (raise --max-line-bytes to accept it)",
                source=name,
            )
            return
        parts.append(line)
    yield Item(id="1", text="\n".join(parts))


def _jsonl_items(
    lines: Iterable[Line], name: str, text_field: str, id_field: str
) -> Iterator[Item | DataError]:
    seen = False
    for number, line in lines:
        if isinstance(line, DataError):
            seen = True
            yield line
            continue
        if not line or line.isspace():
            continue
        seen = True
        try:
            obj = parse_json_object(line, source=name, line=number)
            yield item_from(obj, number, name, text_field, id_field)
        except DataError as error:
            yield error
    if not seen:
        yield DataError("input is empty (expected one JSON object per line)", source=name)


class _LineFailed(Exception):
    """A physical line of CSV input could not be read (carries its DataError)."""

    def __init__(self, error: DataError):
        super().__init__(str(error))
        self.error = error


class _CsvFeed:
    """Feeds physical lines to ``csv``, remembering where the current row started.

    A row (which quoted line breaks can spread over many lines) longer than ``limit`` bytes
    stops with a DataError, so memory stays bounded however the quotes fall.
    """

    def __init__(self, lines: Iterable[Line], name: str, limit: int):
        self.lines = iter(lines)
        self.name, self.limit = name, limit
        self.start: int | None = None  # line where the row being read began
        self.last = 0
        self.size = 0

    def __iter__(self) -> _CsvFeed:
        return self

    def __next__(self) -> str:
        number, line = next(self.lines)
        self.last = number
        if isinstance(line, DataError):
            raise _LineFailed(line)
        if self.start is None:
            if not line:  # csv skips blank lines between rows
                return "\n"
            self.start = number
        self.size += len(line.encode("utf-8")) + 1
        if self.size > self.limit + 1:
            raise _LineFailed(
                DataError(
                    f"CSV row longer than {self.limit} bytes (raise --max-line-bytes to accept it)",
                    source=self.name,
                    line=self.start,
                )
            )
        return line + "\n"

    def row_done(self) -> int:
        """Mark the current row as read; return the line where it began."""
        start = self.last if self.start is None else self.start
        self.start, self.size = None, 0
        return start


def _csv_items(
    lines: Iterable[Line], name: str, text_field: str, id_field: str, *, limit: int
) -> Iterator[Item | DataError]:
    """Read CSV as a stream: one row in memory at a time.

    A bad line between rows is yielded as an error and reading goes on (a header that cannot
    be read is yielded, and ends the input: no row can be read without it). A bad line inside a
    quoted multi-line row, a row over the limit or malformed CSV is raised instead, even for a
    caller that skips bad rows: where the next row starts cannot be known, so the rest of the
    input would otherwise be lost without a word.
    """
    # csv has no per-reader field limit, only a process-wide one (128 KiB by default). Raise it
    # to our own bound (never lower it): _CsvFeed is what keeps a row's memory bounded.
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)
    feed = _CsvFeed(lines, name, limit)
    try:
        reader = csv.DictReader(feed)
        header = reader.fieldnames
        feed.row_done()
    except _LineFailed as failed:
        yield failed.error
        return
    except csv.Error as exc:
        yield DataError(f"malformed CSV: {exc}", source=name, line=feed.row_done())
        return
    if header is None:
        yield DataError("input is empty (expected a CSV header row)", source=name)
        return
    if text_field not in header:
        yield DataError(
            f"no column {text_field!r} in the CSV header (columns: "
            f"{describe_names(header)}); choose one with --text-field",
            source=name,
            line=1,
        )
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except _LineFailed as failed:
            if feed.start is not None:  # inside a row: the rest cannot be trusted
                raise _ends_input(failed.error, f"the CSV row of line {feed.start}") from None
            yield failed.error
            reader = csv.DictReader(feed, fieldnames=header)
            continue
        except csv.Error as exc:
            raise _ends_input(
                DataError(f"malformed CSV: {exc}", source=name, line=feed.row_done()), "it"
            ) from None
        number = feed.row_done()
        if None in row:
            yield DataError("row has more fields than the header", source=name, line=number)
            continue
        try:
            yield item_from(row, number, name, text_field, id_field)
        except DataError as error:
            yield error


def _ends_input(error: DataError, where: str) -> DataError:
    """The error that ends a CSV input: says that the rows after it were not read."""
    message = str(error).removeprefix(f"{error.source}:{error.line}: ")
    message += f"; the rest of the input was not read (where {where} ends cannot be known)"
    return DataError(message, source=error.source, line=error.line)


def item_from(
    obj: Mapping[str, Any], number: int, name: str, text_field: str, id_field: str
) -> Item:
    """Make an item of one row: its text field, its id (the line number when it has none).

    Raises
    ------
    DataError
        If the text is missing or not a string, or the id is neither a string nor an integer.
    """
    text = obj.get(text_field)
    if text is None:
        raise DataError(f"missing {text_field!r}", source=name, line=number)
    if not isinstance(text, str):
        got = describe(text)
        raise DataError(f"{text_field!r} must be a string, got {got}", source=name, line=number)
    ident = obj.get(id_field)
    if ident is None or ident == "":
        ident = number
    elif isinstance(ident, bool) or not isinstance(ident, str | int):
        message = f"{id_field!r} must be a string or an integer, got {describe(ident)}"
        raise DataError(message, source=name, line=number)
    return Item(id=str(ident), text=text, fields=_carry(obj, (text_field, id_field)))
