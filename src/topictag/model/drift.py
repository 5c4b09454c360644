"""Drift statistics: what a model's text looks like, summarized in bounded memory (numpy only).

At training time :func:`reference_statistics` summarizes text the model has not seen and the
summary is stored in the bundle manifest's ``drift`` field, so that no training data is needed
later. The summary is of held-out test rows when the training data has enough of them, else of
the training rows themselves, taken out of sample:

- **known-token share**: the share of a paragraph's n-grams that the model knows. On training
  rows an n-gram counts as known only when it also occurs in another group (article) of the
  training data: the share an unseen in-domain paragraph would have, not the in-sample 100%.
- **confidence**: the distribution of each paragraph's highest probability (on training rows,
  the out-of-fold probabilities that calibrated the model).
- **label rates**: each label's predicted rate, its rate in the training labels, and the share
  of paragraphs that get no label.

:class:`DriftMonitor` accumulates the same statistics over new text (plus the unknown terms
found in most paragraphs); :func:`topictag.model.shift.compare` sets them against the reference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from topictag.data.inputs import Item
from topictag.errors import DataError
from topictag.model.decision import SINGLE_LABEL, decide_labels
from topictag.model.inference import Model, Scores

FORMAT = 1  # version of the manifest's "drift" object
BINS = 10
EPSILON = 1e-4  # floor of a bin's share in the PSI, so that an empty bin stays finite
NEW_TERMS = 20  # unknown terms reported
TERM_BUDGET = 200_000  # distinct unknown terms counted at once (the rarest are then dropped)
_BATCH = 2048


def reference_statistics(
    model: Model,
    texts: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    proba: np.ndarray | None = None,
    training_rates: Mapping[str, float] | None = None,
    source: str = "training rows",
) -> dict[str, Any]:
    """Summarize texts as the reference that new text is compared with.

    Parameters
    ----------
    model : Model
    texts : sequence of str
        The training paragraphs (or any text the model is meant for).
    groups : sequence of str, optional
        Each text's group (article): with groups, an n-gram of a text counts as known only if
        it also occurs in another group, as for unseen text; without, every known n-gram counts.
    proba : ndarray of shape (n, n_labels), optional
        Out-of-fold probabilities of the texts; without, the model scores them itself.
    training_rates : mapping, optional
        Each label's rate in the training labels, recorded beside the predicted rates.
    source : str
        Where the statistics come from, recorded in the result.

    Returns
    -------
    dict
        JSON-ready, the manifest's ``drift`` field.
    """
    if proba is None:
        proba = np.vstack(
            [model.score(texts[i : i + _BATCH]).proba for i in range(0, len(texts), _BATCH)]
            or [np.zeros((0, len(model.labels)))]
        )
    known, total = _out_of_group_counts(model, texts, groups)
    chosen = _chosen(model, proba)
    n = max(len(texts), 1)
    stats: dict[str, Any] = {
        "format": FORMAT,
        "source": source,
        "rows": len(texts),
        "known_share": {
            "mean": round(float(known.sum() / max(total.sum(), 1)), 6),
            "histogram": _rounded(_histogram(_shares(known, total))),
            "method": "out-of-group" if groups is not None else "as scored",
        },
        "confidence": {
            "mean": round(float(proba.max(axis=1).mean()) if len(proba) else 0.0, 6),
            "histogram": _rounded(_histogram(proba.max(axis=1))),
        },
        "labels": {
            "predicted": dict(zip(model.labels, _rounded(chosen.sum(axis=0) / n), strict=True)),
            "none": round(float((~chosen.any(axis=1)).sum() / n), 6),
        },
    }
    if training_rates is not None:
        stats["labels"]["training"] = {
            lab: round(float(training_rates.get(lab, 0.0)), 6) for lab in model.labels
        }
    return stats


def reference_from_items(
    model: Model, items: Iterable[Item | DataError], *, batch_size: int = 1024
) -> dict[str, Any]:
    """Return reference statistics of given paragraphs (``drift --reference DATA``).

    The paragraphs are taken as the model scores them: give text the model was *not* trained
    on (a held-out sample), or its known-token share and confidence read high. Rows with
    ``labels`` also give each label's rate in those labels.
    """
    texts: list[str] = []
    counts: Counter[str] = Counter()
    labeled = 0
    for item in items:
        if isinstance(item, DataError):
            raise item
        texts.append(item.text)
        gold = item.fields.get("gold_labels")
        if isinstance(gold, list):
            labeled += 1
            counts.update(x for x in gold if isinstance(x, str))
    rates = {label: counts[label] / labeled for label in model.labels} if labeled else None
    return reference_statistics(model, texts, training_rates=rates, source="reference data")


@dataclass
class DriftMonitor:
    """Statistics of new text, accumulated batch by batch in bounded memory.

    Parameters
    ----------
    model : Model
    count_terms : bool
        Also count the unknown word n-grams (for the "new terms" of the report); off for a
        service that only exposes the numbers.
    """

    model: Model
    count_terms: bool = True
    rows: int = 0
    known: int = 0
    terms: int = 0
    empty: int = 0  # paragraphs with no n-gram at all
    shares: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    confidence: np.ndarray = field(default_factory=lambda: np.zeros(BINS))
    confidence_sum: float = 0.0
    label_counts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    no_label: int = 0
    unknown_terms: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        if not len(self.label_counts):
            self.label_counts = np.zeros(len(self.model.labels))

    def update(self, texts: Sequence[str], scores: Scores | None = None) -> None:
        """Add a batch of paragraphs (with their scores, when already computed)."""
        if not len(texts):
            return
        scores = scores if scores is not None else self.model.score(texts)
        self.rows += len(texts)
        self.known += int(scores.known_terms.sum())
        self.terms += int(scores.terms.sum())
        self.empty += int((scores.terms == 0).sum())
        self.shares += _counts(_shares(scores.known_terms, scores.terms))
        top = scores.proba.max(axis=1)
        self.confidence += _counts(top)
        self.confidence_sum += float(top.sum())
        chosen = _chosen(self.model, scores.proba, known=scores.known_terms > 0)
        self.label_counts += chosen.sum(axis=0)
        self.no_label += int((~chosen.any(axis=1)).sum())
        if self.count_terms:
            self._count_unknown(texts)

    def _count_unknown(self, texts: Sequence[str]) -> None:
        views = self.model.data.views
        for view, (grams, ids, lengths) in zip(views, self.model.analyze(texts), strict=True):
            if view.analyzer != "word" and any(v.analyzer == "word" for v in views):
                continue  # character n-grams do not make readable "new terms"
            doc = np.repeat(np.arange(len(texts)), lengths)
            unknown = np.flatnonzero(ids < 0)
            pairs = {(int(doc[k]), grams[k]) for k in unknown.tolist()}  # once per paragraph
            self.unknown_terms.update(term for _, term in pairs)
            break
        if len(self.unknown_terms) > TERM_BUDGET:  # keep the most frequent half
            self.unknown_terms = Counter(dict(self._most_common(TERM_BUDGET // 2)))

    def statistics(self) -> dict[str, Any]:
        """Return the statistics so far, shaped like :func:`reference_statistics` plus counts."""
        n = max(self.rows, 1)
        return {
            "rows": self.rows,
            "known_share": {
                "mean": round(self.known / max(self.terms, 1), 6),
                "histogram": _rounded(normalized(self.shares)),
            },
            "confidence": {
                "mean": round(self.confidence_sum / n, 6),
                "histogram": _rounded(normalized(self.confidence)),
            },
            "labels": {
                "predicted": dict(
                    zip(self.model.labels, _rounded(self.label_counts / n), strict=True)
                ),
                "none": round(self.no_label / n, 6),
                "counts": dict(
                    zip(self.model.labels, self.label_counts.astype(int).tolist(), strict=True)
                ),
                "none_count": self.no_label,
            },
            "new_terms": self.new_terms(),
        }

    def new_terms(self, top: int = NEW_TERMS) -> list[dict[str, Any]]:
        """The unknown terms found in most paragraphs, with the share of paragraphs."""
        return [
            {"term": term, "paragraphs": count, "share": round(count / max(self.rows, 1), 6)}
            for term, count in self._most_common(top)
        ]

    def _most_common(self, top: int) -> list[tuple[str, int]]:
        """The ``top`` most frequent terms, ties in alphabetical order (deterministic)."""
        return sorted(self.unknown_terms.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


def monitor_texts(
    model: Model, batches: Iterable[Sequence[str]], *, count_terms: bool = True
) -> DriftMonitor:
    """Return a :class:`DriftMonitor` fed with every batch of texts."""
    monitor = DriftMonitor(model, count_terms=count_terms)
    for texts in batches:
        monitor.update(texts)
    return monitor


def texts_of(items: Iterable[Item | DataError], batch_size: int) -> Iterator[list[str]]:
    """Yield the texts of items in batches; raise the first DataError met."""
    batch: list[str] = []
    for item in items:
        if isinstance(item, DataError):
            raise item
        batch.append(item.text)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _out_of_group_counts(
    model: Model, texts: Sequence[str], groups: Sequence[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each text's known and total n-gram counts; with groups, known means "known elsewhere"."""
    n = len(texts)
    known = np.zeros(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    group_of = np.unique(np.asarray(groups), return_inverse=True)[1] if groups else None
    per_view: list[list[tuple[np.ndarray, np.ndarray]]] = []
    for start in range(0, n, _BATCH):
        part = texts[start : start + _BATCH]
        for v, (_, ids, lengths) in enumerate(model.analyze(part)):
            if len(per_view) <= v:
                per_view.append([])
            doc = start + np.repeat(np.arange(len(part)), lengths)
            total[start : start + len(part)] += lengths
            hit = ids >= 0
            per_view[v].append((doc[hit], ids[hit]))
    for pieces in per_view:
        docs = np.concatenate([d for d, _ in pieces]) if pieces else np.zeros(0, dtype=np.int64)
        ids = np.concatenate([i for _, i in pieces]) if pieces else np.zeros(0, dtype=np.int64)
        if group_of is None:
            known += np.bincount(docs, minlength=n)
            continue
        size = np.int64(ids.max() + 1 if len(ids) else 1)
        pairs = np.unique(group_of[docs] * size + ids)  # (group, term) pairs
        groups_with = np.bincount(pairs % size, minlength=int(size))
        known += np.bincount(docs[groups_with[ids] >= 2], minlength=n)
    return known, total


def _chosen(model: Model, proba: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    return decide_labels(
        proba,
        model.thresholds,
        single_label=model.mode == SINGLE_LABEL,
        at_least_one=model.data.at_least_one,
        known=known,
    ).astype(bool)


def _shares(known: np.ndarray, total: np.ndarray) -> np.ndarray:
    has = total > 0
    return known[has] / total[has]


def _counts(values: np.ndarray) -> np.ndarray:
    which = np.clip((np.asarray(values) * BINS).astype(np.int64), 0, BINS - 1)
    return np.bincount(which, minlength=BINS).astype(np.float64)


def _histogram(values: np.ndarray) -> np.ndarray:
    return normalized(_counts(values))


def normalized(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    return counts / total if total else counts


def _rounded(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]
