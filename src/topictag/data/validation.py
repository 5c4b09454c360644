"""Checking labeled corpora before they are trained on.

:func:`validate_corpus` finds the mistakes that poison a model before it is trained:
errors (schema problems, the same article or text on both sides of the train/test split) and
warnings (duplicates within a split, near duplicates, shared 10-word spans, label spellings
that differ only in case or punctuation, rare labels, empty texts).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from topictag.data.corpus import Record, iter_json_objects, parse_record
from topictag.data.minhash import (
    BANDS,
    NEAR_DUPLICATE_JACCARD,
    Tokens,
    band_keys,
    minhash,
    shingles,
)
from topictag.errors import DataError
from topictag.progress import Progress, report

ERROR = "error"
WARNING = "warning"
SPAN_WORDS = 10


@dataclass(frozen=True)
class Finding:
    """One problem found in a corpus."""

    level: str  # "error" or "warning"
    code: str  # e.g. "duplicate-across-splits"
    message: str
    where: list[str] = field(default_factory=list)  # "file:line" of the rows involved


@dataclass
class ValidationReport:
    """Everything :func:`validate_corpus` found."""

    rows: int
    findings: list[Finding]

    @property
    def errors(self) -> list[Finding]:
        """Findings that make the corpus unusable as it is."""
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Findings worth a look that do not block training."""
        return [f for f in self.findings if f.level == WARNING]

    def to_json(self) -> dict[str, Any]:
        """Return the report as JSON-ready values."""
        counts = Counter(f.code for f in self.findings)
        return {
            "rows": self.rows,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "counts": dict(sorted(counts.items())),
            "findings": [asdict(f) for f in self.findings],
        }


def validate_corpus(
    paths: Sequence[str | Path], *, min_examples: int = 5, progress: Progress | None = None
) -> ValidationReport:
    """Check corpus files and return every finding (schema errors do not stop the scan).

    Parameters
    ----------
    paths : sequence of paths
        JSON Lines corpus files.
    min_examples : int
        Warn about labels with fewer examples than this.
    progress : callable, optional
        Receives a ``"validating"`` step after reading each file and after each check.
    """
    steps = len(paths) + 4
    done = 0
    findings: list[Finding] = []
    records: list[Record] = []
    where: list[str] = []
    for path in paths:
        try:
            for number, obj in iter_json_objects(path):
                try:
                    records.append(parse_record(obj, source=str(path), line=number))
                    where.append(f"{path}:{number}")
                except DataError as error:
                    findings.append(Finding(ERROR, "schema", str(error), [f"{path}:{number}"]))
        except DataError as error:  # malformed JSON, bad bytes or empty file: stop this file
            findings.append(Finding(ERROR, "schema", str(error), [str(error).split(": ")[0]]))
        done += 1
        report(progress, "validating", done, steps, note=f"read {path}")
    findings += _split_leaks(records, where)
    findings += _duplicates(records, where)
    report(progress, "validating", done + 1, steps, note="split leaks and duplicates")
    tokens = Tokens.of(records)
    near, near_pairs = _near_duplicates(records, where, tokens)
    findings += near
    report(progress, "validating", done + 2, steps, note="near duplicates")
    findings += _shared_spans(records, where, tokens, near_pairs)
    report(progress, "validating", done + 3, steps, note="shared spans")
    findings += _label_findings(records, min_examples)
    findings += [
        Finding(WARNING, "empty-text", "paragraph text is empty or whitespace", [where[i]])
        for i, r in enumerate(records)
        if not r.text.strip()
    ]
    report(progress, "validating", steps, steps, note="labels")
    return ValidationReport(rows=len(records), findings=findings)


