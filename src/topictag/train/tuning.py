"""Searching for a better recipe on the training rows, within a time or trial budget.

``topictag train --tune`` searches :data:`SEARCH_SPACE` (or the recipe's own ``[search]``
table). The first trial is the recipe itself; then each value of the space is tried alone
(cheap knobs first, see :data:`FIRST_WAVE`); then random trials change one to three values at
once. A trial is scored by grouped K-fold cross-validation on the training rows only: the
out-of-fold scores are calibrated, thresholds are chosen on one half of the groups and applied to
the other (and the other way round), and the score is the mean of micro- and macro-F1 of those
predictions. The test split is never seen.

With ``trials=N`` the search is deterministic for a seed. With a time ``budget`` it stops starting
trials when the time left would not cover the next trial and the final fit; a trial whose cost,
estimated from its feature matrix, would not fit is skipped.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from topictag.errors import DataError
from topictag.model.decision import (
    SINGLE_LABEL,
    calibrated_probabilities,
    choose_thresholds,
    decide_labels,
)
from topictag.progress import Progress, report
from topictag.train.recipe import TrainConfig

log = logging.getLogger("topictag")

#: Values each trial may draw, by recipe section and key.
SEARCH_SPACE: dict[str, dict[str, list[Any]]] = {
    "features": {
        "ngram_range": [(1, 1), (1, 2)],
        "min_df": [1, 2, 3],
        "max_df": [1.0, 0.5],
        "sublinear_tf": [True, False],
        "char_ngram_range": [None, (2, 4), (3, 5)],
    },
    "model": {
        "classifier": ["linear-svc", "logistic", "sgd"],
        "C": [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
        "class_weight": [None, "balanced"],
    },
}
CHANGES_PER_TRIAL = (1, 3)  # how many values a trial changes, at least and at most
FINAL_FIT_MARGIN = 2.0  # time kept for the final fit, in multiples of the best trial's time


@dataclass
class Trial:
    """One configuration tried by the search."""

    number: int
    changes: dict[str, Any]  # "section.key": value, relative to the base recipe
    status: str  # "done", "skipped" (would not fit the budget) or "failed"
    score: float = float("nan")  # mean of micro- and macro-F1, cross-validated
    micro_f1: float = float("nan")
    macro_f1: float = float("nan")
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the trial as JSON-ready values."""
        out = dataclasses.asdict(self)
        out["changes"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.changes.items()
        }
        for key in ("score", "micro_f1", "macro_f1"):
            out[key] = None if np.isnan(out[key]) else round(out[key], 6)
        out["seconds"] = round(self.seconds, 2)
        return out


