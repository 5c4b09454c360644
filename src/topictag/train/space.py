"""What the recipe search may try: the space of values, the warm starts, and the moves.

A search (:mod:`topictag.train.tuning`) proposes recipes in this order:

1. the recipe as given;
2. the **warm starts** of the corpus's mode (:data:`WARM_STARTS`): recipes that are known to
   help linear text models (word and character n-grams together, bigrams with ``min_df``, NB
   weights and their average with the plain model, Wang and Manning 2012), as changes to the
   recipe given;
3. a **coordinate sweep** around the best recipe so far: each value of the space alone, cheap
   knobs first (:data:`SWEEP_ORDER`); the sweep restarts around a new best;
4. random changes of one to three values of the best recipe so far.

A value that is not in the space (a recipe's own ``[search]`` table narrows it) is never
proposed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import numpy as np

from topictag.model.decision import SINGLE_LABEL
from topictag.train.recipe import TrainConfig

Space = dict[str, dict[str, list[Any]]]

#: Values each trial may draw, by recipe section and key.
SEARCH_SPACE: Space = {
    "features": {
        "ngram_range": [(1, 1), (1, 2), (1, 3)],
        "min_df": [1, 2, 3],
        "max_df": [1.0, 0.5],
        "sublinear_tf": [True, False],
        "char_ngram_range": [None, (2, 4), (2, 5), (1, 4)],
    },
    "model": {
        "classifier": ["linear-svc", "logistic", "sgd"],
        "C": [0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0],
        "class_weight": [None, "balanced"],
        "nb_weights": [False, True],
        "average_with": [None, "linear-svc", "logistic"],
    },
    "decision": {
        # multi-label only (single-label data has no thresholds): a trial that changes only
        # these refits nothing (the search reuses the trial's out-of-fold scores)
        "threshold_shrinkage": [0.0, 2.0, 5.0],
        # where rare labels' thresholds start (and shrink toward): calibrated probabilities of
        # a label seen a few times seldom reach 0.5
        "default_threshold": [0.5, 0.35, 0.25],
    },
}
#: Keys that mean nothing for single-label data; a search on it leaves them out.
MULTI_LABEL_KEYS = {"decision": ("threshold_shrinkage", "default_threshold")}

_WORDS_AND_CHARS = {"features.ngram_range": (1, 2), "features.char_ngram_range": (2, 5)}
_NB_AVERAGED = {"model.nb_weights": True, "model.average_with": "linear-svc"}
_SHRUNK = {"decision.threshold_shrinkage": 2.0}
#: Recipes tried right after the one given, by mode (changes to the recipe given). Multi-label
#: corpora (Reuters-like: long texts, many rare labels) gain most from thresholds that rare
#: labels cannot drag down (shrinkage), balanced class weights and NB weights, on unigrams
#: (bigrams with min_df 2 scored lower on Reuters at every C); short single-label texts
#: (headlines, titles) from character n-grams beside the words.
WARM_STARTS: dict[str, list[dict[str, Any]]] = {
    "multi-label": [
        _SHRUNK,
        {"model.class_weight": "balanced", **_SHRUNK},
        {"model.nb_weights": True, **_SHRUNK},
        {**_NB_AVERAGED, **_SHRUNK},
        {"model.C": 2.0, **_SHRUNK},
        {"features.ngram_range": (1, 2), "features.min_df": 2, **_NB_AVERAGED},
        {"features.char_ngram_range": (2, 5)},
    ],
    SINGLE_LABEL: [
        _WORDS_AND_CHARS,
        {"features.char_ngram_range": (2, 5)},
        {**_WORDS_AND_CHARS, **_NB_AVERAGED},
        {"features.ngram_range": (1, 2)},
        _NB_AVERAGED,
    ],
}
#: The order of the coordinate sweep: cheap and often useful knobs first.
SWEEP_ORDER = (
    "decision.threshold_shrinkage",
    "decision.default_threshold",
    "model.C",
    "model.class_weight",
    "features.sublinear_tf",
    "features.min_df",
    "model.nb_weights",
    "model.average_with",
    "features.max_df",
    "model.classifier",
    "features.ngram_range",
    "features.char_ngram_range",
)
CHANGES_PER_TRIAL = (1, 3)  # how many values a random trial changes, at least and at most


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


def changes_between(base: TrainConfig, config: TrainConfig) -> dict[str, Any]:
    """Return the ``{"section.key": value}`` changes that turn ``base`` into ``config``."""
    changes = {}
    for section in ("features", "model", "decision"):
        before, after = getattr(base, section), getattr(config, section)
        for field in dataclasses.fields(after):
            if getattr(before, field.name) != getattr(after, field.name):
                changes[f"{section}.{field.name}"] = getattr(after, field.name)
    return changes


def proposals(
    base: TrainConfig, space: Space, *, mode: str, best: list[TrainConfig]
) -> Iterator[TrainConfig]:
    """Yield the recipes to try, in order; ``best[0]`` is read as the best recipe so far.

    The caller updates ``best[0]`` as trials finish, so the sweep and the random changes move
    around the current best. Recipes are yielded at most once; the iterator ends when 1,000
    draws in a row give nothing new (a small space is exhausted).
    """
    space = for_mode(space, mode)
    seen: set[str] = set()
    rng = np.random.default_rng(base.seed)

    def new(config: TrainConfig) -> bool:
        key = repr(config.to_dict())
        if key in seen:
            return False
        seen.add(key)
        return True

    for config in opening(base, space, mode=mode):
        new(config)
        yield config
    swept_around = None
    while swept_around is not best[0]:  # sweep again around each new best
        swept_around = best[0]
        for changes in sweep(swept_around, space):
            config = apply_changes(swept_around, changes)
            if new(config):
                yield config
            if best[0] is not swept_around:
                break
    misses = 0
    while misses < 1000:
        config = apply_changes(best[0], draw(space, rng))
        if new(config):
            misses = 0
            yield config
        else:
            misses += 1


def for_mode(space: Space, mode: str) -> Space:
    """Return the space without the keys that mean nothing for the mode's data."""
    if mode != SINGLE_LABEL:
        return space
    return {
        section: {k: v for k, v in values.items() if k not in MULTI_LABEL_KEYS.get(section, ())}
        for section, values in space.items()
    }


