"""Searching for a better recipe on the training rows, within a time or trial budget.

``topictag train --tune`` tries recipes in the order :func:`topictag.train.space.proposals`
gives and scores each with :func:`topictag.train.scoring.score_config` (grouped K-fold on the
training rows; nothing scored on rows it was fitted on; the test split is never seen). On
corpora of :data:`MIN_HALVING_ROWS` rows or more a trial is first scored on a third of the
groups (successive halving's first rung) and goes on to all rows only if it could still be
chosen: a recipe simpler than the one chosen so far within (ONE_SE + PROMOTE_SE) paired
standard errors of the best there, another within PROMOTE_SE. The winner follows the
one-standard-error rule: the simplest recipe (:func:`topictag.train.space.simplicity`) whose
score on all rows is within ONE_SE paired bootstrap standard errors of the best.

With ``trials=N`` the search is deterministic for a seed. With a time ``budget`` it stops
starting trials when the time left would not cover the next one, the final fit and classifying
the test rows; a trial whose estimated cost would not fit is skipped.
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
from topictag.progress import Progress, report
from topictag.train.recipe import TrainConfig
from topictag.train.scoring import (
    FeatureCache,
    Score,
    TooSlow,
    paired_standard_error,
    score_config,
)
from topictag.train.space import (
    SEARCH_SPACE,
    Space,
    apply_changes,
    changes_between,
    proposals,
    simplicity,
)

__all__ = ["SEARCH_SPACE", "Trial", "apply_changes", "first_rung", "tune"]

log = logging.getLogger("topictag")

MIN_HALVING_ROWS = 1500  # smaller corpora score every trial on all rows
SCREEN_SHARE = 1 / 3  # the share of groups a trial is first scored on
PROMOTE_SE = 0.5  # on to all rows unless this many standard errors below the best so far
ONE_SE = 1.0  # the winner: the simplest recipe within this many standard errors of the best
FINAL_FIT_MARGIN = 1.25  # time kept for the final fit, in multiples of its estimate
SERVING_FACTOR = 2.0  # classifying a row costs about this many times featurizing it


_SCORES = ("score", "micro_f1", "macro_f1", "accuracy", "screen_score")


@dataclass
class Trial:
    """One configuration tried by the search."""

    number: int
    changes: dict[str, Any]  # "section.key": value, relative to the base recipe
    status: str  # "done" (all rows), "screened" (a share of the rows only), "skipped", "failed"
    score: float = float("nan")  # the objective on all training rows, cross-validated
    micro_f1: float = float("nan")
    macro_f1: float = float("nan")
    accuracy: float = float("nan")
    screen_score: float = float("nan")  # the objective on the first rung's rows
    entries_per_row: float = float("nan")  # feature entries per paragraph: the serving cost
    seconds: float = 0.0
    chosen: bool = False  # the recipe the search returned

    def to_json(self) -> dict[str, Any]:
        """Return the trial as JSON-ready values."""
        out = dataclasses.asdict(self)
        out["changes"] = {
            k: list(v) if isinstance(v, tuple) else v for k, v in self.changes.items()
        }
        for key, digits in [*((k, 6) for k in _SCORES), ("entries_per_row", 1)]:
            out[key] = None if np.isnan(out[key]) else round(out[key], digits)
        out["seconds"] = round(self.seconds, 2)
        return out


@dataclass
class _Done:
    """A trial scored on all rows, with what the choice and the time reserve need."""

    trial: Trial
    config: TrainConfig
    full: Score
    screen: Score | None
    fit_seconds: float


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
    space: Space | None = None,
    n_jobs: int = 1,
    clock: Callable[[], float] = time.monotonic,
    score: Callable[..., Score] | None = None,
    progress: Progress | None = None,
    evaluate_rows: int = 0,
) -> tuple[TrainConfig, list[Trial]]:
    """Search for the recipe that generalizes best, judged on the training rows only.

    Parameters
    ----------
    texts, Y, groups
        The training rows only: texts, label-indicator matrix, cross-validation groups.
    base : TrainConfig
        The starting recipe; its seed drives the search.
    mode : {"multi-label", "single-label"}
        The corpus's mode: it sets the objective and the warm starts.
    budget : float, optional
        Seconds for the search, the final fit and classifying ``evaluate_rows`` rows together.
    trials : int, optional
        Number of trials (deterministic); one of ``budget`` and ``trials`` is required.
    space : dict, optional
        Values to draw from, as :data:`SEARCH_SPACE`.
    clock, score : callable, optional
        The current time in seconds; scores one recipe (default :func:`score_config`).
    progress : callable, optional
        Receives a ``"tuning"`` step after each trial: trials of ``trials``, or seconds of
        ``budget``, with the best score so far.
    evaluate_rows : int
        Rows the caller classifies after the final fit (the test split); their time is kept.

    Returns
    -------
    (TrainConfig, list of Trial)
        The chosen recipe and every trial, in order (the chosen one has ``chosen`` set).
    """
    if budget is None and trials is None:
        raise ValueError("give a time budget or a number of trials")
    search = _Search(texts, Y, groups, base, mode, at_least_one, n_jobs, score or score_config)
    started = clock()
    best_config = [base]
    history: list[Trial] = []
    for config in proposals(base, space or SEARCH_SPACE, mode=mode, best=best_config):
        if trials is not None and len(history) >= trials:
            break
        left = None
        if budget is not None:
            left = budget - (clock() - started) - search.reserve(evaluate_rows)
            if search.durations and left < float(np.median(search.durations)):
                log.info("tuning: time budget spent after %d trials", len(history))
                break
        if history:
            _report(progress, history, search, clock() - started, budget, trials)
        trial = Trial(len(history) + 1, changes_between(base, config), "failed")
        trial_started = clock()
        search.run(trial, config, left, clock)
        trial.seconds = clock() - trial_started
        history.append(trial)
        best = search.best()
        if best is not None:
            best_config[0] = best.config
    if history:
        _report(progress, history, search, clock() - started, budget, trials)
    chosen = search.choose()
    chosen.trial.chosen = True
    return chosen.config, history


class _Search:
    """The state of one search: the cache, what was scored, and what trials cost."""

    def __init__(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        groups: Sequence[str],
        base: TrainConfig,
        mode: str,
        at_least_one: bool,
        n_jobs: int,
        score: Callable[..., Score],
    ) -> None:
        self.texts, self.Y, self.groups = texts, np.asarray(Y), np.asarray(groups)
        self.base, self.mode, self.at_least_one, self.n_jobs = base, mode, at_least_one, n_jobs
        self.score = score
        self.cache = FeatureCache(texts)
        self.subset = first_rung(self.groups, base.seed)
        self.done: list[_Done] = []
        self.chosen: _Done | None = None  # the recipe the search would return now
        self._errors: dict[tuple[int, int], float] = {}  # paired standard errors, by trials
        self.durations: list[float] = []  # seconds of each trial's first scoring
        self.costs: dict[tuple[str, str | None], list[float]] = {}  # fit seconds per entry

    def run(self, trial: Trial, config: TrainConfig, left: float | None, clock: Any) -> None:
        """Score a trial (first rung, then all rows if promoted); record it in ``trial``."""
        started = clock()
        try:
            screen = None
            if self.subset is not None:
                screen = self._score(config, self.subset, left)
                trial.screen_score = screen.objective
                self.durations.append(clock() - started)
                screen_fit = self._observe(config, screen, clock() - started)
                slow = left is not None and not self._fits_in(
                    config, screen_fit, left - clock() + started
                )
                if (self.done and not self._promising(screen)) or slow:
                    trial.status = "screened"
                    why = "too slow for the time left" if slow else f"{screen.objective:.4f}"
                    log.info("tuning: trial %d screened out (%s): %s", trial.number, why,
                             trial.changes)  # fmt: skip
                    return
            full_started = clock()
            remaining = None if left is None else left - (full_started - started)
            full = self._score(config, None, remaining)
            if screen is None:
                self.durations.append(clock() - full_started)
        except TooSlow:
            trial.status = "skipped"
            log.info("tuning: trial %d skipped (too slow for the time left): %s", trial.number,
                     trial.changes)  # fmt: skip
            return
        except (ValueError, ArithmeticError) as error:
            if not trial.changes:  # the recipe as given: never replaced behind the user's back
                raise DataError(f"the recipe as given cannot be trained: {error}") from None
            log.info("tuning: trial %d failed (%s): %s", trial.number, error, trial.changes)
            return
        fit_seconds = self._observe(config, full, clock() - full_started)
        trial.status, trial.score, trial.micro_f1 = "done", full.objective, full.micro_f1
        trial.macro_f1, trial.accuracy, trial.entries_per_row = (
            full.macro_f1, full.accuracy, full.entries_per_row
        )  # fmt: skip
        best = self.best()
        self.done.append(_Done(trial, config, full, screen, fit_seconds))
        self.chosen = self._choose()
        log.info(
            "tuning: trial %d: score %.4f (micro F1 %.4f, macro F1 %.4f) in %.1f s%s %s",
            trial.number, full.objective, full.micro_f1, full.macro_f1, clock() - started,
            " *" if best is None or full.objective > best.full.objective else "",
            trial.changes or "(the recipe as given)",
        )  # fmt: skip

    def _observe(self, config: TrainConfig, score: Score, seconds: float) -> float:
        """Record what a scoring's fits cost per feature entry; return their seconds."""
        if score.reused_fit_seconds is not None:  # an earlier trial's fits: nothing new
            return score.reused_fit_seconds
        fit_seconds = max(seconds - score.featurize_seconds, 0.0)
        if score.entries:
            key = (config.model.classifier, config.model.average_with)
            self.costs.setdefault(key, []).append(fit_seconds / score.entries)
        return fit_seconds

    def _per_entry(self, config: TrainConfig) -> float:
        """Fit seconds per feature entry: the median seen for the classifier (and the second
        model), else for any classifier, twice that with a second model; 0 before any."""
        key = (config.model.classifier, config.model.average_with)
        if key in self.costs:
            return float(np.median(self.costs[key]))
        seen = [cost for costs in self.costs.values() for cost in costs]
        return float(np.median(seen)) * (1 + (key[1] is not None)) if seen else 0.0

    def _score(self, config: TrainConfig, rows: np.ndarray | None, left: float | None) -> Score:
        limit = None if left is None or not self.costs else (left, self._per_entry(config))
        return self.score(
            config,
            self.texts,
            self.Y,
            self.groups,
            mode=self.mode,
            at_least_one=self.at_least_one,
            n_jobs=self.n_jobs,
            max_seconds=limit,
            rows=rows,
            cache=self.cache,
        )

    def best(self) -> _Done | None:
        """The trial with the best score on all rows so far (the earliest of equals)."""
        return max(self.done, key=lambda d: d.full.objective, default=None)

    def _promising(self, screen: Score) -> bool:
        """Whether a recipe scored on the first rung may be chosen once scored on all rows.

        A recipe simpler than the one chosen so far may be chosen within one standard error of
        the best; any other must beat the best. So: a gap to the best recipe's first-rung score
        below (ONE_SE + PROMOTE_SE) paired standard errors, or below PROMOTE_SE of them.
        """
        best, chosen = self.best(), self.chosen
        if best is None or best.screen is None or chosen is None or chosen.screen is None:
            return True
        gap = best.screen.objective - screen.objective
        if gap <= 0:
            return True
        assert self.subset is not None
        se = paired_standard_error(
            best.screen, screen, self.Y[self.subset], self.groups[self.subset],
            mode=self.mode, seed=self.base.seed,
        )  # fmt: skip
        simpler = screen.entries_per_row < chosen.screen.entries_per_row
        return gap < (ONE_SE + PROMOTE_SE if simpler else PROMOTE_SE) * se

    def _fits_in(self, config: TrainConfig, screen_fit: float, left: float) -> bool:
        """Whether scoring on all rows, and then this recipe's final fit, fit in ``left``
        (from what its fits on the first rung's rows took)."""
        assert self.subset is not None
        seconds = screen_fit * len(self.texts) / len(self.subset) * FINAL_FIT_MARGIN
        folds = config.decision.cv_folds
        final = seconds * folds / (folds - 1) + self.cache.cost(config.features)
        chosen = self.chosen
        kept = 0.0 if chosen is None else FINAL_FIT_MARGIN * self._final_seconds(chosen)
        return seconds + max(FINAL_FIT_MARGIN * final - kept, 0.0) <= left

    def _final_seconds(self, done: _Done) -> float:
        folds = done.config.decision.cv_folds
        return done.fit_seconds * folds / (folds - 1) + self.cache.cost(done.config.features)

    def reserve(self, evaluate_rows: int) -> float:
        """Seconds to keep for the final fit of the recipe chosen so far and classifying the
        test rows (a trial that would change the choice checks its own cost)."""
        chosen = self.chosen
        if chosen is None:
            return 0.0
        featurize = self.cache.cost(chosen.config.features)
        serving = SERVING_FACTOR * featurize * evaluate_rows / max(len(self.texts), 1)
        return FINAL_FIT_MARGIN * (self._final_seconds(chosen) + serving)

    def _standard_error(self, best: _Done, other: _Done) -> float:
        key = (best.trial.number, other.trial.number)
        if key not in self._errors:
            self._errors[key] = paired_standard_error(
                best.full, other.full, self.Y, self.groups, mode=self.mode, seed=self.base.seed
            )
        return self._errors[key]

    def _choose(self) -> _Done | None:
        """The simplest recipe within ONE_SE paired standard errors of the best."""
        best = self.best()
        if best is None:
            return None
        eligible = [
            done
            for done in self.done
            if done is best
            or best.full.objective - done.full.objective
            <= ONE_SE * self._standard_error(best, done)
        ]
        return min(
            eligible, key=lambda d: (simplicity(d.config, d.full.entries_per_row), d.trial.number)
        )

    def choose(self) -> _Done:
        """The recipe chosen: the simplest within ONE_SE standard errors of the best."""
        best, chosen = self.best(), self.chosen
        if best is None or chosen is None:
            raise DataError("tuning finished no trial; give a larger --budget")
        if chosen is not best:
            log.info(
                "tuning: trial %d chosen (%.4f, simpler, within %.1f standard error of trial %d's "
                "%.4f)", chosen.trial.number, chosen.full.objective, ONE_SE, best.trial.number,
                best.full.objective,
            )  # fmt: skip
        return chosen


def first_rung(groups: np.ndarray, seed: int) -> np.ndarray | None:
    """The rows of a random third of the groups: the first rung of successive halving (None
    below MIN_HALVING_ROWS rows, where every trial is scored on all rows)."""
    if len(groups) < MIN_HALVING_ROWS:
        return None
    codes = np.unique(groups, return_inverse=True)[1]
    n_groups = int(codes.max()) + 1
    picked = np.random.default_rng(seed).permutation(n_groups) < max(2, n_groups * SCREEN_SHARE)
    return np.flatnonzero(picked[codes])


def _report(
    progress: Progress | None,
    history: list[Trial],
    search: _Search,
    elapsed: float,
    budget: float | None,
    trials: int | None,
) -> None:
    best = search.best()
    note = f"trial {len(history)}" + (f", best score {best.full.objective:.4f}" if best else "")
    if trials is not None:
        report(progress, "tuning", len(history), trials, note=note, logged=True)
    else:
        report(progress, "tuning", min(elapsed, budget or elapsed), budget, note=note, logged=True)
