"""Training a model bundle from labeled paragraphs."""

from __future__ import annotations

import logging
import platform
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from topictag._version import __version__
from topictag.data.corpus import MAX_LINE_BYTES, Record, group_keys, read_corpus_hashed
from topictag.data.files import file_sha256
from topictag.errors import DataError
from topictag.evaluate.metrics import compute_metrics, indicator_matrix, summarize_folds
from topictag.evaluate.predictions import intervals_of, metrics_of, predict_records
from topictag.model.bundle import ModelData
from topictag.model.decision import MULTI_LABEL, SINGLE_LABEL, calibrated_probabilities
from topictag.model.inference import Model
from topictag.progress import Progress, report
from topictag.train.engines import Engine, LocalEngine
from topictag.train.recipe import TrainConfig

log = logging.getLogger("topictag")
DRIFT_HELD_OUT = 100  # test rows enough to be the drift reference (else the training rows)


@dataclass
class TrainResult:
    """A trained model with what was measured while training it."""

    data: ModelData
    config: TrainConfig  # the recipe trained (the search's winner with tuning)
    pipeline: Any  # the fitted scikit-learn pipeline the bundle was extracted from
    test_metrics: dict[str, Any] | None
    cv: dict[str, Any] | None


def split_rows(records: Sequence[Record]) -> tuple[list[Record], list[Record]]:
    """Return (training rows, test rows): rows marked ``"test"`` are held out, the rest train."""
    train = [r for r in records if r.split != "test"]
    test = [r for r in records if r.split == "test"]
    return train, test


def restrict_labels(records: Sequence[Record], keep: Sequence[str]) -> list[Record]:
    """Return the records with their labels restricted to ``keep`` (rows are kept)."""
    allowed = set(keep)
    return [
        r if r.labels is None else replace(r, labels=tuple(x for x in r.labels if x in allowed))
        for r in records
    ]