def tune(
    texts: Sequence[str],
    Y: np.ndarray,
    groups: Sequence[str],
    base: TrainConfig,
    *,
    mode: str,
    at_least_one: bool,
    budget: float | None = None,
    trials: int | None = None,
    space: dict[str, dict[str, list[Any]]] | None = None,
    n_jobs: int = 1,
    clock: Callable[[], float] = time.monotonic,
    score: Callable[..., tuple[float, float, float, int]] | None = None,
    progress: Progress | None = None,
) -> tuple[TrainConfig, list[Trial]]:
    """Search for the recipe with the best cross-validated score on the training rows.

    Parameters
    ----------
    texts, Y, groups
        The training rows only: texts, label-indicator matrix, cross-validation groups.
    base : TrainConfig
        The starting recipe; its seed drives the search.
    budget : float, optional
        Seconds for the search and the final fit together.
    trials : int, optional
        Number of trials (deterministic); one of ``budget`` and ``trials`` is required.
    space : dict, optional
        Values to draw from, as :data:`SEARCH_SPACE`.
    clock : callable
        Returns the current time in seconds (injected in tests).
    score : callable, optional
        Scores one recipe (injected in tests); default :func:`score_config`.
    progress : callable, optional
        Receives a ``"tuning"`` step after each trial: trials of ``trials``, or seconds of
        ``budget``, with the best score so far.

    Returns
    -------
    (TrainConfig, list of Trial)
        The best recipe and every trial, in order.
    """
    if budget is None and trials is None:
        raise ValueError("give a time budget or a number of trials")
    space = space or SEARCH_SPACE
    score = score or score_config
    rng = np.random.default_rng(base.seed)
    started = clock()
    history: list[Trial] = []
    best: tuple[float, TrainConfig] | None = None
    cost_per_entry: dict[str, float] = {}  # seconds per feature entry, by classifier
    durations: list[float] = []
    best_seconds = 0.0  # the best trial's time: the final fit takes about as long
    seen: set[str] = set()
    number = repeats = 0
    wave = first_wave(base, space)
    while (trials is None or number < trials) and repeats < 1000:
        if number == 0:
            changes = {}
        elif wave:
            changes = wave.pop(0)
        else:
            changes = _draw(space, rng)
        config = apply_changes(base, changes)
        key = repr(config.to_dict())
        if key in seen:
            repeats += 1  # drawn before; a small space runs out of new recipes
            continue
        seen.add(key)
        repeats = 0
        number += 1
        reserve = FINAL_FIT_MARGIN * best_seconds
        if budget is not None and durations:
            left = budget - (clock() - started) - reserve
            if left < float(np.median(durations)):
                log.info("tuning: time budget spent after %d trials", len(history))
                break
        trial_started = clock()
        if history:
            _report_trial(progress, history, best, trial_started - started, budget, trials)
        limit = None
        if budget is not None and cost_per_entry:
            # a classifier not tried yet is assumed as slow as the slowest one tried
            cost = cost_per_entry.get(config.model.classifier, max(cost_per_entry.values()))
            limit = (budget - (trial_started - started) - reserve, cost)
        try:
            objective, micro, macro, entries = score(
                config,
                texts,
                Y,
                groups,
                mode=mode,
                at_least_one=at_least_one,
                n_jobs=n_jobs,
                max_seconds=limit,
            )
        except _TooSlow:
            history.append(Trial(number, changes, "skipped", seconds=clock() - trial_started))
            log.info("tuning: trial %d skipped (too slow for the time left): %s", number, changes)
            continue
        except (ValueError, ArithmeticError) as error:
            if not changes:  # the recipe as given: never replaced behind the user's back
                raise DataError(f"the recipe as given cannot be trained: {error}") from None
            history.append(Trial(number, changes, "failed", seconds=clock() - trial_started))
            log.info("tuning: trial %d failed (%s): %s", number, error, changes)
            continue
        seconds = clock() - trial_started
        durations.append(seconds)
        if entries:
            name = config.model.classifier
            cost_per_entry[name] = max(cost_per_entry.get(name, 0.0), seconds / entries)
        history.append(Trial(number, changes, "done", objective, micro, macro, seconds))
        if best is None or objective > best[0]:
            best = (objective, config)
            best_seconds = seconds
        log.info(
            "tuning: trial %d: score %.4f (micro F1 %.4f, macro F1 %.4f) in %.1f s%s %s",
            number,
            objective,
            micro,
            macro,
            seconds,
            " *" if best[1] is config else "",
            changes or "(the recipe as given)",
        )
    if history:
        _report_trial(progress, history, best, clock() - started, budget, trials)
    if best is None:
        raise DataError("tuning finished no trial; give a larger --budget")
    return best[1], history


def _report_trial(
    progress: Progress | None,
    history: list[Trial],
    best: tuple[float, TrainConfig] | None,
    elapsed: float,
    budget: float | None,
    trials: int | None,
) -> None:
    note = f"trial {len(history)}" + (f", best score {best[0]:.4f}" if best else "")
    if trials is not None:
        report(progress, "tuning", len(history), trials, note=note, logged=True)
    else:
        report(progress, "tuning", min(elapsed, budget or elapsed), budget, note=note, logged=True)


class _TooSlow(Exception):
    """A trial's estimated cost exceeds the time left."""


