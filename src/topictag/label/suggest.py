"""Choosing the unlabeled paragraphs most worth labeling next (active learning).

:func:`suggest` streams a pool once, in batches, and keeps only a bounded set of candidates
(a few times ``n``), so a pool of millions needs no more memory than a pool of thousands.

Strategies (the priority of a paragraph; higher is picked first):

- ``uncertainty`` (the default). Multi-label models: how close the paragraph's probability
  for its most uncertain label is to that label's own threshold, as a share of the room on
  that side (``1 - |p - t| / t`` below the threshold, ``1 - |p - t| / (1 - t)`` above it).
  Single-label models: one minus the margin between the two most probable labels.
- ``margin``: the same idea on the raw linear scores before calibration: the smallest
  distance of any label's score to its decision boundary (multi-label), or the gap between
  the two highest scores (single-label).
- ``random``: a seeded random draw.

With ``uncertainty`` and ``margin``, one pick in ten (:data:`RANDOM_SHARE`) is drawn at random
from the whole pool instead, so that paragraphs the model is confidently wrong about (its blind
spots) are sampled too; those picks say ``"random": true`` in their reason. Picks never repeat
a text (after case-folding and collapsing whitespace), are never near duplicates of each other
(the MinHash check of ``data validate``, Jaccard >= 0.8), and skip what ``exclude`` holds (by
id, exact text or near-duplicate text).
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from topictag.data.corpus import normalize_text
from topictag.data.inputs import Item
from topictag.data.minhash import Fingerprints, fingerprints
from topictag.errors import DataError
from topictag.model.decision import SINGLE_LABEL
from topictag.model.inference import Model, Scores

STRATEGIES = ("uncertainty", "margin", "random")
RANDOM_SHARE = 0.1  # share of picks drawn at random from the pool (one in ten)
CANDIDATES = 4  # candidates kept per pick while streaming (room for duplicates)
REASON_LABELS = 3  # labels named in a pick's reason


@dataclass(frozen=True)
class Suggestion:
    """One paragraph worth labeling, with what the model thinks of it and why it was picked."""

    id: str
    text: str
    labels: list[str]  # the model's labels
    scores: dict[str, float]  # calibrated probability per label
    reason: dict[str, Any]  # strategy, priority, random, and the uncertain labels
    fields: dict[str, Any] = field(default_factory=dict)  # carried from the pool row

    def to_json(self) -> dict[str, Any]:
        """Return the row written by ``topictag suggest``."""
        row: dict[str, Any] = {"id": self.id, "text": self.text}
        row.update(self.fields)
        row.update(labels=self.labels, scores=self.scores, reason=self.reason)
        return row


@dataclass
class _Candidate:
    priority: float
    order: int  # position in the pool: ties go to the earlier paragraph
    item: Item
    key: bytes  # hash of the normalized text
    shingles: np.ndarray
    bands: np.ndarray
    proba: np.ndarray
    reason: dict[str, Any]
    labels: list[str] = field(default_factory=list)  # as classify gives them
    alive: bool = True


class _Index:
    """Exact-text keys and MinHash bands of a set of paragraphs, for duplicate checks."""

    def __init__(self) -> None:
        self.by_key: dict[bytes, _Candidate] = {}
        self.by_band: dict[tuple[int, int], set[int]] = {}
        self.members: dict[int, _Candidate] = {}

    def add(self, c: _Candidate) -> None:
        self.by_key[c.key] = c
        self.members[id(c)] = c
        if len(c.shingles):
            for b, key in enumerate(c.bands.tolist()):
                self.by_band.setdefault((b, key), set()).add(id(c))

    def remove(self, c: _Candidate) -> None:
        self.by_key.pop(c.key, None)
        self.members.pop(id(c), None)
        if len(c.shingles):
            for b, key in enumerate(c.bands.tolist()):
                self.by_band.get((b, key), set()).discard(id(c))

    def duplicates(self, c: _Candidate) -> list[_Candidate]:
        """Members with the same text as ``c``, or near duplicates of it."""
        found = [self.by_key[c.key]] if c.key in self.by_key else []
        if len(c.shingles):
            near: set[int] = set()
            for b, key in enumerate(c.bands.tolist()):
                near |= self.by_band.get((b, key), set())
            one = Fingerprints(c.bands[None, :], [c.shingles])
            for member in (self.members[m] for m in near):
                other = Fingerprints(member.bands[None, :], [member.shingles])
                if member not in found and one.near(0, other, 0):
                    found.append(member)
        return found


class _TopK:
    """The ``size`` highest-priority candidates seen so far, pairwise distinct."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.heap: list[tuple[float, int, int, _Candidate]] = []
        self.index = _Index()

    def floor(self) -> float:
        """The priority a newcomer must beat (``-inf`` while there is room)."""
        self._prune()
        return self.heap[0][0] if len(self.index.members) >= self.size else -np.inf

    def offer(self, c: _Candidate) -> None:
        rank = (c.priority, -c.order)
        duplicates = self.index.duplicates(c)
        if any((d.priority, -d.order) >= rank for d in duplicates):
            return
        for d in duplicates:  # the newcomer is the better representative of its group
            d.alive = False
            self.index.remove(d)
        heapq.heappush(self.heap, (c.priority, -c.order, id(c), c))
        self.index.add(c)
        while len(self.index.members) > self.size:
            self._prune()
            _, _, _, worst = heapq.heappop(self.heap)
            worst.alive = False
            self.index.remove(worst)

    def best(self) -> list[_Candidate]:
        live = [entry[3] for entry in self.heap if entry[3].alive]
        return sorted(live, key=lambda c: (-c.priority, c.order))

    def _prune(self) -> None:
        while self.heap and not self.heap[0][3].alive:
            heapq.heappop(self.heap)


