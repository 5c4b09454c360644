"""Reading corpora in the formats people already have, and writing fastText's format.

Every importer returns :class:`~topictag.data.corpus.Record` objects and raises a
:class:`~topictag.errors.DataError` naming the file and line of the first problem. Rows with no
labels in the source omit ``labels`` (unlabeled); ``labels: []`` is kept for sources that say
"no topic" explicitly (an empty label cell, an empty Reuters TOPICS element).
"""

from __future__ import annotations

import csv
import gzip
import html
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from topictag.data.articles import split_paragraphs
from topictag.data.corpus import Record, describe_names, iter_lines
from topictag.errors import DataError
from topictag.progress import Progress, report

FORMATS = ("fasttext", "csv", "tsv", "reuters21578", "20newsgroups", "articles")
FASTTEXT_PREFIX = "__label__"


def read_fasttext(path: str | Path, *, prefix: str = FASTTEXT_PREFIX) -> list[Record]:
    """Read fastText's supervised format: ``__label__a __label__b text`` per line.

    A line without labels is unlabeled. Ids are line numbers. A text word escaped by
    :func:`write_fasttext` (``\\__label__x``) is read back as it was (``__label__x``).
    """
    records = []
    for number, line in iter_lines(path):
        if not line.strip():
            continue
        tokens = line.split()
        labels = []
        while tokens and tokens[0].startswith(prefix):
            label = tokens.pop(0)[len(prefix) :]
            if not label:
                raise DataError(f"empty label after {prefix!r}", source=str(path), line=number)
            labels.append(label)
        text = " ".join(_unescape(token, prefix) for token in tokens)
        records.append(Record(str(number), text, tuple(dict.fromkeys(labels)) if labels else None))
    if not records:
        raise DataError("file is empty", source=str(path))
    return records


def write_fasttext(
    records: Iterable[Record], path: str | Path, *, prefix: str = FASTTEXT_PREFIX
) -> int:
    """Write records in fastText's supervised format, atomically; return the row count.

    Line breaks in texts become spaces, whitespace in labels becomes ``_``. Rows with no labels
    are written without labels (fastText skips them when training).

    fastText takes every word that starts with the label prefix as a label, wherever it stands,
    so such a word in a text is escaped with a backslash (``__label__x`` is written
    ``\\__label__x``, and a word that already starts with backslashes and the prefix gets one
    more): fastText reads it as a word, and :func:`read_fasttext` restores it.

    Raises
    ------
    DataError
        If a record has an empty label (fastText would read the bare prefix as a word).
    """
    from topictag.data.files import atomic_write

    count = 0
    with atomic_write(path) as handle:
        for record in records:
            if any(not x.strip() for x in record.labels or ()):
                raise DataError(f"record {record.id!r} has an empty label")
            labels = [prefix + re.sub(r"\s+", "_", x.strip()) for x in record.labels or ()]
            words = [_escape(word, prefix) for word in record.text.split()]
            handle.write(" ".join([*labels, *words]) + "\n")
            count += 1
    return count


def _escape(word: str, prefix: str) -> str:
    return "\\" + word if word.lstrip("\\").startswith(prefix) else word


def _unescape(word: str, prefix: str) -> str:
    escaped = word.startswith("\\") and word.lstrip("\\").startswith(prefix)
    return word[1:] if escaped else word


