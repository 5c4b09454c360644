"""One labeling run: the queue of paragraphs to show, the decisions, and background retraining.

The page (:mod:`topictag.label.page`) calls :class:`LabelSession` from several threads; every
method takes the session's lock. Decisions go through the :class:`~topictag.label.journal.Journal`
before a method returns, so the page shows the next paragraph only once the last answer is on
disk.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.data.corpus import iter_lines
from topictag.data.inputs import Item, read_items
from topictag.errors import DataError, ModelError, TopictagError
from topictag.label.journal import Journal
from topictag.model.inference import Model

log = logging.getLogger("topictag")
BATCH = 50  # paragraphs queued at once (suggested again after each retraining)
CARRIED = ("article_id", "split")  # pool fields written to the output rows


@dataclass(frozen=True)
class Codebook:
    """The labels to choose from, in order, with a definition for some."""

    labels: list[str]
    definitions: dict[str, str] = field(default_factory=dict)


def read_codebook(path: str | Path) -> Codebook:
    """Read a codebook: one ``label<TAB>definition`` (or just ``label``) per line.

    Blank lines and ``#`` comments are ignored, and so is a first line ``label<TAB>definition``.

    Raises
    ------
    DataError
        If the file cannot be read or lists no labels.
    """
    labels: list[str] = []
    definitions: dict[str, str] = {}
    for number, line in iter_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, definition = line.partition("\t")
        name, definition = name.strip(), definition.strip()
        if number == 1 and name.lower() == "label" and definition.lower() == "definition":
            continue
        if name and name not in definitions and name not in labels:
            labels.append(name)
            if definition:
                definitions[name] = definition
    if not labels:
        raise DataError(
            "codebook lists no labels (expected label<TAB>definition lines)", source=str(path)
        )
    return Codebook(labels, definitions)


@dataclass
class _Entry:
    """A paragraph waiting to be answered, with the model's view of it when there is a model."""

    item: Item
    labels: list[str] = field(default_factory=list)  # the model's labels (pre-checked)
    scores: dict[str, float] | None = None
    reason: dict[str, Any] | None = None


