"""The featurized chunks of a streaming training, cached on disk between passes.

The survey writes each chunk's term counts (in the chunk's own vocabulary); the first fit pass
turns them into tf-idf rows with the fitted vocabulary and idf and writes those; the later passes
and the calibration read them back. Memory holds one chunk at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from topictag.evaluate.metrics import indicator_matrix
from topictag.train.features import fitted_vectorizers
from topictag.train.stream_reading import Block, iter_chunks


@dataclass(frozen=True)
class Plan:
    """What every fit and calibration task needs to know, fixed after the survey."""

    features: Any
    labels: list[str]
    keep: set[str] | None
    share: float  # rows whose place is below this are held out from the calibration model
    sample: float  # the share of those rows scored for calibration (drawn per chunk)
    seed: int
    chunk_rows: int
    cache: str


def featurized(
    block: Block, places: np.ndarray, plan: Plan
) -> Iterator[tuple[int, Any, np.ndarray, np.ndarray]]:
    """Yield (chunk number, tf-idf rows, label matrix, places) of a block's training rows.

    The first call builds each chunk from the survey's counts (or, when this worker has not
    got them, from the text) and writes it to the cache; later calls read it back.
    """
    folder = Path(plan.cache)
    done = folder / f"block-{block.index}.done"
    if done.exists():
        for c in range(int(done.read_text())):
            with np.load(folder / f"block-{block.index}-{c}.npz", allow_pickle=False) as z:
                X = sparse.csr_matrix(
                    (z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"])
                )
                yield c, X, z["Y"], z["places"]
        return
    folder.mkdir(parents=True, exist_ok=True)
    start = chunks = 0
    for c, X, Y in _build_chunks(block, plan):
        part = places[start : start + X.shape[0]]
        start += X.shape[0]
        save_arrays(
            folder / f"block-{block.index}-{c}.npz",
            {"data": X.data, "indices": X.indices, "indptr": X.indptr, "shape": np.array(X.shape)}
            | {"Y": Y, "places": part},
        )
        chunks = c + 1
        yield c, X, Y, part
    done.write_text(str(chunks))


def _build_chunks(block: Block, plan: Plan) -> Iterator[tuple[int, Any, np.ndarray]]:
    folder = Path(plan.cache)
    if not (folder / f"block-{block.index}-0.counts.npz").exists():
        for c, chunk in enumerate(iter_chunks(block, plan.chunk_rows, plan.keep)):
            X = sparse.csr_matrix(plan.features.transform([r.text for r in chunk]))
            yield c, X, indicator_matrix([r.labels or () for r in chunk], plan.labels)
        return
    vectorizers = fitted_vectorizers(plan.features)
    c = 0
    while (path := folder / f"block-{block.index}-{c}.counts.npz").exists():
        with np.load(path, allow_pickle=False) as z:
            labels = json.loads(_text(z["labels"]))
            n = len(labels)
            views = []
            for v, vectorizer in enumerate(vectorizers):
                terms = _text(z[f"terms_{v}"]).split("\n") if len(z[f"terms_{v}"]) else []
                counts = sparse.csr_matrix(
                    (z[f"data_{v}"], z[f"indices_{v}"], z[f"indptr_{v}"]), shape=(n, len(terms))
                )
                views.append(_tfidf(counts, terms, vectorizer))
        X = views[0] if len(views) == 1 else sparse.hstack(views, format="csr")
        yield c, X, indicator_matrix(labels, plan.labels)
        path.unlink()
        c += 1


def _tfidf(counts: Any, terms: list[str], vectorizer: Any) -> Any:
    """Tf-idf rows from a chunk's counts, as the fitted ``TfidfVectorizer`` would give them."""
    vocabulary = vectorizer.vocabulary_
    remap = np.array([vocabulary.get(t, -1) for t in terms], dtype=np.int64)
    coo = counts.tocoo()
    kept = remap[coo.col] >= 0 if len(terms) else np.zeros(0, dtype=bool)
    X = sparse.csr_matrix(
        (coo.data[kept].astype(np.float64), (coo.row[kept], remap[coo.col[kept]])),
        shape=(counts.shape[0], len(vocabulary)),
    )
    X.sort_indices()
    if vectorizer.sublinear_tf:
        np.log(X.data, out=X.data)
        X.data += 1.0
    X.data *= vectorizer.idf_[X.indices]
    return normalize(X, norm="l2", copy=False)


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(path)


def count_terms(texts: list[str], analyze: Any) -> tuple[Any, list[str]]:
    """Term counts of texts as a CSR matrix over the terms in order of first sight."""
    terms: list[str] = []
    lengths = np.empty(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        grams = analyze(text)
        lengths[i] = len(grams)
        terms += grams
    index = {term: i for i, term in enumerate(dict.fromkeys(terms))}
    cols = np.fromiter(map(index.__getitem__, terms), dtype=np.int64, count=len(terms))
    rows = np.repeat(np.arange(len(texts)), lengths)
    counts = sparse.csr_matrix(
        (np.ones(len(cols), dtype=np.int64), (rows, cols)), shape=(len(texts), len(index))
    )
    counts.sum_duplicates()
    return counts, list(index)


def blob(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _text(blob: np.ndarray) -> str:
    return blob.tobytes().decode("utf-8")
