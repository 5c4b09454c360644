"""Streaming training: out-of-core, for corpora larger than memory, with flat memory.

``topictag train --streaming`` reads the corpus files in blocks (a gzipped file is one block)
and each block in chunks of ``chunk_rows`` rows, in these passes:

1. **survey**: label counts, the test split, each term's document frequency and count
   (scikit-learn's analyzer; ``min_df``, ``max_df`` and ``max_features`` are applied to the
   totals as ``TfidfVectorizer`` would), each row's place in [0, 1) (below), and each chunk's
   term counts, cached on disk;
2. **fit**, ``passes`` times: per label, two ``SGDClassifier`` learn incrementally with
   ``partial_fit`` on each chunk, their seeds derived from (seed, label, model, pass, block,
   chunk): the *calibration model* on the rows outside the held-out share, the *final model* on
   every row. The first pass turns the cached counts into tf-idf chunks, also cached, which the
   later passes read back;
3. **calibrate**: the held-out rows (at most ``max_calibration``) are scored by the calibration
   model, which never saw them; per label, a sigmoid and a threshold are fitted on those scores
   (:func:`topictag.train.estimator.calibrate`) and go with the final model.

A row is held out when its place, a hash of its letters (lowercased; spacing, punctuation and
digits aside) and the seed, is below ``held_out_share``: a group is a paragraph and its
near-identical repeats, so a repeat is never on both sides and the calibration scores stay
out-of-sample on corpora that repeat paragraphs, however often. (The in-memory engine's folds
keep an article's paragraphs together; here paragraphs of one article may fall on both sides,
which a corpus that repeats wire copy in many articles needs.) For the same reason ``alpha`` is
``1 / (C * distinct paragraphs)``: repeats add no information, so they do not weaken the
regularization. The same files and seed give the same bytes.

With a Dask client the passes are tasks: the survey and calibration per block, and each fit
pass as one task per shard (blocks dealt round-robin to a fixed number of shards). After each
fit pass the shards' coefficients are averaged, weighted by their rows, in shard order
(parameter averaging): the result depends on the number of shards (recorded in the manifest),
never on timing or on which worker ran what. An interrupted run starts over (no pass is kept).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import SGDClassifier

from topictag.data.corpus import Record
from topictag.errors import DataError, TopictagError
from topictag.train.recipe import TrainConfig, streamable
from topictag.train.stream_cache import Plan, blob, count_terms, featurized, save_arrays
from topictag.train.stream_reading import Block, iter_chunks

LOSSES = {"linear-svc": "squared_hinge", "logistic": "log_loss", "sgd": "modified_huber"}
#: How each recipe key streams; a key missing here cannot stream (refused unless at its default).
STREAMS_AS = {
    "features": "as is: the survey pass counts the vocabulary and document frequencies",
    "model.classifier": "the incremental counterpart: SGDClassifier with the loss in LOSSES",
    "model.C": "alpha = 1 / (C * distinct paragraphs fitted)",
    "model.class_weight": "balanced: weights from the survey's label counts",
    "model.max_iter": "not used: the passes over the data take its place",
    "decision.cv_folds": "not used: a held-out share of paragraphs calibrates",
    "decision.min_positives": "as is",
    "decision.default_threshold": "as is",
    "decision.threshold_shrinkage": "as is",
    "decision.at_least_one": "as is",
    "seed": "as is",
}
ETA0 = 0.3  # the constant step: tf-idf rows have norm 1 (the "optimal" schedule scored lower)
LEARNING_RATE = "constant"
_NOT_LETTERS = bytes(b for b in range(128) if not chr(b).isalpha())  # ASCII non-letters


@dataclass(frozen=True)
class StreamingOptions:
    """How a streaming run reads and fits."""

    passes: int = 5  # fit passes over the data
    chunk_rows: int = 10_000  # rows featurized and fitted at once: bounds the memory
    held_out_share: float = 0.2  # paragraphs (repeats together) the calibration model never sees
    max_calibration: int = 40_000  # held-out rows scored for calibration, at most
    block_bytes: int = 64 << 20  # a task's share of a plain file
    cache: str | None = None  # folder for the featurized chunks [default: a temporary one]
    # Dask: fit tasks per pass [default: the cluster's workers when the run starts]. The model
    # depends on it (parameter averaging), so fix it to get the same model on any cluster.
    shards: int | None = None


@dataclass
class Survey:
    """What the first pass learns from one block."""

    train_rows: int = 0
    label_counts: Counter = field(default_factory=Counter)
    counts: list[tuple[Counter, Counter]] = field(default_factory=list)  # per view: df, tf
    test: list[Record] = field(default_factory=list)
    single_label: bool = True
    all_labeled: bool = True
    places: Any = None  # float64 array: each training row's place in [0, 1), in order
    distinct: Any = None  # the distinct places (near-identical repeats once), sorted


def check_streamable(config: TrainConfig) -> None:
    """Refuse, in one line, a recipe key set away from its default that cannot stream.

    Keys only in-memory training has (:data:`topictag.train.recipe.IN_MEMORY_ONLY`: NB
    weights, averaging) are refused with the reason :func:`~topictag.train.recipe.streamable`
    gives.
    """
    reason = streamable(config)
    if reason is not None:
        raise TopictagError(reason)
    defaults = TrainConfig().to_dict()
    for section, values in config.to_dict().items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            known = section in STREAMS_AS or f"{section}.{key}" in STREAMS_AS
            if not known and value != defaults[section][key]:
                raise TopictagError(
                    f"[{section}] {key} cannot stream; remove it or train in memory"
                )
    if config.model.classifier not in LOSSES:
        raise TopictagError(f"[model] classifier {config.model.classifier!r} cannot stream")


def place_of(text: str, seed: int) -> float:
    """A paragraph's place in [0, 1) by its letters: held out when below the held-out share.

    Near-identical paragraphs (the same letters, lowercased: spacing, punctuation and digits
    aside) get the same place.
    """
    letters = text.lower().encode("utf-8").translate(None, _NOT_LETTERS)
    digest = hashlib.blake2b(letters, digest_size=8, salt=seed.to_bytes(8, "big", signed=True))
    return int.from_bytes(digest.digest(), "big") / 2.0**64


def chunk_seed(seed: int, label: int, model: int, epoch: int, block: int, chunk: int) -> int:
    """The seed of one label's model (0: calibration, 1: final) on one chunk in one pass."""
    key = f"{seed}:{label}:{model}:{epoch}:{block}:{chunk}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big")


