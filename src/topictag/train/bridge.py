"""Converting between fitted scikit-learn pipelines and bundle arrays (imports scikit-learn)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from topictag.errors import DataError
from topictag.model.bundle import Abstain, ModelData
from topictag.model.inference import Model
from topictag.train.estimator import TopicClassifier
from topictag.train.features import build_vectorizer, fitted_vectorizers, views_from_config
from topictag.train.linear import binary_model
from topictag.train.recipe import TrainConfig


def build_pipeline(config: TrainConfig, *, mode: str, at_least_one: bool, n_jobs: int = 1) -> Any:
    """Return the unfitted scikit-learn pipeline of a recipe: features, then the classifier."""
    model, decision = config.model, config.decision
    classifier = TopicClassifier(
        classifier=model.classifier,
        C=model.C,
        class_weight=model.class_weight,
        max_iter=model.max_iter,
        nb_weights=model.nb_weights,
        average_with=model.average_with,
        mode=mode,
        cv_folds=decision.cv_folds,
        min_positives=decision.min_positives,
        default_threshold=decision.default_threshold,
        threshold_shrinkage=decision.threshold_shrinkage,
        at_least_one=at_least_one,
        abstain=decision.abstain,
        n_jobs=n_jobs,
        random_state=config.seed,
    )
    return Pipeline([("features", build_vectorizer(config.features)), ("classifier", classifier)])


def data_from_pipeline(
    pipeline: Any, labels: list[str], config: TrainConfig, manifest: dict[str, Any]
) -> ModelData:
    """Extract the arrays of a fitted pipeline into a :class:`ModelData`."""
    classifier: TopicClassifier = pipeline.named_steps["classifier"]
    vocabularies, idfs = [], []
    for vectorizer in fitted_vectorizers(pipeline.named_steps["features"]):
        vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
        vocabularies.append(vocab)
        idfs.append(np.asarray(vectorizer.idf_, dtype=np.float64))
    return ModelData(
        labels=list(labels),
        mode=classifier.mode_,
        views=views_from_config(config.features),
        vocabularies=vocabularies,
        idfs=idfs,
        coef=np.ascontiguousarray(classifier.coef_.T, dtype=np.float64),
        intercept=classifier.intercept_.astype(np.float64),
        calibration=classifier.calibration_.astype(np.float64),
        thresholds=classifier.thresholds_.astype(np.float64),
        at_least_one=bool(classifier.at_least_one),
        manifest=manifest,
        abstain=_abstain_of(classifier),
    )


def _abstain_of(classifier: TopicClassifier) -> Abstain | None:
    threshold = getattr(classifier, "abstain_threshold_", None)
    if threshold is None:
        return None
    return Abstain(
        coef=np.asarray(classifier.abstain_coef_, dtype=np.float64),
        intercept=float(classifier.abstain_intercept_),
        calibration=np.asarray(classifier.abstain_calibration_, dtype=np.float64),
        threshold=float(threshold),
    )


def pipeline_from_data(data: ModelData) -> Any:
    """Rebuild the fitted scikit-learn pipeline that a bundle was extracted from."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizers = []
    for view, vocab, idf in zip(data.views, data.vocabularies, data.idfs, strict=True):
        vectorizer = TfidfVectorizer(
            analyzer=view.analyzer,
            ngram_range=view.ngram_range,
            lowercase=view.lowercase,
            token_pattern=view.token_pattern if view.analyzer == "word" else None,
            sublinear_tf=view.sublinear_tf,
            vocabulary={term: i for i, term in enumerate(vocab)},
            dtype=np.float64,
        )
        vectorizer.idf_ = np.asarray(idf, dtype=np.float64)
        vectorizers.append(vectorizer)
    features = (
        vectorizers[0]
        if len(vectorizers) == 1
        else FeatureUnion([(v.analyzer, v) for v in vectorizers])
    )
    classifier = TopicClassifier(
        mode=data.mode, at_least_one=data.at_least_one, abstain=data.abstain is not None
    )
    classifier.coef_ = np.ascontiguousarray(np.asarray(data.coef, dtype=np.float64).T)
    classifier.intercept_ = np.asarray(data.intercept, dtype=np.float64)
    classifier.calibration_ = np.asarray(data.calibration, dtype=np.float64)
    classifier.thresholds_ = np.asarray(data.thresholds, dtype=np.float64)
    classifier.n_features_in_ = classifier.coef_.shape[1]
    classifier.classes_ = np.asarray(data.labels)
    classifier.indicator_ = True
    classifier.mode_ = data.mode
    classifier.n_iter_ = np.zeros(len(data.labels), dtype=np.int64)  # not recorded in bundles
    classifier.abstain_threshold_ = None
    if data.abstain is not None:
        classifier.abstain_coef_ = np.asarray(data.abstain.coef, dtype=np.float64)
        classifier.abstain_intercept_ = data.abstain.intercept
        classifier.abstain_calibration_ = np.asarray(data.abstain.calibration, dtype=np.float64)
        classifier.abstain_threshold_ = data.abstain.threshold
    return Pipeline([("features", features), ("classifier", classifier)])


