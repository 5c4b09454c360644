"""Reading and writing paragraphs in topictag's JSON Lines format.

One paragraph per line::

    {"id": str, "text": str, "labels": [str, ...], "article_id": str?, "split": "train"|"test"?}

``"labels": []`` means "no topic"; a row without ``labels`` is unlabeled (it can be classified
but not trained on). Every problem is reported as a :class:`~topictag.errors.DataError` that
names the file and line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from topictag.data.files import atomic_write
from topictag.errors import DataError
from topictag.progress import Progress, report

SPLITS = ("train", "test")
STDIN = "-"


@dataclass(frozen=True, slots=True)
class Record:
    """One paragraph of a corpus.

    ``labels`` is ``None`` for unlabeled text and an empty tuple for "no topic".
    """

    id: str
    text: str
    labels: tuple[str, ...] | None = None
    article_id: str | None = None
    split: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_json(self) -> dict[str, Any]:
        """Return the record as a JSON-ready dict in the corpus format."""
        row: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.labels is not None:
            row["labels"] = list(self.labels)
        if self.article_id is not None:
            row["article_id"] = self.article_id
        if self.split is not None:
            row["split"] = self.split
        return row | self.extra


def iter_lines(
    source: str | Path, stream: IO[bytes] | None = None, *, progress: Progress | None = None
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a UTF-8 file, without the line ending.

    Parameters
    ----------
    source : str or Path
        A file path, or ``"-"`` for standard input.
    stream : binary file, optional
        Read from this stream instead of opening ``source`` (``source`` still names it in errors).
    progress : callable, optional
        Called with a ``"reading"`` :class:`~topictag.progress.Step` of bytes read (of the
        file's size, for a regular file) every 1,024 lines and at the end.

    Raises
    ------
    DataError
        If the file cannot be opened or a line is not valid UTF-8.
    """
    name = str(source)
    if stream is None:
        if name == STDIN:
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(name, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise DataError(f"cannot read file: {exc.strerror}", source=name) from None
            with stream:
                yield from _decode_lines(name, stream, progress)
            return
    yield from _decode_lines(name, stream, progress)


def _decode_lines(
    name: str, stream: IO[bytes], progress: Progress | None = None
) -> Iterator[tuple[int, str]]:
    raws: Iterable[bytes] = stream if progress is None else _counted(name, stream, progress)
    for number, raw in enumerate(raws, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                source=name,
                line=number,
            ) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        yield number, line.rstrip("\r\n")


def _counted(name: str, stream: IO[bytes], progress: Progress) -> Iterator[bytes]:
    """Yield the lines of ``stream``, reporting the bytes read now and then."""
    try:
        info = os.fstat(stream.fileno())
        size = float(info.st_size) if stat.S_ISREG(info.st_mode) else None
    except (OSError, ValueError, AttributeError):  # no descriptor (an in-memory stream)
        size = None
    read = 0
    for number, raw in enumerate(stream, start=1):
        read += len(raw)
        if number % 1024 == 0:
            report(progress, "reading", read, size, note=name)
        yield raw
    report(progress, "reading", read, size if size is not None else read, note=name)


def iter_json_objects(source: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file.

    Raises
    ------
    DataError
        On a malformed line, a line that is not a JSON object, or a file with no rows.
    """
    seen = False
    for number, line in iter_lines(source):
        if not line.strip():
            continue
        seen = True
        yield number, parse_json_object(line, source=str(source), line=number)
    if not seen:
        raise DataError("file is empty (expected one JSON object per line)", source=str(source))


def parse_json_object(text: str, *, source: str, line: int) -> dict[str, Any]:
    """Parse one JSON Lines row, which must be an object."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"malformed JSON: {exc.msg} at column {exc.colno}", source=source, line=line
        ) from None
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {_json_type(obj)}", source=source, line=line)
    return obj


def parse_record(obj: dict[str, Any], *, source: str, line: int) -> Record:
    """Check one corpus row against the format and return it as a :class:`Record`.

    Raises
    ------
    DataError
        Naming the file, line and field when a field is missing or has the wrong type.
    """

    def fail(message: str) -> DataError:
        return DataError(message, source=source, line=line)

    text = obj.get("text")
    if text is None:
        raise fail("missing 'text'")
    if not isinstance(text, str):
        raise fail(f"'text' must be a string, got {_json_type(text)}")
    ident = obj.get("id", str(line))
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise fail(f"'id' must be a string, got {_json_type(ident)}")
    labels = obj.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise fail(f"'labels' must be a list of strings, got {json.dumps(labels)[:60]}")
        labels = tuple(dict.fromkeys(labels))
    elif "labels" in obj:
        raise fail("'labels' must be a list of strings, got null")
    article_id = obj.get("article_id")
    if article_id is not None and (
        isinstance(article_id, bool) or not isinstance(article_id, str | int)
    ):
        raise fail(f"'article_id' must be a string, got {_json_type(article_id)}")
    split = obj.get("split")
    if split is not None and split not in SPLITS:
        raise fail(
            f"'split' must be one of {', '.join(map(repr, SPLITS))}, got {json.dumps(split)[:40]}"
        )
    known = {"id", "text", "labels", "article_id", "split"}
    return Record(
        id=str(ident),
        text=text,
        labels=labels,
        article_id=None if article_id is None else str(article_id),
        split=split,
        extra={k: v for k, v in obj.items() if k not in known},
    )


def read_corpus(paths: str | Path | Iterable[str | Path]) -> list[Record]:
    """Read one or more JSON Lines corpus files.

    Parameters
    ----------
    paths : path or iterable of paths
        Files in topictag's JSON Lines format; ``"-"`` reads standard input.

    Returns
    -------
    list of Record
        Every row, in file order.

    Raises
    ------
    DataError
        On the first row that breaks the format, naming its file and line.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    return [
        parse_record(obj, source=str(path), line=number)
        for path in paths
        for number, obj in iter_json_objects(path)
    ]


def read_label_file(path: str | Path) -> list[str]:
    """Read a label list: one label per line, or the first column of a TSV with a header.

    Blank lines and lines starting with ``#`` are ignored.
    """
    lines = [line for _, line in iter_lines(path) if line.strip() and not line.startswith("#")]
    if lines and "\t" in lines[0]:
        lines = [line.split("\t", 1)[0] for line in lines[1:]]
    labels = list(dict.fromkeys(line.strip() for line in lines if line.strip()))
    if not labels:
        raise DataError("label file lists no labels", source=str(path))
    return labels


_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Return the text case-folded with runs of whitespace collapsed, for duplicate checks."""
    return _SPACE.sub(" ", text.casefold()).strip()


def group_keys(records: Iterable[Record]) -> list[str]:
    """Return the cross-validation group of each record.

    The ``article_id`` when present, otherwise a hash of the normalized text, so that exact
    duplicates always fall on the same side of a split.
    """
    return [
        f"article:{r.article_id}"
        if r.article_id is not None
        else "text:" + hashlib.sha256(normalize_text(r.text).encode()).hexdigest()[:16]
        for r in records
    ]


def write_corpus(records: Iterable[Record], path: str | Path) -> int:
    """Write records as JSON Lines, atomically. Returns the number of rows written."""
    count = 0
    with atomic_write(path) as handle:
        for record in records:
            handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
            count += 1
    return count


def _json_type(value: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
