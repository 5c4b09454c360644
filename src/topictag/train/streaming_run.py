"""Running a streaming training: the passes of :mod:`topictag.train.streaming`, here or on Dask."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import FeatureUnion, Pipeline

from topictag.errors import DataError
from topictag.model.decision import MULTI_LABEL, SINGLE_LABEL
from topictag.model.inference import Model
from topictag.train.estimator import TopicClassifier, calibrate
from topictag.train.features import build_vectorizer, fit_vocabulary, fitted_vectorizers
from topictag.train.recipe import TrainConfig
from topictag.train.stream_cache import Plan
from topictag.train.stream_reading import plan
from topictag.train.streaming import (
    ETA0,
    LOSSES,
    StreamingOptions,
    Survey,
    average_models,
    check_streamable,
    fit_shard,
    new_models,
    score_block,
    survey_block,
)
from topictag.train.training import TrainResult, training_manifest

log = logging.getLogger("topictag")


class _Here:
    """Runs the tasks in this process, in order."""

    shards = 1

    def map(self, fn: Callable[..., Any], items: list[Any], **shared: Any) -> list[Any]:
        return [fn(item, **shared) for item in items]


class _OnDask:
    """Runs the tasks on a Dask cluster; what all tasks share is sent once to every worker."""

    def __init__(self, client: Any, shards: int | None):
        self.client = client
        if shards is None:  # the workers there now: a worker that joins late is not counted
            shards = len(client.scheduler_info()["workers"])
        self.shards = max(shards, 1)

    def map(self, fn: Callable[..., Any], items: list[Any], **shared: Any) -> list[Any]:
        sent = {
            k: self.client.scatter([v], broadcast=True, hash=False)[0] for k, v in shared.items()
        }
        futures = [self.client.submit(fn, item, pure=False, **sent) for item in items]
        return list(self.client.gather(futures))


def train_streaming(
    paths: Sequence[str | Path],
    config: TrainConfig,
    *,
    labels: Sequence[str] | None = None,
    options: StreamingOptions | None = None,
    client: Any = None,
) -> TrainResult:
    """Train out of core: memory bounded by the chunk size and the vocabulary, not the corpus.

    Parameters
    ----------
    paths : sequence of paths
        JSON Lines corpus files, plain or gzipped; rows marked ``"test"`` are evaluated.
    config : TrainConfig
        The recipe; its linear model is mapped to its incremental counterpart
        (:data:`topictag.train.streaming.LOSSES`).
    labels : sequence of str, optional
        Restrict training and evaluation to these labels.
    options : StreamingOptions, optional
    client : distributed.Client, optional
        Run the passes as Dask tasks, with one shard per worker (see the module docstring of
        :mod:`topictag.train.streaming`). The workers read the same paths.

    Raises
    ------
    TopictagError
        If a recipe key cannot stream.
    DataError
        As :func:`topictag.train.train_model`.
    """
    check_streamable(config)
    options = options or StreamingOptions()
    started = time.perf_counter()
    runner: _Here | _OnDask = _Here() if client is None else _OnDask(client, options.shards)
    blocks = plan(paths, options.block_bytes)
    vectorizers = fitted_vectorizers(build_vectorizer(config.features))
    cache = options.cache or tempfile.mkdtemp(prefix="topictag-stream-")
    try:
        return _train(paths, config, labels, options, runner, blocks, vectorizers, cache, started)
    finally:
        if options.cache is None:
            shutil.rmtree(cache, ignore_errors=True)


def _train(
    paths: Sequence[str | Path],
    config: TrainConfig,
    labels: Sequence[str] | None,
    options: StreamingOptions,
    runner: Any,
    blocks: list[Any],
    vectorizers: list[Any],
    cache: str,
    started: float,
) -> TrainResult:
    keep = set(labels) if labels is not None else None
    surveys: list[Survey] = runner.map(
        survey_block,
        blocks,
        vectorizers=vectorizers,
        keep=keep,
        seed=config.seed,
        chunk_rows=options.chunk_rows,
        cache=cache,
    )
    total = _merge(surveys, blocks)
    test = [record for survey in surveys for record in survey.test]
    model_labels = sorted(label for label, count in total.label_counts.items() if count)
    if len(model_labels) < 2:
        raise DataError(
            f"training data has {len(model_labels)} distinct label(s); a model needs at least two"
        )
    mode = SINGLE_LABEL if total.single_label else MULTI_LABEL
    at_least_one = config.decision.at_least_one
    if at_least_one is None:
        at_least_one = total.all_labeled
    fitted = [
        fit_vocabulary(v, [s.counts[k] for s in surveys], total.train_rows)
        for k, v in enumerate(vectorizers)
    ]
    features = fitted[0] if len(fitted) == 1 else FeatureUnion([(v.analyzer, v) for v in fitted])
    share = options.held_out_share
    held = sum(int(np.count_nonzero(s.places < share)) for s in surveys)
    if not held or held == total.train_rows:
        raise DataError(
            f"no paragraph of the {total.train_rows} training rows fell in the held-out share "
            f"({share:g}) or all did; streaming is for large corpora: train in memory"
        )
    places = np.unique(np.concatenate([s.distinct for s in surveys]))  # repeats counted once
    distinct, distinct_outside = len(places), int(np.count_nonzero(places >= share))
    sample = min(1.0, options.max_calibration / held)
    work = Plan(features, model_labels, keep, share, sample, config.seed, options.chunk_rows, cache)
    log.info(
        "streaming: %d training rows (%d distinct, %d held out), %d labels, %d features, "
        "%d shard(s)",
        total.train_rows,
        distinct,
        held,
        len(model_labels),
        sum(len(v.vocabulary_) for v in fitted),
        runner.shards,
    )
    models = [
        new_models(config, distinct_outside, total, model_labels),  # the calibration model
        new_models(config, distinct, total, model_labels),  # the final model
    ]
    items = [(b, s.places) for b, s in zip(blocks, surveys, strict=True)]
    shards = [items[s :: runner.shards] for s in range(runner.shards)]
    shards = [shard for shard in shards if shard]
    log.info("streaming: survey done (%.0f s)", _since(started))
    for epoch in range(options.passes):
        results = runner.map(fit_shard, shards, models=models, epoch=epoch, plan=work)
        models = average_models(results)
        log.info("streaming: pass %d/%d (%.0f s)", epoch + 1, options.passes, _since(started))
    (held_coef, held_intercept), (coef, intercept) = (_coef(m) for m in models)
    scored = runner.map(score_block, items, coef=held_coef, intercept=held_intercept, plan=work)
    oof = np.vstack([s for s, _ in scored])
    gold = np.vstack([y for _, y in scored])
    calibration, thresholds = calibrate(
        oof,
        gold,
        min_positives=config.decision.min_positives,
        default=config.decision.default_threshold,
        shrinkage=config.decision.threshold_shrinkage,
    )
    classifier = TopicClassifier(mode=mode, at_least_one=at_least_one)
    classifier.coef_, classifier.intercept_ = coef, intercept
    classifier.calibration_, classifier.thresholds_ = calibration, thresholds
    classifier.n_features_in_ = coef.shape[1]
    classifier.classes_ = np.arange(len(model_labels))
    classifier.indicator_ = True
    classifier.mode_ = mode
    classifier.n_iter_ = np.zeros(len(model_labels), dtype=np.int64)
    classifier.abstain_threshold_ = None  # streaming learns no no-topic head (see the card)
    pipeline = Pipeline([("features", features), ("classifier", classifier)])
    manifest = training_manifest(
        paths,
        config,
        train_rows=total.train_rows,
        test_rows=len(test),
        label_counts={label: total.label_counts[label] for label in model_labels},
        restricted=labels is not None,
    )
    manifest["engine"] = {
        "name": "streaming",
        "dask": {"shards": runner.shards} if isinstance(runner, _OnDask) else None,
        "classifier": f"SGDClassifier(loss={LOSSES[config.model.classifier]!r}, "
        f"learning_rate='constant', eta0={ETA0})",
        "mapped_from": config.model.classifier,
        "no_topic_head": "not learned when streaming (the recipe's abstain is not used)",
        "alpha": models[1][0].alpha,
        "alpha_rule": "1 / (C * distinct paragraphs fitted); near-identical repeats count once",
        "passes": options.passes,
        "chunk_rows": options.chunk_rows,
        "held_out": {
            "share": share,
            "rows": held,
            "calibration_rows": len(oof),
            "chosen_by": "hash of the paragraph's letters and the seed (repeats together)",
            "calibration_model": "the same SGD fitted on the other rows; the final model "
            "is fitted on every row",
        },
        "seeds": "blake2b(seed, label, model, pass, block, chunk)",
    }
    from topictag.train.bridge import data_from_pipeline

    data = data_from_pipeline(pipeline, model_labels, config, manifest)
    test_metrics = intervals = None
    if test:
        from topictag.evaluate.evaluation import intervals_of, metrics_of, predict_records

        served = Model(data)
        predictions = predict_records(served, test)
        test_metrics, intervals = metrics_of(served, predictions), intervals_of(predictions)
    manifest["metrics"] = {"test": test_metrics, "test_intervals": intervals, "cv": None}
    log.info("streaming: done in %.0f s", _since(started))
    return TrainResult(
        data=data, config=config, pipeline=pipeline, test_metrics=test_metrics, cv=None
    )


def _coef(models: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    coef = np.vstack([m.coef_[0] for m in models]).astype(np.float64)
    return coef, np.array([m.intercept_[0] for m in models], dtype=np.float64)


def _merge(surveys: list[Survey], blocks: list[Any]) -> Survey:
    """Add up the blocks' surveys (in block order); refuse a file that has no row."""
    total = Survey(counts=[])
    rows_by_path: Counter[str] = Counter()
    for survey, block in zip(surveys, blocks, strict=True):
        total.train_rows += survey.train_rows
        total.label_counts.update(survey.label_counts)
        total.single_label &= survey.single_label
        total.all_labeled &= survey.all_labeled
        rows_by_path[block.path] += survey.train_rows + len(survey.test)
    for block in blocks:
        if not rows_by_path[block.path]:
            raise DataError("file is empty (expected one JSON object per line)", source=block.path)
    return total


def _since(started: float) -> float:
    return time.perf_counter() - started
