"""Splitting a corpus into train and test: grouped, stratified over labels, deterministic."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from topictag.data.corpus import Record, group_keys, normalize_text
from topictag.errors import DataError


def split_corpus(
    records: Sequence[Record], *, test_size: float = 0.2, seed: int = 0
) -> list[Record]:
    """Assign ``split`` to every record: group-aware, stratified over labels, deterministic.

    Groups (see :func:`split_groups`: an article, together with every row that shares a text
    with it) are kept whole, so that ``data validate`` finds neither an article nor a text on
    both sides. Groups are assigned by iterative stratification (Sechidis et al., 2011)
    applied to groups: the rarest label is placed first, each of its groups going to the side
    that most wants that label.
    """
    if not 0.0 < test_size < 1.0:
        raise DataError(f"test size must be between 0 and 1, got {test_size}")
    keys = split_groups(records)
    members: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        members[key].append(i)
    groups = sorted(members)
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)  # seeded tie-breaking
    group_labels = {
        g: Counter(x for i in members[g] for x in records[i].labels or ()) for g in groups
    }
    ratios = np.array([1.0 - test_size, test_size])
    size_want = ratios * len(records)
    totals = Counter(x for g in groups for x in group_labels[g].elements())
    label_want = {x: ratios * n for x, n in totals.items()}
    side: dict[str, int] = {}
    remaining = set(groups)
    order = {g: i for i, g in enumerate(groups)}
    while remaining:
        left = Counter(x for g in remaining for x in group_labels[g])
        if left:
            label = min(left, key=lambda x: (left[x], x))
            candidates = sorted(
                (g for g in remaining if label in group_labels[g]), key=order.__getitem__
            )
        else:
            label, candidates = None, sorted(remaining, key=order.__getitem__)
        for g in candidates:
            want = label_want[label] if label is not None else size_want
            best = np.flatnonzero(want == want.max())
            if len(best) > 1:
                best = best[size_want[best] == size_want[best].max()]
            s = int(best[0])
            side[g] = s
            remaining.discard(g)
            size_want[s] -= len(members[g])
            for x, n in group_labels[g].items():
                label_want[x][s] -= n
    _refine(side, members, group_labels, totals, test_size, len(records), order=groups)
    names = ("train", "test")
    return [replace(r, split=names[side[keys[i]]]) for i, r in enumerate(records)]


def split_groups(records: Sequence[Record]) -> list[str]:
    """Return each record's split group: rows linked by an article or by a text, transitively.

    Two rows are in one group when they share an ``article_id`` or the same normalized
    non-empty text, and so on along chains (union-find over both keys): a text that appears
    under two article ids joins the two articles. A group is named by the smallest
    :func:`~topictag.data.corpus.group_keys` key among its rows, so a group that links nothing
    keeps its own key.
    """
    keys = group_keys(records)
    parent = list(range(len(records)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, r in enumerate(records):
        text = normalize_text(r.text)
        for link in (keys[i], "same-text:" + text if text else None):
            if link is None:
                continue
            j = first.setdefault(link, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    names: dict[int, str] = {}
    for i in range(len(records)):
        top = root(i)
        names[top] = min(names.get(top, keys[i]), keys[i])
    return [names[root(i)] for i in range(len(records))]


def _refine(
    side: dict[str, int],
    members: dict[str, list[int]],
    group_labels: dict[str, Counter[str]],
    totals: Counter[str],
    test_size: float,
    rows: int,
    *,
    order: Sequence[str],
    passes: int = 10,
) -> None:
    """Move single groups between sides while that brings every label's test share closer.

    The objective is the sum over labels (and over rows, as one more "label") of the squared
    relative error of the test count against ``test_size`` of the total.
    """
    test = Counter[str]()
    test_rows = 0
    for g, s in side.items():
        if s == 1:
            test.update(group_labels[g])
            test_rows += len(members[g])

    def cost(label_counts: Counter[str], n_rows: int, labels: Iterable[str]) -> float:
        value = ((n_rows - test_size * rows) / rows) ** 2
        for x in labels:
            value += ((label_counts[x] - test_size * totals[x]) / totals[x]) ** 2
        return value

    for _ in range(passes):
        moved = False
        for g in order:
            sign = -1 if side[g] == 1 else 1
            labels = group_labels[g]
            after = Counter({x: test[x] + sign * n for x, n in labels.items()})
            before_cost = cost(test, test_rows, labels)
            after_cost = cost(after, test_rows + sign * len(members[g]), labels)
            if after_cost < before_cost - 1e-12:
                side[g] = 1 - side[g]
                test.update({x: sign * n for x, n in labels.items()})
                test_rows += sign * len(members[g])
                moved = True
        if not moved:
            break
