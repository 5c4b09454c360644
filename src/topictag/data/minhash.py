"""MinHash fingerprints of paragraphs: near duplicates without comparing every pair.

Shared by ``data validate`` (near-duplicate and shared-span findings) and ``suggest`` (picks
skip near duplicates of each other and of what is already labeled). A paragraph's set is its
3-word shingles (its words when it is shorter); 64 hash functions in 16 bands of 4 give the
LSH candidates, and a candidate pair is confirmed by its exact Jaccard similarity.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from topictag.data.corpus import Record

NEAR_DUPLICATE_JACCARD = 0.8
SHINGLE = 3  # words per shingle for near-duplicate detection
BANDS, ROWS = 16, 4  # MinHash LSH: 64 hash functions in 16 bands of 4
_PRIME = (1 << 61) - 1
_WORD = re.compile(r"\w+")


@dataclass
class Tokens:
    """Every paragraph's words as ids in one array (``doc[k]`` is the paragraph of word ``k``)."""

    ids: np.ndarray  # uint64 word ids, all paragraphs concatenated
    doc: np.ndarray  # paragraph index of each word
    vocabulary: list[str]
    text_key: np.ndarray  # equal for paragraphs whose stripped texts are identical

    @classmethod
    def of(cls, records: Sequence[Record], *, stable: bool = False) -> Tokens:
        """Tokenize records; ``stable`` ids are word hashes, equal across calls and processes.

        Without ``stable``, ids number the words of this call in order of appearance.
        """
        index: dict[str, int] = {}
        lists = [_WORD.findall(r.text.casefold()) for r in records]
        words = (w for ws in lists for w in ws)
        ids = np.fromiter(
            (index.setdefault(w, _word_hash(w) if stable else len(index)) for w in words),
            dtype=np.uint64,
        )
        doc = np.repeat(np.arange(len(lists)), [len(words) for words in lists])
        texts: dict[str, int] = {}
        key = np.array([texts.setdefault(r.text.strip(), len(texts)) for r in records])
        return cls(ids, doc, list(index), key)

    def windows(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (start positions, hashes) of every run of ``size`` words inside one paragraph."""
        count = len(self.ids) - size + 1
        if count <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
        hashes = np.zeros(count, dtype=np.uint64)
        for k in range(size):
            hashes = hashes * np.uint64(1_000_003) + self.ids[k : k + count]
        inside = np.flatnonzero(self.doc[:count] == self.doc[size - 1 :])
        return inside, hashes[inside]


def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")


def shingles(tokens: Tokens, n_docs: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (paragraph index, shingle hash) of every 3-word shingle, grouped by paragraph.

    Paragraphs shorter than a shingle are represented by their words.
    """
    starts, hashes = tokens.windows(SHINGLE)
    docs = tokens.doc[starts]
    short = np.flatnonzero(np.bincount(tokens.doc, minlength=n_docs) < SHINGLE)
    if len(short):
        extra = np.isin(tokens.doc, short)
        hashes = np.concatenate([hashes, tokens.ids[extra] * np.uint64(7919)])
        docs = np.concatenate([docs, tokens.doc[extra]])
    order = np.argsort(docs, kind="stable")
    return docs[order], hashes[order] % np.uint64(_PRIME)


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """Return the LSH key of each band of each signature, shape (n, bands)."""
    keys = np.empty((len(signatures), BANDS), dtype=np.uint64)
    for band in range(BANDS):
        block = signatures[:, band * ROWS : (band + 1) * ROWS]
        key = block[:, 0]
        for column in range(1, ROWS):
            key = key * np.uint64(1_000_003) + block[:, column]
        keys[:, band] = key
    return keys


@dataclass(frozen=True)
class Fingerprints:
    """MinHash fingerprints of texts, for finding near duplicates (the ``data validate`` ones).

    Two texts are near duplicates when their 3-word-shingle Jaccard similarity is at least
    :data:`NEAR_DUPLICATE_JACCARD`; texts that share a band key are the candidates to check.
    """

    bands: np.ndarray  # (n, 16) uint64 LSH band keys (zeros for a text without words)
    sets: list[np.ndarray]  # each text's sorted unique shingle hashes (empty: no words)

    def near(self, i: int, other: Fingerprints, j: int) -> bool:
        """Whether text ``i`` of these and text ``j`` of ``other`` are near duplicates."""
        a, b = self.sets[i], other.sets[j]
        if not len(a) or not len(b):
            return False
        shared = len(np.intersect1d(a, b, assume_unique=True))
        return shared / (len(a) + len(b) - shared) >= NEAR_DUPLICATE_JACCARD


def fingerprints(texts: Sequence[str]) -> Fingerprints:
    """Return the MinHash fingerprints of texts; fingerprints of separate calls compare.

    Examples
    --------
    >>> f = fingerprints(["Troops shelled the town overnight.", "Troops shelled the town."])
    >>> f.bands.shape
    (2, 16)
    """
    records = [Record(id=str(i), text=t) for i, t in enumerate(texts)]
    tokens = Tokens.of(records, stable=True)
    docs, hashes = shingles(tokens, len(records))
    present, first = np.unique(docs, return_index=True)
    bands = np.zeros((len(records), BANDS), dtype=np.uint64)
    bands[present] = band_keys(minhash(hashes, first))
    bounds = np.append(first, len(docs))
    sets = [np.zeros(0, dtype=np.uint64)] * len(records)
    for k, d in enumerate(present.tolist()):
        sets[d] = np.unique(hashes[bounds[k] : bounds[k + 1]])
    return Fingerprints(bands=bands, sets=sets)


def minhash(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Return MinHash signatures of the sets ``values[starts[i]:starts[i + 1]]``."""
    rng = np.random.default_rng(20240101)
    count = BANDS * ROWS
    a = rng.integers(1, 1 << 31, size=count, dtype=np.uint64)
    b = rng.integers(0, 1 << 31, size=count, dtype=np.uint64)
    signatures = np.empty((len(starts), count), dtype=np.uint64)
    if not len(starts):
        return signatures
    for k in range(count):  # values < 2**61 and a < 2**31: products wrap, still a fine hash
        signatures[:, k] = np.minimum.reduceat((a[k] * values + b[k]) % np.uint64(_PRIME), starts)
    return signatures