def to_sklearn(model: Model | ModelData) -> Any:
    """Return a fitted scikit-learn ``Pipeline`` equivalent to a loaded model.

    The pipeline's ``predict`` gives the same labels as ``model.predict`` and its
    ``predict_proba`` the same probabilities (within 1e-6): a ``TfidfVectorizer`` (or a
    ``FeatureUnion`` of one per view) and the fitted
    :class:`~topictag.train.estimator.TopicClassifier`, which can be cloned, cross-validated
    and grid-searched like any scikit-learn estimator.

    Examples
    --------
    >>> import topictag
    >>> pipeline = topictag.to_sklearn(topictag.load_model("news-topics"))  # doctest: +SKIP
    """
    return pipeline_from_data(model.data if isinstance(model, Model) else model)


# Which recipe key each scikit-learn parameter comes from, by estimator.
_RECIPE_KEYS = {
    "word": {"ngram_range": "[features] ngram_range"},
    "char_wb": {"ngram_range": "[features] char_ngram_range"},
    "model": {},
    "classifier": {
        key: f"[decision] {key}"
        for key in (
            "cv_folds",
            "min_positives",
            "default_threshold",
            "threshold_shrinkage",
            "at_least_one",
            "abstain",
        )
    },
}
_SKLEARN_MESSAGE = re.compile(
    r"The '(?P<param>\w+)' parameter of (?P<owner>\w+) (?P<rule>must be .*)\. "
    r"Got (?P<got>.*) instead\.$",
    re.S,
)


def check_recipe(
    config: TrainConfig,
    *,
    source: str,
    space: dict[str, dict[str, list[Any]]] | None = None,
) -> None:
    """Let scikit-learn validate every value of a recipe (and of its search space), before use.

    The estimators are built exactly as training builds them (:func:`build_pipeline`) and
    each one checks its own parameters; nothing is fitted.

    Parameters
    ----------
    config : TrainConfig
        The recipe, already type-checked by :func:`~topictag.train.recipe.load_config`.
    source : str
        The recipe file, named in errors.
    space : dict, optional
        A search space (``--tune``): each value is checked applied alone to ``config``.

    Raises
    ------
    DataError
        ``<source>: [section] key: <what scikit-learn expects>, got <value>``, for the first
        value scikit-learn refuses.
    """
    _check_values(config, where=source)
    for section, keys in (space or {}).items():
        for key, values in keys.items():
            for value in values:
                changed = dataclasses.replace(getattr(config, section), **{key: value})
                _check_values(
                    dataclasses.replace(config, **{section: changed}),
                    where=f"{source}: [search.{section}] {key} = {value!r}",
                )


def _check_values(config: TrainConfig, *, where: str) -> None:
    from sklearn.model_selection import GroupKFold
    from sklearn.utils._param_validation import InvalidParameterError

    if "sgd" in (config.model.classifier, config.model.average_with) and not config.model.C > 0:
        raise DataError(  # SGD's alpha = 1 / (C * n_samples) must be in [0, inf)
            f"{where}: [model] C: must be above 0 (scikit-learn's SGDClassifier gets alpha = "
            f"1 / (C * n_samples)), got {config.model.C!r}"
        )
    pipeline = build_pipeline(config, mode="multi-label", at_least_one=False)
    estimators: list[tuple[str, Any]] = [
        (vectorizer.analyzer, vectorizer)
        for vectorizer in fitted_vectorizers(pipeline.named_steps["features"])
    ]
    model = config.model
    for name in filter(None, (model.classifier, model.average_with)):
        estimator = binary_model(
            name, C=model.C, class_weight=model.class_weight, max_iter=model.max_iter,
            n_samples=1, seed=config.seed,
        )  # fmt: skip
        estimators.append(("model", estimator))
    for kind, estimator in estimators:
        try:
            estimator._validate_params()
            if kind != "model":
                estimator._validate_ngram_range()
        except InvalidParameterError as error:
            raise DataError(f"{where}: {_explain(error, kind)}") from None
        except ValueError as error:  # lower n-gram bound above the upper one
            key = _RECIPE_KEYS[kind].get("ngram_range", "[features]")
            raise DataError(f"{where}: {key}: {error}") from None
    try:
        GroupKFold(n_splits=config.decision.cv_folds)
    except ValueError as error:
        raise DataError(f"{where}: [decision] cv_folds: {error}") from None
    try:  # last: what the models above do not check (a search's classifier or average_with)
        pipeline.named_steps["classifier"]._validate_params()
    except InvalidParameterError as error:
        raise DataError(f"{where}: {_explain(error, 'classifier')}") from None


def _explain(error: Exception, kind: str) -> str:
    """Turn scikit-learn's InvalidParameterError into ``[section] key: rule, got value``."""
    match = _SKLEARN_MESSAGE.match(str(error))
    if match is None:
        return str(error)
    param = match["param"]
    section = "[model]" if kind in ("model", "classifier") else "[features]"
    key = _RECIPE_KEYS[kind].get(param, f"{section} {param}")
    return f"{key}: {match['rule']}, got {match['got']} (scikit-learn's {match['owner']})"