class LabelSession:
    """The state of one labeling run.

    Parameters
    ----------
    pool : path
        Paragraphs to label (JSON Lines, CSV or text; see :func:`read_items`).
    output : path
        The labeled corpus; its journal is kept beside it (resumed when it exists).
    codebook : Codebook, optional
        The labels to offer [default: the model's].
    model : Model, optional
        Orders the paragraphs by :func:`topictag.label.suggest.suggest` and pre-checks labels.
    retrain_every : int, optional
        Retrain in the background after every this many accepted paragraphs.
    retrain_to : path, optional
        Where retrained models go [default: ``<output stem>-model`` beside the output].
    force : bool
        Allow ``retrain_to`` to be the folder of ``model``.
    seed : int
        Seed of the suggestions.

    Raises
    ------
    DataError
        Without a codebook or a model (no labels to offer), or for an unreadable journal.
    ModelError
        If retraining would overwrite ``model`` without ``force``.
    """

    def __init__(
        self,
        pool: str | Path,
        output: str | Path,
        *,
        codebook: Codebook | None = None,
        model: Model | None = None,
        retrain_every: int | None = None,
        retrain_to: str | Path | None = None,
        force: bool = False,
        seed: int = 0,
    ):
        if codebook is None and model is None:
            raise DataError("labeling needs the labels: give --labels FILE or --model M")
        self.pool = Path(pool)
        self.output = Path(output)
        self.codebook = codebook or Codebook(list(model.labels) if model else [])
        self.model = model
        self.seed = seed
        self.retrain_every = retrain_every
        self.retrain_to = (
            Path(retrain_to)
            if retrain_to is not None
            else self.output.with_name(self.output.stem + "-model")
        )
        if (
            retrain_every
            and model is not None
            and model.path is not None
            and self.retrain_to.resolve() == Path(model.path).resolve()
            and not force
        ):
            raise ModelError(
                f"{self.retrain_to}: retraining would replace --model (use --force to allow it)"
            )
        self.lock = threading.RLock()
        self.journal = Journal.open(self.output)
        self.pool_size = sum(1 for _ in read_items(self.pool) if not isinstance(_, DataError))
        self.queue: deque[_Entry] = deque()
        self.front: list[_Entry] = []  # undone paragraphs, shown again first
        self.accepted_at_retrain = len(self.journal.accepted())
        self.retraining: threading.Thread | None = None
        self.retrain_status: dict[str, Any] = {"status": "off" if not retrain_every else "idle"}

    # what the page asks
    def state(self) -> dict[str, Any]:
        """Return what the page shows: the paragraph, the labels, progress and counts."""
        with self.lock:
            entry = self._current()
            accepted = self.journal.accepted()
            counts = Counter(label for row in accepted for label in row.get("labels", []))
            decided = len(self.journal.decided())
            return {
                "item": None if entry is None else self._describe(entry),
                "labels": [
                    {"name": name, "definition": self.codebook.definitions.get(name, "")}
                    for name in self.codebook.labels
                ],
                "progress": {
                    "decided": decided,
                    "accepted": len(accepted),
                    "skipped": sum(1 for d in self.journal.decisions if d.action == "skip"),
                    "pool": self.pool_size,
                },
                "counts": {name: counts[name] for name in self.codebook.labels},
                "can_undo": bool(self.journal.decisions),
                "model": None if self.model is None else str(self.model.path or "in memory"),
                "retrain": dict(self.retrain_status),
            }

    def accept(self, ident: str, labels: list[str]) -> dict[str, Any]:
        """Save the current paragraph with ``labels``; return the new state.

        Raises
        ------
        DataError
            If ``ident`` is not the paragraph shown (a stale page) or a label is unknown.
        """
        with self.lock:
            entry = self._expect(ident)
            unknown = [x for x in labels if x not in self.codebook.labels]
            if unknown:
                raise DataError(f"unknown label {unknown[0]!r}")
            row = _row(entry.item) | {"labels": sorted(set(labels), key=self.codebook.labels.index)}
            self.journal.accept(row)
            self._advance()
            self._maybe_retrain()
            return self.state()

    def skip(self, ident: str) -> dict[str, Any]:
        """Skip the current paragraph (recorded, not written to the output)."""
        with self.lock:
            entry = self._expect(ident)
            self.journal.skip(_row(entry.item))
            self._advance()
            return self.state()

    def undo(self) -> dict[str, Any]:
        """Undo the latest decision: its paragraph is shown again."""
        with self.lock:
            undone = self.journal.undo()
            if undone is not None:
                row = undone.row
                fields = {k: row[k] for k in CARRIED if k in row}
                entry = self._with_model(Item(id=str(row["id"]), text=row["text"], fields=fields))
                if undone.action == "accept":
                    entry.labels = list(row.get("labels", []))
                self.front.append(entry)
            return self.state()

    def wait_for_retraining(self, timeout: float) -> None:
        """Block until a background retraining (if any) ends, at most ``timeout`` seconds."""
        thread = self.retraining
        if thread is not None:
            thread.join(timeout)

    # the queue
    def _current(self) -> _Entry | None:
        if self.front:
            return self.front[-1]
        if not self.queue:
            self._refill()
        return self.queue[0] if self.queue else None

    def _expect(self, ident: str) -> _Entry:
        entry = self._current()
        if entry is None or entry.item.id != ident:
            raise DataError(f"paragraph {ident!r} is not the one shown (reload the page)")
        return entry

    def _advance(self) -> None:
        if self.front:
            self.front.pop()
        elif self.queue:
            self.queue.popleft()

    def _refill(self) -> None:
        decided = self.journal.decided() | {e.item.id for e in self.front}
        if self.model is None:
            for item in read_items(self.pool):
                if isinstance(item, DataError):
                    raise item
                if item.id not in decided and item.text.strip():
                    self.queue.append(_Entry(item))
                    decided.add(item.id)
                    if len(self.queue) >= BATCH:
                        return
            return
        from topictag.label.suggest import suggest

        done = [Item(id=str(r["id"]), text=str(r["text"])) for r in self._decided_rows()]
        for pick in suggest(
            self.model, read_items(self.pool), n=BATCH, seed=self.seed, exclude=done
        ):
            fields = {k: v for k, v in pick.fields.items() if k in CARRIED}
            item = Item(id=pick.id, text=pick.text, fields=fields)
            self.queue.append(_Entry(item, pick.labels, pick.scores, pick.reason))

    def _decided_rows(self) -> list[dict[str, Any]]:
        rows = [d.row for d in self.journal.decisions] + self.journal.preexisting
        return rows + [_row(e.item) for e in self.front]

    def _with_model(self, item: Item) -> _Entry:
        if self.model is None:
            return _Entry(item)
        scores = self.model.score([item.text])
        labels = self.model.labels_of(scores)[0]
        probs = dict(zip(self.model.labels, scores.proba[0].round(6).tolist(), strict=True))
        return _Entry(item, labels, probs)

    def _describe(self, entry: _Entry) -> dict[str, Any]:
        offered = set(self.codebook.labels)
        return {
            "id": entry.item.id,
            "text": entry.item.text,
            "checked": [x for x in entry.labels if x in offered],
            "scores": entry.scores,
            "reason": entry.reason,
        }

    # retraining
    def _maybe_retrain(self) -> None:
        if not self.retrain_every or (self.retraining and self.retraining.is_alive()):
            return
        accepted = len(self.journal.accepted())
        if accepted - self.accepted_at_retrain < self.retrain_every:
            return
        self.accepted_at_retrain = accepted
        self.retrain_status = {"status": "running", "rows": accepted}
        self.retraining = threading.Thread(target=self._retrain, args=(accepted,), daemon=True)
        self.retraining.start()

    def _retrain(self, rows: int) -> None:
        from topictag.label.retrain import retrain

        try:
            model = retrain(self.output, self.retrain_to, seed=self.seed)
        except (TopictagError, ValueError) as error:
            log.warning("retraining on %d rows failed: %s", rows, error)
            with self.lock:
                self.retrain_status = {"status": "failed", "rows": rows, "message": str(error)}
            return
        with self.lock:
            self.model = model
            self.queue.clear()  # suggested again by the new model
            runs = int(self.retrain_status.get("runs", 0)) + 1
            self.retrain_status = {"status": "done", "rows": rows, "path": str(self.retrain_to)}
            self.retrain_status["runs"] = runs
        log.info("retrained on %d rows into %s", rows, self.retrain_to)


def _row(item: Item) -> dict[str, Any]:
    row: dict[str, Any] = {"id": item.id, "text": item.text}
    row.update((k, item.fields[k]) for k in CARRIED if item.fields.get(k) is not None)
    return row
