"""The scikit-learn feature extractors of a recipe: one ``TfidfVectorizer`` per view."""

from __future__ import annotations

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
