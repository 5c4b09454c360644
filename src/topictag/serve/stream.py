"""Classifying a stream of items in batches, in worker processes, and rendering output rows.

Batches are classified in forked workers (bounded in flight, input order kept) while a thread
reads the input, so answers stream while input is slow. A bad input row arrives as a
:class:`~topictag.errors.DataError` value after the rows before it were answered; the caller
decides whether to stop or skip it.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from topictag.data.articles import article_probabilities, split_paragraphs
from topictag.data.inputs import Item
from topictag.errors import DataError
from topictag.model.decision import SINGLE_LABEL
from topictag.model.inference import Model, Scores
from topictag.serve.pool import Workers


@dataclass
class ClassifyStats:
    """Counts gathered while classifying, for the summary on stderr."""

    inputs: int = 0
    paragraphs: int = 0
    skipped: int = 0
    unknown: int = 0  # non-empty paragraphs with no n-gram the model knows
    known_terms: int = 0  # n-grams the model knows, over all paragraphs
    terms: int = 0  # n-grams, known or not

    def add(self, other: ClassifyStats) -> None:
        """Add another batch's counts to these."""
        self.inputs += other.inputs
        self.paragraphs += other.paragraphs
        self.skipped += other.skipped
        self.unknown += other.unknown
        self.known_terms += other.known_terms
        self.terms += other.terms


SCORES = ("all", "labels", "none")  # how much of each row's "scores" an answer keeps


@dataclass(frozen=True)
class Options:
    """How predictions become output rows.

    ``scores`` is ``"all"`` (every label's probability), ``"labels"`` (only the labels in
    ``labels``) or ``"none"`` (no ``scores`` key).
    """

    thresholds: Mapping[str, float] | float | None = None
    top_k: int | None = None
    paragraphs: bool = False
    scores: str = "all"


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
    try:
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
    except DataError:  # raised by a reader that cannot go on: the rows before it are answered
        if batch:
            yield batch
        raise
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
    scores: str = "all",
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
    options = Options(thresholds, top_k, paragraphs, scores)
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
    with Workers(jobs, (model, options, render)) as workers:
        if not workers.parallel:
            for rows in classify_items(
                model,
                items,
                stats=stats,
                batch_size=batch_size,
                thresholds=options.thresholds,
                top_k=options.top_k,
                paragraphs=options.paragraphs,
                scores=options.scores,
                skip_invalid=skip_invalid,
                on_skip=on_skip,
            ):
                yield render(rows)
            return
        yield from _classify_in_workers(
            workers,
            batches(
                items,
                batch_size=batch_size,
                stats=stats,
                skip_invalid=skip_invalid,
                on_skip=on_skip,
            ),
            stats,
        )


def _classify_in_workers(
    workers: Workers[Any], stream: Iterator[list[Item]], stats: ClassifyStats
) -> Iterator[str]:
    """Hand batches to the workers as a thread reads them; yield their text in input order.

    Input is read in a thread, so that answers are written while the reader waits for more
    input (a pipe that is slow to fill), and at most ``2 * jobs`` batches wait in memory. The
    workers were all forked before this thread starts (see :class:`Workers`).
    """
    from collections import deque
    from concurrent.futures import Future

    jobs = workers.jobs
    incoming: queue.Queue[list[Item] | BaseException | None] = queue.Queue(maxsize=2 * jobs)

    def read() -> None:
        try:
            for batch in stream:
                incoming.put(batch)
            incoming.put(None)
        except BaseException as error:  # handed to the main thread, raised there in order
            incoming.put(error)

    pending: deque[Future[tuple[str, ClassifyStats]]] = deque()
    threading.Thread(target=read, daemon=True).start()
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
        pending.append(workers.submit(_render_batch, got))
    while pending:  # rows read before an error are still answered, in order
        yield _collect(pending.popleft(), stats)
    if failure is not None:
        raise failure


def _render_batch(
    state: tuple[Model, Options, Callable[[list[dict[str, Any]]], str]], batch: list[Item]
) -> tuple[str, ClassifyStats]:
    """Classify and render one batch (run by :class:`Workers`)."""
    model, options, render = state
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
    texts, pieces = batch_texts(items, paragraphs=options.paragraphs)
    return batch_rows(model, items, texts, pieces, model.score(texts), options)


def batch_texts(items: list[Item], *, paragraphs: bool) -> tuple[list[str], list[list[str]] | None]:
    """Return the texts a batch scores, and each item's paragraphs in article mode (else None)."""
    if not paragraphs:
        return [item.text for item in items], None
    pieces = [split_paragraphs(item.text) for item in items]
    return [p for parts in pieces for p in parts], pieces


def batch_rows(
    model: Model,
    items: list[Item],
    texts: list[str],
    pieces: list[list[str]] | None,
    scores: Scores,
    options: Options,
) -> tuple[list[dict[str, Any]], ClassifyStats]:
    """Turn a batch's scores into its output rows and counts.

    ``texts`` and ``pieces`` are what :func:`batch_texts` returned for ``items``, and ``scores``
    is ``model.score(texts)`` (or the rows of a larger batch that belong to these texts).
    """
    counts = ClassifyStats(inputs=len(items))
    known = scores.known_terms > 0
    labels = model.labels_of(scores, thresholds=options.thresholds, top_k=options.top_k)
    counts.paragraphs = len(texts)
    counts.unknown = sum(1 for text, k in zip(texts, known, strict=True) if text.strip() and not k)
    counts.known_terms = int(scores.known_terms.sum())
    counts.terms = int(scores.terms.sum())
    names = model.labels
    proba = np.round(scores.proba, 6).tolist()
    terms = scores.known_terms.tolist()
    keep = options.scores
    if pieces is None:
        return [
            _row(item.id, item.fields, labels[i], proba[i], names, keep, known_terms=terms[i])
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
                    keep,
                    paragraph=k,
                    text=texts[index],
                    known_terms=terms[index],
                )
            )
        voting = scores.voting[span]
        article = article_probabilities(scores.proba[span], single_label=single, voting=voting)
        article_labels = model.decide(
            article[None, :],
            thresholds=options.thresholds,
            top_k=options.top_k,
            known=np.array([bool(voting.any() if not single else known[span].any())]),
        )[0]
        rows.append(
            _row(
                item.id,
                item.fields,
                article_labels,
                np.round(article, 6).tolist(),
                names,
                keep,
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
    keep: str,
    **extra: Any,
) -> dict[str, Any]:
    row: dict[str, Any] = {"id": ident}
    row.update((k, v) for k, v in extra.items() if k in ("paragraph", "article"))
    row.update(fields)
    row["labels"] = labels
    if keep == "all":
        row["scores"] = dict(zip(names, proba, strict=True))
    elif keep == "labels":
        row["scores"] = {label: proba[names.index(label)] for label in labels}
    row.update((k, v) for k, v in extra.items() if k not in ("paragraph", "article"))
    return row