def train_model(
    paths: Sequence[str | Path],
    config: TrainConfig,
    *,
    labels: Sequence[str] | None = None,
    cv: int | None = None,
    n_jobs: int = 1,
    tune_budget: float | None = None,
    tune_trials: int | None = None,
    search_space: dict[str, dict[str, list[Any]]] | None = None,
    progress: Progress | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
    engine: Engine | None = None,
) -> TrainResult:
    """Train on the ``train`` rows of the data, evaluate on its ``test`` rows when present.

    Parameters
    ----------
    paths : sequence of paths
        JSON Lines corpus files.
    config : TrainConfig
        The recipe.
    labels : sequence of str, optional
        Restrict training and evaluation to these labels.
    cv : int, optional
        Also report grouped ``cv``-fold cross-validation scores on the training rows.
    n_jobs : int
        Worker processes for fitting labels in parallel.
    tune_budget, tune_trials : float or int, optional
        Search for a better recipe first (see :mod:`topictag.train.tuning`), within this many
        seconds for the whole call, or for this many trials (deterministic).
    search_space : dict, optional
        Values the search may try [default: :data:`topictag.train.tuning.SEARCH_SPACE`].
    progress : callable, optional
        Receives :class:`~topictag.progress.Step` values: ``"tuning"`` trials, ``"fitting"``
        the final model, ``"cross-validation"`` folds.
    max_line_bytes : int
        The longest corpus line accepted, in bytes.
    engine : Engine, optional
        Where reading, featurizing, the fits and the trials run [default:
        ``LocalEngine(n_jobs)``, this process]; see :mod:`topictag.train.engines`.

    Raises
    ------
    DataError
        If scikit-learn refuses a value of the recipe (before anything is read), the data cannot
        be read, a training row has no ``labels``, fewer than two labels have training
        examples, or the recipe cannot be fitted on the data.
    """
    from topictag.train.bridge import check_recipe

    started = time.perf_counter()
    check_recipe(config, source="recipe", space=search_space)
    engine = engine or LocalEngine(n_jobs)
    if isinstance(engine, LocalEngine):  # one pass: the hash of what was read (stdin, FIFOs)
        records, hashes, digest = read_corpus_hashed(paths, max_line_bytes=max_line_bytes)
    else:  # the engine reads the files where it runs; they are regular files there
        records = engine.read(paths)
        hashes, digest = [file_sha256([p]) for p in paths], file_sha256(paths)
    if labels is not None:
        records = restrict_labels(records, labels)
    train, test = split_rows(records)
    unlabeled = next((r for r in train if r.labels is None), None)
    if unlabeled is not None:
        raise DataError(
            f"paragraph {unlabeled.id!r} has no 'labels' field; training needs labeled rows "
            "('labels': [] marks a paragraph with no topic)"
        )
    model_labels = sorted({label for r in train for label in r.labels or ()})
    if len(model_labels) < 2:
        raise DataError(
            f"training data has {len(model_labels)} distinct label(s); a model needs at least two"
        )
    mode = SINGLE_LABEL if all(len(r.labels or ()) == 1 for r in train) else MULTI_LABEL
    at_least_one = config.decision.at_least_one
    if at_least_one is None:
        at_least_one = all(r.labels for r in train)
    log.info(
        "training on %d paragraphs (%d labels, %s), holding out %d",
        len(train),
        len(model_labels),
        mode,
        len(test),
    )
    tuning = None
    if tune_budget is not None or tune_trials is not None:
        left = None if tune_budget is None else tune_budget - (time.perf_counter() - started)
        local = {"progress": progress} if isinstance(engine, LocalEngine) else {}
        config, trials = engine.tune(
            [r.text for r in train],
            indicator_matrix([r.labels or () for r in train], model_labels),
            group_keys(train),
            config,
            mode=mode,
            at_least_one=at_least_one,
            budget=left,
            trials=tune_trials,
            space=search_space,
            evaluate_rows=len(test),
            **local,
        )
        tuning = {
            "budget_seconds": tune_budget,
            "trials": [t.to_json() for t in trials],
            "best": next(t.number for t in trials if t.chosen),
        }
    report(progress, "fitting", 0, 1)
    pipeline = _fit(engine, train, model_labels, config, mode=mode, at_least_one=at_least_one)
    log.info("fitted in %.1f s", time.perf_counter() - started)
    report(progress, "fitting", 1, 1, logged=True)

    cv_summary = None
    if cv:
        cv_summary = cross_validate(
            train,
            model_labels,
            config,
            folds=cv,
            mode=mode,
            at_least_one=at_least_one,
            n_jobs=n_jobs,
            progress=progress,
            engine=engine,
        )
    from topictag.train.bridge import data_from_pipeline

    manifest = _manifest(paths, (hashes, digest), config, train, test, model_labels, labels)
    if engine.describe() is not None:
        manifest["engine"] = engine.describe()
    if tuning is not None:
        manifest["tuning"] = tuning
    data = data_from_pipeline(pipeline, model_labels, config, manifest)
    manifest["drift"] = drift_reference(data, pipeline, train, test)
    test_metrics = intervals = None
    if test:
        served = Model(data)
        predictions = predict_records(served, test)
        test_metrics, intervals = metrics_of(served, predictions), intervals_of(predictions)
    manifest["metrics"] = {"test": test_metrics, "test_intervals": intervals, "cv": cv_summary}
    log.info("done in %.1f s", time.perf_counter() - started)
    return TrainResult(
        data=data, config=config, pipeline=pipeline, test_metrics=test_metrics, cv=cv_summary
    )


def drift_reference(
    data: ModelData, pipeline: Any, train: Sequence[Record], test: Sequence[Record]
) -> dict[str, Any]:
    """Return the training-time statistics that ``topictag drift`` compares new text with.

    With at least :data:`DRIFT_HELD_OUT` test rows, they are the final model's view of those
    held-out rows: unseen in-domain text. Otherwise the training rows: confidence and label
    rates from the out-of-fold probabilities that calibrated the model, and an n-gram counts
    as known only when another training article has it too (see :mod:`topictag.model.drift`).
    """
    from topictag.model.drift import reference_statistics

    counts = Counter(label for r in train for label in r.labels or ())
    rates = {label: counts[label] / max(len(train), 1) for label in data.labels}
    served = Model(data)
    if len(test) >= DRIFT_HELD_OUT:
        return reference_statistics(
            served, [r.text for r in test], training_rates=rates, source="held-out test rows"
        )
    oof = getattr(pipeline.named_steps["classifier"], "oof_scores_", None)
    proba = (
        None
        if oof is None
        else calibrated_probabilities(oof, data.calibration, single_label=data.mode == SINGLE_LABEL)
    )
    return reference_statistics(
        served,
        [r.text for r in train],
        groups=group_keys(train),
        proba=proba,
        training_rates=rates,
        source="training rows, out of fold",
    )


