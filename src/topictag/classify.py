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
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.articles import article_probabilities, split_paragraphs
from topictag.corpus import STDIN, iter_lines, parse_json_object
from topictag.decision import SINGLE_LABEL
from topictag.errors import DataError
from topictag.inference import Model
from topictag.processes import fork_context

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

    def add(self, other: ClassifyStats) -> None:
        """Add another batch's counts to these."""
        self.inputs += other.inputs
        self.paragraphs += other.paragraphs
        self.skipped += other.skipped
        self.unknown += other.unknown


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


@dataclass(frozen=True)
class Options:
    """How predictions become output rows."""

    thresholds: Mapping[str, float] | float | None = None
    top_k: int | None = None
    paragraphs: bool = False


def batches(
    items: Iterable[Item | DataError],
    *,
    batch_size: int,
    stats: ClassifyStats,
    skip_invalid: bool = False,
    on_skip: Callable[[DataError], None] | None = None,
) -> Iterator[list[Item]]:
    """Group items into batches; a bad row ends the stream with its error, after the rows before it.

    With ``skip_invalid`` a bad row is counted in ``stats.skipped``, passed to ``on_skip`` and
    left out instead.
    """
    batch: list[Item] = []
    for item in items:
        if isinstance(item, DataError):
            if batch:
                yield batch
                batch = []
            if not skip_invalid:
                raise item
            stats.skipped += 1
            if on_skip is not None:
                on_skip(item)
            continue
        batch.append(item)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


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
    on_skip: Callable[[DataError], None] | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Classify items in batches; yield each batch's output rows as soon as it is done.

    Raises
    ------
    DataError
        For the first bad input row, unless ``skip_invalid`` (then ``on_skip(error)`` is called
        and the row is counted in ``stats.skipped``). Rows before it have been yielded.
    """
    options = Options(thresholds, top_k, paragraphs)
    for batch in batches(
        items, batch_size=batch_size, stats=stats, skip_invalid=skip_invalid, on_skip=on_skip
    ):
        rows, counts = classify_batch(model, batch, options)
        stats.add(counts)
        yield rows


def classify_stream(
    model: Model,
    items: Iterable[Item | DataError],
    *,
    render: Callable[[list[dict[str, Any]]], str],
    stats: ClassifyStats,
    options: Options,
    batch_size: int = 256,
    jobs: int = 1,
    skip_invalid: bool = False,
    on_skip: Callable[[DataError], None] | None = None,
) -> Iterator[str]:
    """Classify and render items batch by batch; yield each batch's text in input order.

    With ``jobs > 1`` batches are classified and rendered in forked worker processes (they
    inherit the loaded model), at most ``2 * jobs`` batches in flight, so memory stays flat
    however long the input is.
    """
    context = fork_context() if jobs > 1 else None
    if context is None:
        for rows in classify_items(
            model,
            items,
            stats=stats,
            batch_size=batch_size,
            thresholds=options.thresholds,
            top_k=options.top_k,
            paragraphs=options.paragraphs,
            skip_invalid=skip_invalid,
            on_skip=on_skip,
        ):
            yield render(rows)
        return
    stream = batches(
        items, batch_size=batch_size, stats=stats, skip_invalid=skip_invalid, on_skip=on_skip
    )
    from collections import deque
    from concurrent.futures import Future, ProcessPoolExecutor

    # Input is read in a thread, so that answers are written while the reader waits for more
    # input (a pipe that is slow to fill), and at most 2 * jobs batches wait in memory.
    incoming: queue.Queue[list[Item] | BaseException | None] = queue.Queue(maxsize=2 * jobs)

    def read() -> None:
        try:
            for batch in stream:
                incoming.put(batch)
            incoming.put(None)
        except BaseException as error:  # handed to the main thread, raised there in order
            incoming.put(error)

    _WORKER["job"] = (model, options, render)
    pending: deque[Future[tuple[str, ClassifyStats]]] = deque()
    reader = threading.Thread(target=read, daemon=True)
    try:
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            # Fork every worker before the reader thread starts: a child forked while that
            # thread waits inside stdin's read would inherit its lock, and multiprocessing
            # closes stdin in each child (a deadlock).
            for warm in [pool.submit(_warm, 0.02) for _ in range(jobs)]:
                warm.result()
            reader.start()
            failure: BaseException | None = None
            while True:
                if pending and (pending[0].done() or len(pending) >= 2 * jobs):
                    yield _collect(pending.popleft(), stats)
                    continue
                try:
                    got = incoming.get(timeout=0.02)
                except queue.Empty:
                    continue
                if got is None:
                    break
                if isinstance(got, BaseException):
                    failure = got
                    break
                pending.append(pool.submit(_render_batch, got))
            while pending:  # rows read before an error are still answered, in order
                yield _collect(pending.popleft(), stats)
            if failure is not None:
                raise failure
    finally:
        _WORKER.clear()


_WORKER: dict[str, Any] = {}  # what forked workers classify with


def _warm(seconds: float) -> None:
    time.sleep(seconds)  # keeps a worker busy so that the next task needs another worker


def _render_batch(batch: list[Item]) -> tuple[str, ClassifyStats]:
    model, options, render = _WORKER["job"]
    rows, counts = classify_batch(model, batch, options)
    return render(rows), counts


def _collect(future: Any, stats: ClassifyStats) -> str:
    text, counts = future.result()
    stats.add(counts)
    return str(text)


def render_jsonl(rows: list[dict[str, Any]]) -> str:
    """Render output rows as JSON Lines."""
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    return "".join(dumps(row) + "\n" for row in rows)


def classify_batch(
    model: Model, items: list[Item], options: Options
) -> tuple[list[dict[str, Any]], ClassifyStats]:
    """Classify one batch; return its output rows and its counts."""
    counts = ClassifyStats(inputs=len(items))
    if options.paragraphs:
        pieces = [split_paragraphs(item.text) for item in items]
        texts = [p for parts in pieces for p in parts]
    else:
        texts = [item.text for item in items]
    scores = model.score(texts)
    known = scores.known_terms > 0
    labels = model.decide(
        scores.proba, thresholds=options.thresholds, top_k=options.top_k, known=known
    )
    counts.paragraphs = len(texts)
    counts.unknown = sum(1 for text, k in zip(texts, known, strict=True) if text.strip() and not k)
    names = model.labels
    proba = np.round(scores.proba, 6).tolist()
    terms = scores.known_terms.tolist()
    if not options.paragraphs:
        return [
            _row(item.id, item.fields, labels[i], proba[i], names, known_terms=terms[i])
            for i, item in enumerate(items)
        ], counts
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
                    proba[index],
                    names,
                    paragraph=k,
                    text=texts[index],
                    known_terms=terms[index],
                )
            )
        article = article_probabilities(scores.proba[span], single_label=single)
        article_labels = model.decide(
            article[None, :],
            thresholds=options.thresholds,
            top_k=options.top_k,
            known=np.array([bool(known[span].any())]),
        )[0]
        rows.append(
            _row(
                item.id,
                item.fields,
                article_labels,
                np.round(article, 6).tolist(),
                names,
                article=True,
                paragraphs=len(parts),
            )
        )
        start = span.stop
    return rows, counts


def _row(
    ident: str,
    fields: dict[str, Any],
    labels: list[str],
    proba: list[float],
    names: list[str],
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": ident}
    row.update((k, v) for k, v in extra.items() if k in ("paragraph", "article"))
    row.update(fields)
    row["labels"] = labels
    row["scores"] = dict(zip(names, proba, strict=True))
    row.update((k, v) for k, v in extra.items() if k not in ("paragraph", "article"))
    return row


def answer_request(model: Model, line: str, number: int, options: Options) -> dict[str, Any]:
    """Answer one ``serve`` request line: a JSON object with ``text``, or a plain text line.

    A bad request is answered with ``{"id": ..., "error": "..."}`` instead of raising.
    """
    ident: Any = str(number)
    try:
        if line.lstrip().startswith("{"):
            obj = parse_json_object(line, source="request", line=number)
            ident = obj.get("id", ident)
            item = _item_from(obj, number, "request", "text", "id")
        else:
            item = Item(id=ident, text=line)
        (row,), _ = classify_batch(model, [item], options)
        return row
    except DataError as error:
        message = str(error).removeprefix(f"request:{number}: ")
        return {"id": ident if isinstance(ident, str | int) else str(ident), "error": message}


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
