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
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.data.files import atomic_write, hashing_reader
from topictag.data.lines import MAX_LINE_BYTES as MAX_LINE_BYTES
from topictag.data.lines import STDIN as STDIN  # re-exported: where readers have found them
from topictag.data.lines import describe as describe
from topictag.data.lines import describe_names as describe_names
from topictag.data.lines import iter_json_objects as iter_json_objects
from topictag.data.lines import iter_line_results as iter_line_results
from topictag.data.lines import iter_lines as iter_lines
from topictag.data.lines import json_type, open_stdin
from topictag.data.lines import parse_json_object as parse_json_object
from topictag.errors import DataError

SPLITS = ("train", "test")


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
        raise fail(f"'text' must be a string, got {json_type(text)}")
    ident = obj.get("id", str(line))
    if isinstance(ident, bool) or not isinstance(ident, str | int):
        raise fail(f"'id' must be a string, got {json_type(ident)}")
    labels = obj.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise fail(f"'labels' must be a list of strings, got {describe(labels, 60)}")
        labels = tuple(dict.fromkeys(labels))
    elif "labels" in obj:
        raise fail("'labels' must be a list of strings, got null")
    article_id = obj.get("article_id")
    if article_id is not None and (
        isinstance(article_id, bool) or not isinstance(article_id, str | int)
    ):
        raise fail(f"'article_id' must be a string, got {json_type(article_id)}")
    split = obj.get("split")
    if split is not None and split not in SPLITS:
        raise fail(f"'split' must be one of {', '.join(map(repr, SPLITS))}, got {describe(split)}")
    known = {"id", "text", "labels", "article_id", "split"}
    return Record(
        id=str(ident),
        text=text,
        labels=labels,
        article_id=None if article_id is None else str(article_id),
        split=split,
        extra={k: v for k, v in obj.items() if k not in known},
    )


def read_corpus(
    paths: str | Path | Iterable[str | Path], *, max_line_bytes: int = MAX_LINE_BYTES
) -> list[Record]:
    """Read one or more JSON Lines corpus files (``"-"``: standard input), in file order.

    Raises
    ------
    DataError
        On the first row that breaks the format, naming its file and line.
    """
    return read_corpus_hashed(paths, max_line_bytes=max_line_bytes)[0]


def read_corpus_hashed(
    paths: str | Path | Iterable[str | Path], *, max_line_bytes: int = MAX_LINE_BYTES
) -> tuple[list[Record], list[str], str]:
    """Read corpus files once, hashing exactly the bytes that were read.

    Standard input (``"-"``), a FIFO or a process substitution (``<(...)``) can be read only
    once: each is opened once and hashed as it is parsed.

    Returns
    -------
    (records, hashes, sha256)
        Every row in file order, each file's SHA-256, and the SHA-256 of all their bytes in
        order (what :func:`topictag.data.files.file_sha256` gives for regular files).

    Raises
    ------
    DataError
        If a file cannot be opened, or on the first row that breaks the format.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    records: list[Record] = []
    hashes: list[str] = []
    total = hashlib.sha256()
    for path in paths:
        name, digest = str(path), hashlib.sha256()
        try:
            raw = open_stdin(0) if name == STDIN else open(name, "rb", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise DataError(f"cannot read file: {exc.strerror}", source=name) from None
        try:
            stream = hashing_reader(raw, digest, total)
            for number, obj in iter_json_objects(name, stream, max_line_bytes=max_line_bytes):
                records.append(parse_record(obj, source=name, line=number))
        finally:
            if raw is not sys.stdin.buffer:
                raw.close()  # for stdin, not its descriptor (closefd=False)
        hashes.append(digest.hexdigest())
    return records, hashes, total.hexdigest()


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
