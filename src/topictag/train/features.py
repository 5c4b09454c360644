"""The scikit-learn feature extractors of a recipe: one ``TfidfVectorizer`` per view."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion

from topictag.model.features import View
from topictag.train.recipe import FeatureConfig


def views_from_config(config: FeatureConfig) -> list[View]:
    """Return the feature views a recipe asks for: words, plus characters when configured."""
    lower, sublinear = config.lowercase, config.sublinear_tf
    views = [View("word", config.ngram_range, lower, config.token_pattern, sublinear_tf=sublinear)]
    if config.char_ngram_range is not None:
        views.append(View("char_wb", config.char_ngram_range, lower, sublinear_tf=sublinear))
    return views


def build_vectorizer(config: FeatureConfig) -> Any:
    """Return the unfitted scikit-learn feature extractor for a recipe.

    A ``TfidfVectorizer`` over word n-grams, or a ``FeatureUnion`` of word and character views
    (each block L2-normalized on its own).
    """
    vectorizers = [view_vectorizer(view, config) for view in views_from_config(config)]
    if len(vectorizers) == 1:
        return vectorizers[0]
    return FeatureUnion([(v.analyzer, v) for v in vectorizers])


def view_vectorizer(view: View, config: FeatureConfig) -> Any:
    """Return the unfitted ``TfidfVectorizer`` of one view of a recipe.

    The search (:mod:`topictag.train.scoring`) fits views one at a time and stacks them, which
    gives what :func:`build_vectorizer`'s ``FeatureUnion`` gives.
    """
    return TfidfVectorizer(
        analyzer=view.analyzer,
        ngram_range=view.ngram_range,
        lowercase=view.lowercase,
        token_pattern=view.token_pattern if view.analyzer == "word" else None,
        sublinear_tf=view.sublinear_tf,
        min_df=config.min_df,
        max_df=config.max_df,
        max_features=config.max_features,
        dtype=np.float64,
    )


def fitted_vectorizers(features: Any) -> list[Any]:
    """Return the fitted ``TfidfVectorizer`` objects inside a feature extractor, in order."""
    if hasattr(features, "transformer_list"):
        return [vectorizer for _, vectorizer in features.transformer_list]
    return [features]


def fit_vocabulary(vectorizer: Any, counts: list[tuple[Counter, Counter]], n_docs: int) -> Any:
    """Set a ``TfidfVectorizer``'s vocabulary and idf from counts, as ``fit`` on the rows would.

    ``counts`` holds (document frequency, total count) Counters of parts of the ``n_docs``
    rows; they are added up, then ``min_df``, ``max_df`` and ``max_features`` are applied as
    scikit-learn does (alphabetical vocabulary, its tie-break), and the smoothed idf is set.
    The Dask and streaming engines count in parts; this gives the vectorizer ``fit`` would.

    Raises
    ------
    ValueError
        With scikit-learn's words, when the limits leave no term.
    """
    df_total: Counter[str] = Counter()
    tf_total: Counter[str] = Counter()
    for df, tf in counts:
        df_total.update(df)
        tf_total.update(tf)
    terms = sorted(df_total)
    dfs = np.array([df_total[t] for t in terms], dtype=np.int64)
    high = vectorizer.max_df if isinstance(vectorizer.max_df, int) else vectorizer.max_df * n_docs
    low = vectorizer.min_df if isinstance(vectorizer.min_df, int) else vectorizer.min_df * n_docs
    if high < low:
        raise ValueError("max_df corresponds to < documents than min_df")
    mask = (dfs <= high) & (dfs >= low)
    limit = vectorizer.max_features
    if limit is not None and mask.sum() > limit:
        tfs = np.array([tf_total[t] for t in terms], dtype=np.float64)
        order = (-tfs[mask]).argsort()[:limit]  # scikit-learn's own tie-break
        chosen = np.zeros(len(dfs), dtype=bool)
        chosen[np.where(mask)[0][order]] = True
        mask = chosen
    kept = [t for t, keep in zip(terms, mask, strict=True) if keep]
    if not kept:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    smoothed = dfs[mask].astype(np.float64) + 1.0  # as TfidfTransformer(smooth_idf=True)
    vectorizer.set_params(vocabulary={t: i for i, t in enumerate(kept)})
    vectorizer.idf_ = np.log((n_docs + 1) / smoothed) + 1.0  # also sets vocabulary_
    return vectorizer
