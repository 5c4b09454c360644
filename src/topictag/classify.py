"""Reading paragraphs to classify, in a stream, and turning predictions into output rows.

Input is plain text (one paragraph per line), JSON Lines or CSV. Rows are read lazily and
classified in batches, so memory stays flat however long the input is. A row that cannot be
read is yielded as a :class:`~topictag.errors.DataError` value, after the rows before it were
answered; the caller decides whether to stop or skip it.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.articles import article_probabilities, split_paragraphs
from topictag.corpus import STDIN, iter_lines, parse_json_object
from topictag.decision import SINGLE_LABEL
from topictag.errors import DataError
from topictag.inference import Model

FORMATS = ("auto", "text", "jsonl", "csv")
RESERVED = ("labels", "scores", "known_terms", "paragraph", "article", "paragraphs", "gold_labels")
_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".txt": "text",
    ".text": "text",
}


@dataclass(frozen=True, slots=True)
class Item:
    """One input to classify: a paragraph, or an article in ``--paragraphs`` mode."""

    id: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)  # carried through to the output


@dataclass
class ClassifyStats:
    """Counts gathered while classifying, for the summary on stderr."""

    inputs: int = 0
    paragraphs: int = 0
    skipped: int = 0
    unknown: int = 0  # non-empty paragraphs with no n-gram the model knows


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
    """
    name = str(source)
    lines = iter_lines(source)
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


def classify_items(
    model: Model,
    items: Iterable[Item | DataError],
    *,
    stats: ClassifyStats,
    batch_size: int = 256,
    thresholds: Mapping[str, float] | float | None = None,
    top_k: int | None = None,
    paragraphs: bool = False,
    skip_invalid: bool = False,
    on_skip: Any = None,
) -> Iterator[list[dict[str, Any]]]:
    """Classify items in batches; yield each batch's output rows as soon as it is done.

    Raises
    ------
    DataError
        For the first bad input row, unless ``skip_invalid`` (then ``on_skip(error)`` is called
        and the row is counted in ``stats.skipped``). Rows before it have been yielded.
    """
    batch: list[Item] = []
    for item in items:
        if isinstance(item, DataError):
            if batch:
                yield _classify_batch(model, batch, stats, thresholds, top_k, paragraphs)
                batch = []
            if not skip_invalid:
                raise item
            stats.skipped += 1
            if on_skip is not None:
                on_skip(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            yield _classify_batch(model, batch, stats, thresholds, top_k, paragraphs)
            batch = []
    if batch:
        yield _classify_batch(model, batch, stats, thresholds, top_k, paragraphs)


def _classify_batch(
    model: Model,
    items: list[Item],
    stats: ClassifyStats,
    thresholds: Mapping[str, float] | float | None,
    top_k: int | None,
    paragraphs: bool,
) -> list[dict[str, Any]]:
    stats.inputs += len(items)
    if paragraphs:
        pieces = [split_paragraphs(item.text) for item in items]
        texts = [p for parts in pieces for p in parts]
    else:
        texts = [item.text for item in items]
    scores = model.score(texts)
    known = scores.known_terms > 0
    labels = model.decide(scores.proba, thresholds=thresholds, top_k=top_k, known=known)
    stats.paragraphs += len(texts)
    stats.unknown += sum(1 for text, k in zip(texts, known, strict=True) if text.strip() and not k)
    if not paragraphs:
        return [
            _row(
                item.id,
                item.fields,
                labels[i],
                scores.proba[i],
                model.labels,
                known_terms=int(scores.known_terms[i]),
            )
            for i, item in enumerate(items)
        ]
    rows: list[dict[str, Any]] = []
    start = 0
    single = model.mode == SINGLE_LABEL
    for item, parts in zip(items, pieces, strict=True):
        span = slice(start, start + len(parts))
        for k, index in enumerate(range(span.start, span.stop), start=1):
            rows.append(
                _row(
                    item.id,
                    item.fields,
                    labels[index],
                    scores.proba[index],
                    model.labels,
                    paragraph=k,
                    text=texts[index],
                    known_terms=int(scores.known_terms[index]),
                )
            )
        proba = article_probabilities(scores.proba[span], single_label=single)
        any_known = bool(known[span].any())
        article_labels = model.decide(
            proba[None, :], thresholds=thresholds, top_k=top_k, known=np.array([any_known])
        )[0]
        rows.append(
            _row(
                item.id,
                item.fields,
                article_labels,
                proba,
                model.labels,
                article=True,
                paragraphs=len(parts),
            )
        )
        start = span.stop
    return rows


def _row(
    ident: str,
    fields: dict[str, Any],
    labels: list[str],
    proba: np.ndarray,
    names: list[str],
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": ident}
    row.update((k, v) for k, v in extra.items() if k in ("paragraph", "article"))
    row.update(fields)
    row["labels"] = labels
    row["scores"] = {name: round(float(p), 6) for name, p in zip(names, proba, strict=True)}
    row.update((k, v) for k, v in extra.items() if k not in ("paragraph", "article"))
    return row


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
                yield _item_from(obj, number, name, text_field, id_field)
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
            yield _item_from(row, number, name, text_field, id_field)
    except csv.Error as exc:
        yield DataError(f"malformed CSV: {exc}", source=name, line=numbers[-1] if numbers else None)
    except DataError as error:
        yield error


def _item_from(
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