def read_delimited(
    path: str | Path,
    *,
    delimiter: str = ",",
    text_column: str = "text",
    labels_column: str | None = "labels",
    id_column: str | None = "id",
    article_column: str | None = "article_id",
    split_column: str | None = "split",
    label_separator: str = ";",
    encoding: str = "utf-8",
) -> list[Record]:
    """Read a CSV or TSV file with a header row.

    The labels cell holds labels separated by ``label_separator``; an empty cell means "no
    topic". Without a labels column, rows are unlabeled. Optional id, article and split columns
    are used when present; other columns are kept as extra fields.
    """
    name = str(path)
    try:
        "".encode(encoding)
    except LookupError:
        raise DataError(f"unknown encoding {encoding!r}", source=name) from None
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror}", source=name) from None

    def decoded() -> Iterable[str]:
        for number, raw in enumerate(handle, start=1):
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"not valid {encoding} (byte 0x{raw[exc.start]:02x}); try --encoding cp1252",
                    source=name,
                    line=number,
                ) from None

    records = []
    with handle:
        reader = csv.DictReader(decoded(), delimiter=delimiter)
        try:
            header = reader.fieldnames
            if not header:
                raise DataError("file is empty (expected a header row)", source=name)
            if text_column not in header:
                raise DataError(
                    f"no column {text_column!r} in the header (columns: {describe_names(header)})",
                    source=name,
                    line=1,
                )
            has_labels = labels_column is not None and labels_column in header
            used = {text_column, labels_column, id_column, article_column, split_column}
            for row in reader:
                number = reader.line_num
                if None in row:
                    raise DataError("row has more fields than the header", source=name, line=number)
                labels = None
                if has_labels and labels_column is not None:
                    cell = row[labels_column] or ""
                    parts = (x.strip() for x in cell.split(label_separator))
                    labels = tuple(dict.fromkeys(x for x in parts if x))
                split = row.get(split_column or "") or None
                if split is not None and split not in ("train", "test"):
                    raise DataError(
                        f"split must be 'train' or 'test', got {split!r}", source=name, line=number
                    )
                records.append(
                    Record(
                        id=row.get(id_column or "") or str(number),
                        text=row[text_column] or "",
                        labels=labels,
                        article_id=row.get(article_column or "") or None,
                        split=split,
                        extra={k: v for k, v in row.items() if k not in used},
                    )
                )
        except csv.Error as exc:
            raise DataError(f"malformed CSV: {exc}", source=name, line=reader.line_num) from None
    return records


_REUTERS = re.compile(r"<REUTERS(?P<attrs>[^>]*)>(?P<body>.*?)</REUTERS>", re.S)
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')
_D = re.compile(r"<D>(.*?)</D>", re.S)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_reuters21578(source: str | Path, *, progress: Progress | None = None) -> list[Record]:
    """Read the Reuters-21578 SGML files (``reut2-*.sgm``, plain or ``.gz``) in ModApte split.

    Keeps the ModApte documents (``TOPICS="YES"`` with ``LEWISSPLIT`` TRAIN or TEST) with their
    TOPICS labels in order; an empty TOPICS element is a real "no topic" example (``[]``).
    Text is the TITLE and the BODY (entities decoded, control characters dropped); documents
    without that markup use their whole TEXT element. Ids are the NEWID attribute.
    ``progress`` receives an ``"importing"`` step after each file.
    """
    source = Path(source)
    files = (
        sorted(p for p in source.iterdir() if re.fullmatch(r"reut2-\d+\.sgm(\.gz)?", p.name))
        if source.is_dir()
        else [source]
    )
    if not files:
        raise DataError("no reut2-*.sgm or reut2-*.sgm.gz files in the folder", source=str(source))
    records = []
    for done, path in enumerate(files, start=1):
        text = _read_latin1(path)
        opened = text.count("<REUTERS")
        found, line, position = 0, 1, 0
        for match in _REUTERS.finditer(text):
            found += 1
            line += text.count("\n", position, match.start())
            position = match.start()
            attrs = dict(_ATTRIBUTE.findall(match.group("attrs")))
            if "NEWID" not in attrs:
                raise DataError("<REUTERS> element without NEWID", source=str(path), line=line)
            if attrs.get("TOPICS") != "YES" or attrs.get("LEWISSPLIT") not in ("TRAIN", "TEST"):
                continue
            body = match.group("body")
            topics = _element(body, "TOPICS")
            if topics is None:
                raise DataError("document without a TOPICS element", source=str(path), line=line)
            content = _element(body, "TEXT") or ""
            title, main = _element(content, "TITLE"), _element(content, "BODY")
            if title is None and main is None:
                document = _clean(content)
            else:
                document = "\n".join(p for p in (_clean(title or ""), _clean(main or "")) if p)
            records.append(
                Record(
                    id=attrs["NEWID"],
                    text=document,
                    labels=tuple(dict.fromkeys(t.strip() for t in _D.findall(topics))),
                    split="train" if attrs["LEWISSPLIT"] == "TRAIN" else "test",
                )
            )
        if found != opened:
            unclosed = _first_unclosed(text)
            raise DataError(
                "malformed SGML: <REUTERS> element is not closed", source=str(path), line=unclosed
            )
        report(progress, "importing", done, len(files), note=path.name)
    return records


