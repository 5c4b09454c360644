"""What the search proposes, in which order, and what counts as simpler."""

from __future__ import annotations

import itertools

from topictag.train.recipe import TrainConfig
from topictag.train.space import (
    SEARCH_SPACE,
    WARM_STARTS,
    apply_changes,
    changes_between,
    proposals,
    simplicity,
)


def test_the_recipe_given_then_the_warm_starts_of_the_mode():
    base = TrainConfig()
    for mode in ("multi-label", "single-label"):
        best = [base]
        count = 1 + len(WARM_STARTS[mode])
        first = list(itertools.islice(proposals(base, SEARCH_SPACE, mode=mode, best=best), count))
        assert first[0] == base
        expected = [apply_changes(base, c) for c in WARM_STARTS[mode]]
        assert first[1 : 1 + len(expected)] == expected
    assert WARM_STARTS["multi-label"] != WARM_STARTS["single-label"]


def test_single_label_searches_leave_the_thresholds_alone():
    base = TrainConfig()
    single = list(
        itertools.islice(proposals(base, SEARCH_SPACE, mode="single-label", best=[base]), 60)
    )
    multi = list(
        itertools.islice(proposals(base, SEARCH_SPACE, mode="multi-label", best=[base]), 60)
    )
    assert all(c.decision.threshold_shrinkage == 0.0 for c in single)
    assert all(c.decision.default_threshold == 0.5 for c in single)
    assert any(c.decision.threshold_shrinkage > 0 for c in multi)


def test_a_narrow_space_is_respected_and_nothing_is_proposed_twice():
    base = TrainConfig()
    space = {"model": {"C": [0.5, 2.0], "class_weight": [None, "balanced"]}}
    seen = list(proposals(base, space, mode="single-label", best=[base]))
    # warm starts reach outside this space, so none is tried; C in {1 (given), 0.5, 2} x 2
    assert len(seen) == 6 and len({repr(c.to_dict()) for c in seen}) == 6
    for config in seen:
        assert set(changes_between(base, config)) <= {"model.C", "model.class_weight"}


def test_the_sweep_moves_to_the_new_best():
    base = TrainConfig()
    space = {"model": {"C": [0.5, 1.0, 2.0]}, "features": {"sublinear_tf": [True, False]}}
    best = [base]
    generator = proposals(base, space, mode="multi-label", best=best)
    assert next(generator) == base
    first = next(generator)  # the sweep around the recipe given starts with C
    assert changes_between(base, first) == {"model.C": 0.5}
    best[0] = first  # C = 0.5 won: the sweep restarts around it
    following = [changes_between(base, c) for c in generator]
    assert following[0] == {"model.C": 2.0}  # C around the new best (1.0 was tried)
    assert {"model.C": 0.5, "features.sublinear_tf": False} in following


def test_changes_between_undoes_apply_changes():
    base = TrainConfig()
    changes = {"features.char_ngram_range": (2, 5), "model.nb_weights": True, "model.C": 4.0}
    assert changes_between(base, apply_changes(base, changes)) == changes
    assert changes_between(base, base) == {}


def test_simpler_means_fewer_entries_then_fewer_extras_then_smaller_c():
    plain = TrainConfig()
    extras = apply_changes(plain, {"model.nb_weights": True, "model.average_with": "logistic"})
    strong = apply_changes(plain, {"model.C": 0.25})
    assert simplicity(plain, 40.0) < simplicity(plain, 400.0)
    assert simplicity(plain, 40.0) < simplicity(extras, 40.0)
    assert simplicity(strong, 40.0) < simplicity(plain, 40.0)
    assert simplicity(extras, 40.0) < simplicity(plain, 41.0)  # cost first
