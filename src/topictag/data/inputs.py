"""Reading paragraphs to classify: command-line texts, plain text, JSON Lines, CSV or Parquet.

Rows are read lazily, so memory stays flat however long the input is. Files may be gzipped
(``.gz``); a path with a scheme (``s3://...``) is opened with fsspec, as Dask does. A row that
cannot be read is yielded as a :class:`~topictag.errors.DataError` value in its place; the
caller decides whether to stop or skip it.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from topictag.data.corpus import STDIN, iter_lines, parse_json_object
from topictag.errors import DataError

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


@dataclass(frozen=True, slots=True)
class Item:
    """One input to classify: a paragraph, or an article in ``--paragraphs`` mode."""

    id: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)  # carried through to the output


def items_from_texts(texts: Iterable[str]) -> Iterator[Item]:
    """Wrap command-line texts as items, numbered from 1."""
    for position, text in enumerate(texts, start=1):
        yield Item(id=str(position), text=text)


def read_items(
    source: str | Path,
    *,
    input_format: str = "auto",
    text_field: str = "text",
    id_field: str = "id",
    whole: bool = False,
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
    stream : binary file, optional
        Read from this open stream (``source`` still names it, and picks the format).
    """
    name = str(source)
    lines = iter_lines(source, stream)
    if input_format == "auto":
        input_format = _EXTENSIONS.get(Path(name).suffix.lower(), "") if name != STDIN else ""
        if not input_format:
            head = []
            for number, line in lines:
                head.append((number, line))
                if line.strip():
                    break
            first = next((line.lstrip() for _, line in head if line.strip()), "")
            input_format = "jsonl" if first.startswith("{") else "text"
            lines = itertools.chain(head, lines)
    if input_format == "text":
        yield from _text_items(lines, whole=whole)
    elif input_format == "jsonl":
        yield from _jsonl_items(lines, name, text_field, id_field)
    elif input_format == "csv":
        yield from _csv_items(lines, name, text_field, id_field)
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
    fields = {k: v for k, v in obj.items() if k not in skip and k not in RESERVED}
    if "labels" in obj and "labels" not in skip:
        fields["gold_labels"] = obj["labels"]
    return fields


def _text_items(lines: Iterable[tuple[int, str]], *, whole: bool) -> Iterator[Item]:
    if whole:
        yield Item(id="1", text="\n".join(line for _, line in lines))
        return
    for number, line in lines:
        if line.strip():
            yield Item(id=str(number), text=line)


def _jsonl_items(
    lines: Iterable[tuple[int, str]], name: str, text_field: str, id_field: str
) -> Iterator[Item | DataError]:
    seen = False
    try:
        for number, line in lines:
            if not line.strip():
                continue
            seen = True
            try:
                obj = parse_json_object(line, source=name, line=number)
                yield item_from(obj, number, name, text_field, id_field)
            except DataError as error:
                yield error
    except DataError as error:  # undecodable bytes: the rest of the file cannot be trusted
        yield error
        return
    if not seen:
        yield DataError("input is empty (expected one JSON object per line)", source=name)


def _csv_items(
    lines: Iterable[tuple[int, str]], name: str, text_field: str, id_field: str
) -> Iterator[Item | DataError]:
    numbers: list[int] = []

    def raw() -> Iterator[str]:
        for number, line in lines:
            numbers.append(number)
            yield line + "\n"

    try:
        reader = csv.DictReader(raw())
        if reader.fieldnames is None:
            yield DataError("input is empty (expected a CSV header row)", source=name)
            return
        if text_field not in reader.fieldnames:
            yield DataError(
                f"no column {text_field!r} in the CSV header (columns: "
                f"{', '.join(reader.fieldnames)}); choose one with --text-field",
                source=name,
                line=1,
            )
            return
        for row in reader:
            number = numbers[-1] if numbers else reader.line_num
            if None in row:
                yield DataError("row has more fields than the header", source=name, line=number)
                continue
            yield item_from(row, number, name, text_field, id_field)
    except csv.Error as exc:
        yield DataError(f"malformed CSV: {exc}", source=name, line=numbers[-1] if numbers else None)
    except DataError as error:
        yield error


def item_from(
    obj: Mapping[str, Any], number: int, name: str, text_field: str, id_field: str
) -> Item:
    text = obj.get(text_field)
    if text is None:
        raise DataError(f"missing {text_field!r}", source=name, line=number)
    if not isinstance(text, str):
        raise DataError(
            f"{text_field!r} must be a string, got {json.dumps(text)[:40]}",
            source=name,
            line=number,
        )
    ident = obj.get(id_field)
    if ident is None or ident == "":
        ident = number
    return Item(id=str(ident), text=text, fields=_carry(obj, (text_field, id_field)))