def read_20newsgroups(source: str | Path, *, progress: Progress | None = None) -> list[Record]:
    """Read the 20 Newsgroups "by date" layout: ``*train*/GROUP/FILE`` and ``*test*/GROUP/FILE``.

    The label is the group folder's name; the split comes from the top folder's name. Files are
    read as UTF-8, falling back to Latin-1. ``progress`` receives an ``"importing"`` step after
    each group folder.
    """
    source = Path(source)
    if not source.is_dir():
        raise DataError("expected a folder with train and test subfolders", source=str(source))
    records = []
    folders = []
    for top in sorted(p for p in source.iterdir() if p.is_dir()):
        split = "train" if "train" in top.name else "test" if "test" in top.name else None
        if split is not None:
            folders += [(split, g) for g in sorted(p for p in top.iterdir() if p.is_dir())]
    for done, (split, group) in enumerate(folders, start=1):
        for message in sorted(p for p in group.iterdir() if p.is_file()):
            records.append(
                Record(
                    id=f"{split}/{group.name}/{message.name}",
                    text=_read_text(message),
                    labels=(group.name,),
                    split=split,
                )
            )
        report(progress, "importing", done, len(folders), note=f"{split}/{group.name}")
    if not records:
        raise DataError(
            "no messages found (expected e.g. 20news-bydate-train/GROUP/FILE)", source=str(source)
        )
    return records


def read_articles(source: str | Path, *, progress: Progress | None = None) -> list[Record]:
    """Read plain-text articles (a file, or every ``*.txt`` in a folder) as unlabeled paragraphs.

    Each file is one article (``article_id`` = the file name without extension), split into
    paragraphs by :func:`topictag.data.articles.split_paragraphs`. ``progress`` receives an
    ``"importing"`` step after each file.
    """
    source = Path(source)
    files = sorted(source.glob("*.txt")) if source.is_dir() else [source]
    if not files:
        raise DataError("no .txt files in the folder", source=str(source))
    records = []
    for done, path in enumerate(files, start=1):
        paragraphs = split_paragraphs("\n".join(line for _, line in iter_lines(path)))
        records += [
            Record(id=f"{path.stem}-{k}", text=p, article_id=path.stem)
            for k, p in enumerate(paragraphs, start=1)
        ]
        report(progress, "importing", done, len(files), note=path.name)
    return records


def importer(
    format: str, *, progress: Progress | None = None, **options: object
) -> Callable[[str | Path], list[Record]]:
    """Return the reader for a format name (one of :data:`FORMATS`).

    ``progress`` goes to the readers of many files (Reuters-21578, 20 Newsgroups, articles).
    """
    if format == "fasttext":
        return lambda src: read_fasttext(src, **options)  # type: ignore[arg-type]
    if format in ("csv", "tsv"):
        delimiter = "," if format == "csv" else "\t"
        return lambda src: read_delimited(src, delimiter=delimiter, **options)  # type: ignore[arg-type]
    readers = {
        "reuters21578": read_reuters21578,
        "20newsgroups": read_20newsgroups,
        "articles": read_articles,
    }
    if format not in readers:
        raise ValueError(f"unknown format {format!r}")
    reader = readers[format]
    return lambda src: reader(src, progress=progress)


def _element(text: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}(?:\s[^>]*)?>(.*?)</{tag}>", text, re.S)
    return match.group(1) if match else None


def _clean(text: str) -> str:
    return _CONTROL.sub("", html.unescape(text)).strip()


def _first_unclosed(text: str) -> int:
    """Return the line of the first ``<REUTERS>`` element that has no closing tag."""
    end = 0
    for match in _REUTERS.finditer(text):
        if "<REUTERS" in match.group("body"):  # swallowed the next element: this one is open
            return text.count("\n", 0, match.start()) + 1
        end = match.end()
    return text.count("\n", 0, max(text.find("<REUTERS", end), 0)) + 1


def _read_latin1(path: Path) -> str:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
            return handle.read().decode("latin-1")
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read file: {exc}", source=str(path)) from None


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror}", source=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")