def opening(base: TrainConfig, space: Space, *, mode: str) -> list[TrainConfig]:
    """Return the recipes a search tries before any score counts, in order: the recipe given,
    then the warm starts of the mode that the space allows (each recipe once)."""
    space = for_mode(space, mode)
    out, seen = [base], {repr(base.to_dict())}
    for changes in WARM_STARTS[SINGLE_LABEL if mode == SINGLE_LABEL else "multi-label"]:
        config = apply_changes(base, changes)
        if _in_space(changes, space) and repr(config.to_dict()) not in seen:
            seen.add(repr(config.to_dict()))
            out.append(config)
    return out


def sweep(center: TrainConfig, space: Space) -> list[dict[str, Any]]:
    """Return the single-value changes of ``center`` to try, in :data:`SWEEP_ORDER`."""
    plain = center.to_dict()
    order = list(SWEEP_ORDER) + [
        f"{s}.{k}" for s, keys in space.items() for k in keys if f"{s}.{k}" not in SWEEP_ORDER
    ]
    wave = []
    for dotted in order:
        section, key = dotted.split(".")
        for value in space.get(section, {}).get(key, []):
            comparable = list(value) if isinstance(value, tuple) else value
            if comparable != plain[section][key]:
                wave.append({dotted: value})
    return wave


def draw(space: Space, rng: np.random.Generator) -> dict[str, Any]:
    """Return one to three random values of the space, as changes."""
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


def simplicity(config: TrainConfig, entries_per_row: float) -> tuple[float, int, float]:
    """Order recipes from simplest: fewest feature entries per paragraph (what serving pays),
    then fewer model extras (NB weights, a second model), then stronger regularization.

    The one-standard-error rule picks the simplest recipe within noise of the best.
    """
    extras = int(config.model.nb_weights) + int(config.model.average_with is not None)
    return round(entries_per_row, 1), extras, config.model.C


def _in_space(changes: dict[str, Any], space: Space) -> bool:
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        if value not in space.get(section, {}).get(key, []):
            return False
    return True