def text_key(text: str) -> bytes:
    """Return the duplicate key of a text: a hash of it case-folded, whitespace collapsed."""
    return hashlib.blake2b(normalize_text(text).encode(), digest_size=12).digest()


def suggest(
    model: Model,
    pool: Iterable[Item | DataError],
    *,
    n: int = 50,
    strategy: str = "uncertainty",
    seed: int = 0,
    exclude: Iterable[Item | DataError] = (),
    batch_size: int = 512,
) -> list[Suggestion]:
    """Return the ``n`` pool paragraphs most worth labeling next, best first.

    Parameters
    ----------
    model : Model
    pool : iterable of Item
        Paragraphs to choose from, read once (e.g. :func:`topictag.data.inputs.read_items`).
    n : int
        How many to return (fewer only when the pool has fewer distinct paragraphs).
    strategy : {"uncertainty", "margin", "random"}
        See the module docstring.
    seed : int
        The same pool, model and seed give the same picks.
    exclude : iterable of Item
        Paragraphs already labeled: skipped by id, exact text or near-duplicate text.
    batch_size : int
        Paragraphs scored at once.

    Raises
    ------
    ValueError
        For an unknown strategy or ``n < 1``.
    DataError
        For the first unreadable pool or exclude row.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    explore = 0 if strategy == "random" else int(n * RANDOM_SHARE)
    main, extra = _TopK(CANDIDATES * n + 16), _TopK(CANDIDATES * explore + 16)
    seen = _excluded(exclude)
    rng = np.random.default_rng(seed)
    order = 0
    for batch in _batches(pool, batch_size):
        batch = [item for item in batch if item.text.strip()]
        draws = rng.random(len(batch))
        fresh = [
            k
            for k, item in enumerate(batch)
            if item.id not in seen.ids and text_key(item.text) not in seen.index.by_key
        ]
        if not fresh:
            order += len(batch)
            continue
        items = [batch[k] for k in fresh]
        scores = model.score([item.text for item in items])
        priority, reasons = (
            (draws[fresh], [{} for _ in items])
            if strategy == "random"
            else _priorities(model, scores, strategy)
        )
        floor, extra_floor = main.floor(), extra.floor() if explore else np.inf
        entrants = [
            i for i in range(len(items)) if priority[i] > floor or draws[fresh[i]] > extra_floor
        ]
        prints = fingerprints([items[i].text for i in entrants])
        given = model.labels_of(scores)  # both vetoes: no known n-gram, the no-topic head
        for k, i in enumerate(entrants):
            c = _Candidate(
                priority=float(priority[i]),
                order=order + fresh[i],
                item=items[i],
                key=text_key(items[i].text),
                shingles=prints.sets[k],
                bands=prints.bands[k],
                proba=scores.proba[i],
                reason={"strategy": strategy, "priority": round(float(priority[i]), 6)}
                | reasons[i],
                labels=given[i],
            )
            if seen.index.duplicates(c):
                continue
            if c.priority > main.floor():
                main.offer(c)
            if explore and draws[fresh[i]] > extra.floor():
                extra.offer(dataclasses.replace(c, priority=float(draws[fresh[i]])))
        order += len(batch)
    return [_suggestion(model, c, chosen) for c, chosen in _merge(main, extra, n, explore)]


def _merge(main: _TopK, extra: _TopK, n: int, explore: int) -> list[tuple[_Candidate, bool]]:
    """Pick ``n - explore`` by priority and ``explore`` at random; spread the random ones."""
    picked = _Index()
    ranked: list[_Candidate] = []
    drawn: list[_Candidate] = []

    def take(pool: Sequence[_Candidate], into: list[_Candidate], limit: int) -> None:
        for c in pool:
            if len(into) >= limit or len(ranked) + len(drawn) >= n:
                return
            if not picked.duplicates(c):
                picked.add(c)
                into.append(c)

    take(main.best(), ranked, n - explore)
    take(extra.best(), drawn, explore)
    take(main.best(), ranked, n)  # too few random picks: fill with ranked ones
    take(extra.best(), drawn, n)  # too few ranked ones: fill with random picks
    out = [(c, False) for c in ranked]
    for k, c in enumerate(drawn):
        out.insert(min(len(out), round((k + 0.5) * n / max(len(drawn), 1))), (c, True))
    return out


def _suggestion(model: Model, c: _Candidate, drawn: bool) -> Suggestion:
    return Suggestion(
        id=c.item.id,
        text=c.item.text,
        labels=c.labels,
        scores=dict(zip(model.labels, np.round(c.proba, 6).tolist(), strict=True)),
        reason=c.reason | {"random": drawn},
        fields=dict(c.item.fields),
    )


def _priorities(
    model: Model, scores: Scores, strategy: str
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Return each paragraph's priority (higher: label it sooner) and the labels behind it."""
    p, names = scores.proba, model.labels
    if model.mode == SINGLE_LABEL:
        values = p if strategy == "uncertainty" else scores.raw
        top = np.argsort(-values, axis=1, kind="stable")[:, :2]
        pair = np.take_along_axis(values, top, axis=1)
        gap = pair[:, 0] - pair[:, 1]
        reasons = [
            {
                "margin": round(float(g), 6),
                "uncertain": [
                    {"label": names[j], "probability": round(float(p[i, j]), 6)}
                    for j in row.tolist()
                ],
            }
            for i, (g, row) in enumerate(zip(gap, top, strict=True))
        ]
        return -gap, reasons
    if strategy == "margin":  # each label's raw score against its boundary at 0
        distance = scores.raw
        closeness = -np.abs(distance)
        key = "score"
    else:  # each label's probability against its own threshold
        t = model.thresholds
        distance = p - t
        closeness = 1.0 - np.abs(distance) / np.maximum(np.where(p < t, t, 1.0 - t), 1e-12)
        key = "distance"
    top = np.argsort(-closeness, axis=1, kind="stable")[:, :REASON_LABELS]
    reasons = [
        {
            "uncertain": [
                {
                    "label": names[j],
                    "probability": round(float(p[i, j]), 6),
                    "threshold": round(float(model.thresholds[j]), 6),
                    key: round(float(distance[i, j]), 6),
                }
                for j in row.tolist()
            ]
        }
        for i, row in enumerate(top)
    ]
    return closeness.max(axis=1), reasons


@dataclass
class _Excluded:
    ids: set[str]
    index: _Index


def _excluded(rows: Iterable[Item | DataError]) -> _Excluded:
    ids: set[str] = set()
    index = _Index()
    for batch in _batches(rows, 1024):
        prints = fingerprints([item.text for item in batch])
        for k, item in enumerate(batch):
            ids.add(item.id)
            index.add(
                _Candidate(
                    0.0,
                    0,
                    item,
                    text_key(item.text),
                    prints.sets[k],
                    prints.bands[k],
                    np.zeros(0),
                    {},
                )
            )
    return _Excluded(ids, index)


def _batches(rows: Iterable[Item | DataError], size: int) -> Iterator[list[Item]]:
    batch: list[Item] = []
    for row in rows:
        if isinstance(row, DataError):
            raise row
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