def survey_block(
    block: Block,
    *,
    vectorizers: list[Any],
    keep: set[str] | None,
    seed: int,
    chunk_rows: int,
    cache: str,
) -> Survey:
    """The first pass over one block (see :class:`Survey`).

    Each chunk's term counts (per view, in the chunk's own vocabulary) and labels go to the
    cache, so that the first fit pass builds its tf-idf rows without analyzing the text again.
    """
    survey = Survey(counts=[(Counter(), Counter()) for _ in vectorizers])
    analyzers = [v.build_analyzer() for v in vectorizers]
    places: list[float] = []
    folder = Path(cache)
    folder.mkdir(parents=True, exist_ok=True)
    for c, chunk in enumerate(iter_chunks(block, chunk_rows, keep, tests=survey.test)):
        for record in chunk:
            if record.labels is None:
                raise DataError(
                    f"paragraph {record.id!r} has no 'labels' field; training needs labeled "
                    "rows ('labels': [] marks a paragraph with no topic)"
                )
            survey.label_counts.update(record.labels)
            survey.single_label &= len(record.labels) == 1
            survey.all_labeled &= bool(record.labels)
            places.append(place_of(record.text, seed))
        survey.train_rows += len(chunk)
        texts = [r.text for r in chunk]
        arrays: dict[str, np.ndarray] = {"labels": blob(json.dumps([r.labels for r in chunk]))}
        for v, (analyze, (df, tf)) in enumerate(zip(analyzers, survey.counts, strict=True)):
            counts, terms = count_terms(texts, analyze)
            df.update(
                dict(
                    zip(
                        terms,
                        np.bincount(counts.indices, minlength=len(terms)).tolist(),
                        strict=True,
                    )
                )
            )
            tf.update(
                dict(zip(terms, np.asarray(counts.sum(axis=0)).ravel().tolist(), strict=True))
            )
            arrays |= {f"data_{v}": counts.data, f"indices_{v}": counts.indices}
            arrays |= {f"indptr_{v}": counts.indptr, f"terms_{v}": blob("\n".join(terms))}
        save_arrays(folder / f"block-{block.index}-{c}.counts.npz", arrays)
    survey.places = np.array(places, dtype=np.float64)
    survey.distinct = np.unique(survey.places)
    return survey


