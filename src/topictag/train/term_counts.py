"""Term counts of the training texts, shared by the search's trials, and TF-IDF from them.

A view's counts do not depend on ``min_df``, ``max_df``, ``max_features`` or sublinear tf, so
the search (:mod:`topictag.train.scoring`) counts each view's n-grams once and computes every
fold's TF-IDF from the counts (:func:`tfidf`), as a vectorizer fitted on that fold would.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse

from topictag.model.features import View
from topictag.train.recipe import FeatureConfig

MAX_CACHED_ENTRIES = 40_000_000  # feature entries kept across trials (~480 MB)


class FeatureCache:
    """Term counts of the training texts, one matrix per view, shared across trials.

    A view's counts do not depend on ``min_df``, ``max_df``, ``max_features`` or sublinear tf,
    so every trial with the same analyzer, n-grams, case and token pattern shares them; the
    TF-IDF of a fold is computed from them (:func:`tfidf`). Least recently used views are
    dropped past ``max_entries`` stored entries. Building a view also measures its cost, from
    which :meth:`estimate` predicts views not built yet.
    """

    def __init__(self, texts: Sequence[str], *, max_entries: int = MAX_CACHED_ENTRIES) -> None:
        self.texts = texts
        self.max_entries = max_entries
        self._views: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._rates: dict[str, float] = {}  # seconds per text character and n-gram size
        self._built: dict[tuple[Any, ...], float] = {}  # seconds each view took to build
        self._characters = sum(len(t) for t in texts)
        self.fits: OrderedDict[str, Any] = OrderedDict()  # out-of-fold scores, by fitted recipe

    def counts(self, features: FeatureConfig) -> tuple[list[tuple[View, Any]], float]:
        """Return each view of a recipe with its term counts over every text, and the seconds
        spent building views that were not cached."""
        from topictag.train.features import views_from_config

        spent = 0.0
        blocks = []
        for view in views_from_config(features):
            key = _key(view)
            if key not in self._views:
                started = time.perf_counter()
                self._views[key] = self._build(view)
                seconds = time.perf_counter() - started
                spent += seconds
                self._built[key] = seconds
                self._rates[view.analyzer] = seconds / max(self._work(view), 1)
                self._evict(keep=key)
            self._views.move_to_end(key)
            blocks.append((view, self._views[key]))
        return blocks, spent

    def estimate(self, features: FeatureConfig) -> float:
        """Seconds that :meth:`counts` would spend building the views not cached (0: unknown)."""
        from topictag.train.features import views_from_config

        return sum(
            self._guess(view)
            for view in views_from_config(features)
            if _key(view) not in self._views
        )

    def cost(self, features: FeatureConfig) -> float:
        """Seconds that featurizing every text with the recipe takes, cached or not (what the
        final fit, which featurizes again, will spend)."""
        from topictag.train.features import views_from_config

        return sum(
            self._built.get(_key(view), self._guess(view)) for view in views_from_config(features)
        )

    def _guess(self, view: View) -> float:
        rate = self._rates.get(view.analyzer, max(self._rates.values(), default=0.0))
        return rate * self._work(view)

    def _work(self, view: View) -> int:
        low, high = view.ngram_range
        return self._characters * (high - low + 1)

    def _build(self, view: View) -> Any:
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(
            analyzer=view.analyzer,
            ngram_range=view.ngram_range,
            lowercase=view.lowercase,
            token_pattern=view.token_pattern if view.analyzer == "word" else None,
            dtype=np.float64,
        )
        return vectorizer.fit_transform(self.texts).tocsr()

    def _evict(self, keep: tuple[Any, ...]) -> None:
        while len(self._views) > 1 and sum(m.nnz for m in self._views.values()) > self.max_entries:
            oldest = next(k for k in self._views if k != keep)
            del self._views[oldest]


def _key(view: View) -> tuple[Any, ...]:
    return (view.analyzer, view.ngram_range, view.lowercase, view.token_pattern)


def tfidf(counts: Any, fitted: np.ndarray, view: View, features: FeatureConfig) -> Any:
    """Return the TF-IDF of every row of ``counts`` as a vectorizer fitted on the ``fitted``
    rows (a boolean mask) would give it: their document frequencies choose the terms
    (``min_df``, ``max_df``, ``max_features``) and the idf; each row is L2-normalized over the
    terms kept. Columns outside the vocabulary stay, all zero.

    Raises
    ------
    ValueError
        If no term is kept (scikit-learn's message).
    """
    n = int(fitted.sum())
    size = int(counts.indptr[-1])  # a sliced matrix may hold spare room past its entries
    indices, data = counts.indices[:size], counts.data[:size]
    entry_rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    on_fitted = fitted[entry_rows]
    df = np.bincount(indices[on_fitted], minlength=counts.shape[1])
    keep = (df >= features.min_df) & (df <= features.max_df * n) & (df > 0)
    if features.max_features is not None and keep.sum() > features.max_features:
        totals = np.bincount(indices[on_fitted], weights=data[on_fitted], minlength=counts.shape[1])
        kept = np.flatnonzero(keep)
        keep[:] = False
        keep[kept[np.argsort(-totals[kept])[: features.max_features]]] = True
    if not keep.any():
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    values = data.copy()
    if view.sublinear_tf:
        values = np.log(values) + 1.0
    values *= np.where(keep, idf, 0.0)[indices]
    norms = np.sqrt(np.bincount(entry_rows, weights=values * values, minlength=counts.shape[0]))
    values /= np.where(norms > 0, norms, 1.0)[entry_rows]
    matrix = sparse.csr_matrix((values, indices.copy(), counts.indptr.copy()), shape=counts.shape)
    matrix.eliminate_zeros()
    return matrix