def cross_validate(
    train: Sequence[Record],
    labels: Sequence[str],
    config: TrainConfig,
    *,
    folds: int,
    mode: str,
    at_least_one: bool,
    n_jobs: int = 1,
    progress: Progress | None = None,
    engine: Engine | None = None,
) -> dict[str, Any]:
    """Return grouped K-fold cross-validation scores of the whole recipe on ``train``.

    Each fold trains the full pipeline (features, calibration, thresholds) on the other folds,
    with ``engine`` [default: ``LocalEngine(n_jobs)``]. ``progress`` receives a
    ``"cross-validation"`` step as each fold starts, and at the end.
    """
    from sklearn.model_selection import GroupKFold

    engine = engine or LocalEngine(n_jobs)
    groups = np.asarray(group_keys(train))
    if folds < 2 or len(np.unique(groups)) < folds:
        raise DataError(f"--cv {folds}: need at least {max(folds, 2)} groups of training rows")
    splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    results = []
    for k, (fit_rows, held_rows) in enumerate(splitter.split(train, groups=groups), start=1):
        log.info("cross-validation fold %d/%d", k, folds)
        report(progress, "cross-validation", k - 1, folds, note=f"fold {k}", logged=True)
        fold_train = [train[i] for i in fit_rows]
        fold_test = [train[i] for i in held_rows]
        pipeline = _fit(engine, fold_train, labels, config, mode=mode, at_least_one=at_least_one)
        predicted = pipeline.predict([r.text for r in fold_test])
        gold = [r.labels or () for r in fold_test]
        results.append(compute_metrics(gold, predicted, labels, mode=mode))
    report(progress, "cross-validation", folds, folds, logged=True)
    return summarize_folds(results)


def _fit(
    engine: Engine,
    train: Sequence[Record],
    labels: Sequence[str],
    config: TrainConfig,
    *,
    mode: str,
    at_least_one: bool,
) -> Any:
    try:
        return engine.fit(train, labels, config, mode=mode, at_least_one=at_least_one)
    except ValueError as error:  # the recipe's values are valid, but not for this data
        raise DataError(f"cannot train the recipe on this data: {error}") from None


def _manifest(
    paths: Sequence[str | Path],
    hashes: tuple[list[str], str],  # each file's SHA-256, and all of theirs together
    config: TrainConfig,
    train: Sequence[Record],
    test: Sequence[Record],
    labels: Sequence[str],
    restricted_to: Sequence[str] | None,
) -> dict[str, Any]:
    counts = Counter(label for r in train for label in r.labels or ())
    return training_manifest(
        paths,
        config,
        train_rows=len(train),
        test_rows=len(test),
        label_counts={label: counts[label] for label in labels},
        restricted=restricted_to is not None,
        hashes=hashes,
    )


def training_manifest(
    paths: Sequence[str | Path],
    config: TrainConfig,
    *,
    train_rows: int,
    test_rows: int,
    label_counts: dict[str, int],
    restricted: bool,
    hashes: tuple[list[str], str] | None = None,
) -> dict[str, Any]:
    """Return the manifest's provenance: data hashes and counts, the recipe, the versions.

    ``hashes`` are each file's SHA-256 and all of theirs together, when the caller took them as
    it read (stdin, FIFOs); otherwise the files are hashed here.
    """
    import scipy
    import sklearn

    if hashes is None:
        hashes = [file_sha256([p]) for p in paths], file_sha256(paths)
    return {
        "topictag_version": __version__,
        "training_data": {
            "files": [
                {"name": Path(p).name, "sha256": h} for p, h in zip(paths, hashes[0], strict=True)
            ],
            "sha256": hashes[1],
            "train_rows": train_rows,
            "test_rows": test_rows,
            "label_counts": label_counts,
            "labels_restricted": restricted,
        },
        "config": config.to_dict(),
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "scikit-learn": sklearn.__version__,
        },
    }