def fit_shard(
    items: list[tuple[Block, np.ndarray]],
    *,
    models: list[list[SGDClassifier]],
    epoch: int,
    plan: Plan,
) -> tuple[list[list[SGDClassifier]], int]:
    """One fit pass over a shard's blocks; returns the models and the rows seen.

    ``models[0][j]`` is label j's calibration model, fitted on the rows outside the held-out
    share; ``models[1][j]`` the final model, fitted on every row. They are copied first: on
    Dask, shards that run on one worker receive the same scattered object, and fitting it in
    place would start the second shard from the first one's result.
    """
    models = copy.deepcopy(models)
    rows = 0
    classes = np.array([0, 1])
    for block, places in items:
        for c, X, Y, part in featurized(block, places, plan):
            outside = np.flatnonzero(part >= plan.share)
            for m, label_models in enumerate(models):
                Xm, Ym = (X[outside], Y[outside]) if m == 0 else (X, Y)
                if not Xm.shape[0]:
                    continue
                for j, model in enumerate(label_models):
                    model.random_state = chunk_seed(plan.seed, j, m, epoch, block.index, c)
                    model.partial_fit(Xm, Ym[:, j], classes=classes)
            rows += X.shape[0]
    return models, rows


def score_block(
    item: tuple[Block, np.ndarray], *, coef: np.ndarray, intercept: np.ndarray, plan: Plan
) -> tuple[np.ndarray, np.ndarray]:
    """The calibration model's scores and the label matrix of a block's held-out sample."""
    block, places = item
    scores, gold = [], []
    for c, X, Y, part in featurized(block, places, plan):
        rows = np.flatnonzero(part < plan.share)
        if plan.sample < 1.0:  # thin the rows, not the paragraphs: every held-out one counts
            draw = np.random.default_rng([plan.seed, block.index, c]).random(len(rows))
            rows = rows[draw < plan.sample]
        if len(rows):
            scores.append(np.asarray(X[rows] @ coef.T) + intercept)
            gold.append(Y[rows])
    n = len(plan.labels)
    if not scores:
        return np.zeros((0, n)), np.zeros((0, n), dtype=np.int8)
    return np.vstack(scores), np.vstack(gold)


def average_models(
    shards: list[tuple[list[list[SGDClassifier]], int]],
) -> list[list[SGDClassifier]]:
    """Average every model's coefficients over the shards, weighted by rows, in shard order."""
    if len(shards) == 1:
        return shards[0][0]
    weights = np.array([rows for _, rows in shards], dtype=np.float64)
    total = weights.sum() or 1.0
    averaged = []
    for f, label_models in enumerate(shards[0][0]):
        merged_fold = []
        for j, model in enumerate(label_models):
            merged = copy.deepcopy(model)
            for name, value in vars(model).items():
                if isinstance(value, np.ndarray) and ("coef" in name or "intercept" in name):
                    parts = [
                        vars(models[f][j])[name] * w
                        for (models, _), w in zip(shards, weights, strict=True)
                    ]
                    setattr(merged, name, np.sum(parts, axis=0) / total)
            merged_fold.append(merged)
        averaged.append(merged_fold)
    return averaged


def new_models(
    config: TrainConfig, rows: int, survey: Survey, labels: list[str]
) -> list[SGDClassifier]:
    """One SGDClassifier per label, with the recipe's model mapped to its incremental form."""
    model = config.model
    alpha = 1.0 / (model.C * max(rows, 1))
    models = []
    for label in labels:
        weight = None
        if model.class_weight == "balanced":
            positives = max(survey.label_counts[label], 1)
            negatives = max(survey.train_rows - positives, 1)
            weight = {
                0: survey.train_rows / (2.0 * negatives),
                1: survey.train_rows / (2.0 * positives),
            }
        models.append(
            SGDClassifier(
                loss=LOSSES[model.classifier],
                alpha=alpha,
                class_weight=weight,
                learning_rate=LEARNING_RATE,
                eta0=ETA0,
                random_state=config.seed,
            )
        )
    return models