def score_config(
    config: TrainConfig,
    texts: Sequence[str],
    Y: np.ndarray,
    groups: Sequence[str],
    *,
    mode: str,
    at_least_one: bool,
    n_jobs: int = 1,
    max_seconds: tuple[float, float] | None = None,
) -> tuple[float, float, float, int]:
    """Cross-validate a recipe on training rows.

    Returns (objective, micro F1, macro F1, non-zero feature entries). ``max_seconds`` is
    (seconds left, seconds per feature entry): a trial estimated to need more raises _TooSlow.
    """
    from topictag.evaluate.metrics import compute_metrics
    from topictag.train.bridge import build_pipeline
    from topictag.train.calibration import fit_sigmoids
    from topictag.train.features import build_vectorizer

    X = build_vectorizer(config.features).fit_transform(texts)
    if max_seconds is not None and X.nnz * max_seconds[1] > max_seconds[0]:
        raise _TooSlow
    classifier = build_pipeline(config, mode=mode, at_least_one=at_least_one, n_jobs=n_jobs)[-1]
    oof, _ = classifier.cross_fit(X, Y, groups, final=False)
    probs = calibrated_probabilities(oof, fit_sigmoids(oof, Y), single_label=mode == SINGLE_LABEL)
    # thresholds chosen on one half of the groups, applied to the other
    group_ids = np.unique(np.asarray(groups), return_inverse=True)[1]
    half = np.random.default_rng(config.seed).permutation(group_ids.max() + 1)[group_ids] % 2 == 0
    predicted = np.zeros(Y.shape, dtype=np.int8)
    for fit_rows, apply_rows in ((half, ~half), (~half, half)):
        thresholds = choose_thresholds(
            probs[fit_rows],
            Y[fit_rows],
            min_positives=config.decision.min_positives,
            default=config.decision.default_threshold,
        )
        predicted[apply_rows] = decide_labels(
            probs[apply_rows],
            thresholds,
            single_label=mode == SINGLE_LABEL,
            at_least_one=at_least_one,
            known=X[apply_rows].getnnz(axis=1) > 0,
        )
    labels = [str(j) for j in range(Y.shape[1])]
    gold = [[labels[j] for j in np.flatnonzero(row)] for row in Y]
    metrics = compute_metrics(gold, predicted, labels, mode=mode)
    micro, macro = metrics["micro"]["f1"], metrics["macro"]["f1"]
    return (micro + macro) / 2.0, micro, macro, int(X.nnz)


def apply_changes(base: TrainConfig, changes: dict[str, Any]) -> TrainConfig:
    """Return ``base`` with ``{"section.key": value}`` changes applied."""
    sections: dict[str, dict[str, Any]] = {}
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        sections.setdefault(section, {})[key] = value
    updated = {
        name: dataclasses.replace(getattr(base, name), **values)
        for name, values in sections.items()
    }
    return dataclasses.replace(base, **updated)


def space_from_recipe(search: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    """Read a recipe's ``[search]`` table: ``{section: {key: [values...]}}``."""
    space: dict[str, dict[str, list[Any]]] = {}
    for section, keys in search.items():
        if section not in ("features", "model", "decision") or not isinstance(keys, dict):
            raise DataError(f"[search.{section}] is not a recipe section")
        for key, values in keys.items():
            if not isinstance(values, list) or not values:
                raise DataError(f"[search.{section}] {key} must be a non-empty list of values")
            space.setdefault(section, {})[key] = [
                tuple(v) if isinstance(v, list) else (None if v == "none" else v) for v in values
            ]
    return space


#: The order in which single changes are tried first: cheap and often useful ones first.
FIRST_WAVE = (
    "model.C",
    "model.class_weight",
    "features.sublinear_tf",
    "features.min_df",
    "features.max_df",
    "model.classifier",
    "features.ngram_range",
    "features.char_ngram_range",
)


def first_wave(base: TrainConfig, space: dict[str, dict[str, list[Any]]]) -> list[dict[str, Any]]:
    """Return the single-value changes to try before random combinations, in FIRST_WAVE order.

    A search with a small budget thus learns which single knob matters (a coordinate sweep
    around the recipe) before it tries combinations.
    """
    plain = base.to_dict()
    order = list(FIRST_WAVE) + [
        f"{s}.{k}" for s, keys in space.items() for k in keys if f"{s}.{k}" not in FIRST_WAVE
    ]
    wave = []
    for dotted in order:
        section, key = dotted.split(".")
        for value in space.get(section, {}).get(key, []):
            current = plain[section][key]
            comparable = list(value) if isinstance(value, tuple) else value
            if comparable != current:
                wave.append({dotted: value})
    return wave


def _draw(space: dict[str, dict[str, list[Any]]], rng: np.random.Generator) -> dict[str, Any]:
    keys = [f"{section}.{key}" for section, values in space.items() for key in values]
    low, high = CHANGES_PER_TRIAL
    count = int(rng.integers(low, min(high, len(keys)) + 1))
    chosen = sorted(rng.choice(len(keys), size=count, replace=False).tolist())
    changes = {}
    for index in chosen:
        section, key = keys[index].split(".")
        options = space[section][key]
        changes[keys[index]] = options[int(rng.integers(len(options)))]
    return changes