def format_report(report: ValidationReport, *, examples: int = 5) -> str:
    """Render a validation report for people: counts per finding, a few examples each."""
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        by_code[f.code].append(f)
    lines = [
        f"{report.rows} rows: {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    ]
    for code, found in sorted(by_code.items(), key=lambda kv: (kv[1][0].level != ERROR, kv[0])):
        lines.append(f"{found[0].level.upper()} {code}: {len(found)}")
        for f in found[:examples]:
            lines.append(f"  {f.message}" + (f"  [{', '.join(f.where[:3])}]" if f.where else ""))
        if len(found) > examples:
            lines.append(f"  ... and {len(found) - examples} more")
    return "\n".join(lines)


def _split_leaks(records: Sequence[Record], where: Sequence[str]) -> list[Finding]:
    sides: dict[str, dict[str, int]] = defaultdict(dict)
    for i, r in enumerate(records):
        if r.article_id is not None and r.split is not None:
            sides[r.article_id].setdefault(r.split, i)
    return [
        Finding(
            ERROR,
            "article-in-both-splits",
            f"article {article!r} has rows in train and test",
            [where[s["train"]], where[s["test"]]],
        )
        for article, s in sides.items()
        if len(s) > 1
    ]


def _duplicates(records: Sequence[Record], where: Sequence[str]) -> list[Finding]:
    seen: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        if r.text.strip():
            seen[r.text.strip()].append(i)
    findings = []
    for rows in seen.values():
        if len(rows) < 2:
            continue
        splits = {records[i].split for i in rows}
        across = "train" in splits and "test" in splits
        findings.append(
            Finding(
                ERROR if across else WARNING,
                "duplicate-across-splits" if across else "duplicate",
                f"the same text appears {len(rows)} times"
                + (" in both train and test" if across else "")
                + f": {_snippet(records[rows[0]].text)}",
                [where[i] for i in rows],
            )
        )
    return findings


def _pairs_sharing(keys: np.ndarray, docs: np.ndarray, *, limit: int = 50) -> np.ndarray:
    """Return unique (a, b) paragraph pairs, a < b, that share a key.

    Keys shared by more than ``limit`` paragraphs are skipped (boilerplate, not duplicates).
    """
    order = np.lexsort((docs, keys))
    k, d = keys[order], docs[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    sizes = np.diff(np.r_[starts, len(k)])
    chunks = [np.zeros((0, 2), dtype=np.int64)]
    for size in np.unique(sizes[(sizes > 1) & (sizes <= limit)]).tolist():
        groups = d[starts[sizes == size][:, None] + np.arange(size)]  # (n_groups, size)
        left, right = np.triu_indices(size, k=1)
        chunks.append(np.stack([groups[:, left].ravel(), groups[:, right].ravel()], axis=1))
    pairs = np.concatenate(chunks)
    pairs = np.sort(pairs, axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)


def _near_duplicates(
    records: Sequence[Record], where: Sequence[str], tokens: Tokens
) -> tuple[list[Finding], set[tuple[int, int]]]:
    """Pairs with word-shingle Jaccard >= 0.8 (but not identical), found with MinHash LSH.

    Returns the findings and the pairs, so that other checks can leave those pairs out.
    """
    docs, hashes = shingles(tokens, len(records))
    present, first = np.unique(docs, return_index=True)
    keys = band_keys(minhash(hashes, first))
    candidates = [_pairs_sharing(keys[:, band], present) for band in range(BANDS)]
    pairs = np.unique(np.concatenate([np.zeros((0, 2), dtype=np.int64), *candidates]), axis=0)
    bounds = np.append(first, len(docs))
    position = {int(d): i for i, d in enumerate(present)}
    sets: dict[int, np.ndarray] = {}
    findings: list[Finding] = []
    found: set[tuple[int, int]] = set()
    for a, b in pairs.tolist():
        if tokens.text_key[a] == tokens.text_key[b]:
            continue  # an exact duplicate, reported as such
        for d in (a, b):
            if d not in sets:
                i = position[d]
                sets[d] = np.unique(hashes[bounds[i] : bounds[i + 1]])
        shared = len(np.intersect1d(sets[a], sets[b], assume_unique=True))
        jaccard = shared / (len(sets[a]) + len(sets[b]) - shared)
        if jaccard >= NEAR_DUPLICATE_JACCARD:
            found.add((a, b))
            findings.append(
                Finding(
                    WARNING,
                    "near-duplicate",
                    f"near-duplicate texts (Jaccard {jaccard:.2f}): {_snippet(records[a].text)}",
                    [where[a], where[b]],
                )
            )
    return findings, found


def _shared_spans(
    records: Sequence[Record], where: Sequence[str], tokens: Tokens, skip: set[tuple[int, int]]
) -> list[Finding]:
    """Pairs of different paragraphs that share a run of 10 words.

    Exact and near duplicates (``skip``) are left out: they are reported as such.
    """
    starts, hashes = tokens.windows(SPAN_WORDS)
    if not len(starts):
        return []
    order = np.lexsort((tokens.doc[starts], hashes))
    h, s = hashes[order], starts[order]
    d = tokens.doc[s]
    hit = np.flatnonzero((h[1:] == h[:-1]) & (d[1:] != d[:-1]))
    a, b = np.minimum(d[hit], d[hit + 1]), np.maximum(d[hit], d[hit + 1])
    n = np.int64(len(records))
    key = a * n + b
    known = np.array([x * n + y for x, y in skip], dtype=np.int64)
    keep = ~np.isin(key, known) & (tokens.text_key[a] != tokens.text_key[b])
    _, first = np.unique(key[keep], return_index=True)
    chosen = np.flatnonzero(keep)[np.sort(first)]  # one window per pair, in corpus order
    findings = []
    rows = hit[chosen]
    for k, x, y in zip(rows.tolist(), s[rows].tolist(), s[rows + 1].tolist(), strict=True):
        words = tokens.ids[x : x + SPAN_WORDS]
        if not np.array_equal(words, tokens.ids[y : y + SPAN_WORDS]):
            continue  # hash collision
        span = " ".join(tokens.vocabulary[int(w)] for w in words)
        first_doc, second_doc = sorted((int(d[k]), int(d[k + 1])))
        findings.append(
            Finding(
                WARNING,
                "shared-span",
                f"10-word span shared: {span!r}",
                [where[first_doc], where[second_doc]],
            )
        )
    return findings


def _label_findings(records: Iterable[Record], min_examples: int) -> list[Finding]:
    counts = Counter(x for r in records for x in r.labels or ())
    spellings: dict[str, list[str]] = defaultdict(list)
    for label in sorted(counts):
        spellings[re.sub(r"[\W_]+", "", label.casefold())].append(label)
    findings = [
        Finding(
            WARNING,
            "label-spelling",
            "labels differ only in case, spacing or punctuation: "
            + ", ".join(f"{x!r} ({counts[x]})" for x in variants),
        )
        for variants in spellings.values()
        if len(variants) > 1
    ]
    findings += [
        Finding(
            WARNING, "rare-label", f"label {label!r} has {n} example(s) (fewer than {min_examples})"
        )
        for label, n in sorted(counts.items())
        if n < min_examples
    ]
    return findings


def _snippet(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= width else text[: width - 3] + "...")
