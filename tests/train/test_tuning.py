from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import tiny_rows, write_jsonl
from topictag.errors import DataError
from topictag.evaluate.metrics import indicator_matrix
from topictag.train.recipe import TrainConfig, load_search_space
from topictag.train.training import train_model
from topictag.train.tuning import SEARCH_SPACE, apply_changes, tune


class FakeClock:
    """A clock that moves only when a trial 'runs'."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fake_scorer(clock: FakeClock, seconds: float, calls: list):
    def score(config, texts, Y, groups, **options):
        calls.append(config)
        clock.now += seconds
        value = 0.5 + 0.01 * config.model.C  # larger C scores better, to have a winner
        return value, value, value, 1000

    return score


def _inputs():
    rows = tiny_rows()
    labels = ["energy", "talks", "war"]
    Y = indicator_matrix([r["labels"] for r in rows], labels)
    return [r["text"] for r in rows], Y, [r["article_id"] for r in rows]


def test_stops_when_the_budget_is_spent():
    clock, calls = FakeClock(), []
    texts, Y, groups = _inputs()
    best, trials = tune(
        texts,
        Y,
        groups,
        TrainConfig(),
        mode="multi-label",
        at_least_one=False,
        budget=100.0,
        clock=clock,
        score=fake_scorer(clock, 7.0, calls),
    )
    done = [t for t in trials if t.status == "done"]
    # each trial takes 7 s and 2 x 7 s are kept for the final fit: (100 - 14) // 7 = 12 trials
    assert len(done) == 12
    assert clock.now - 1000.0 <= 100.0 - 2 * 7.0
    assert max(c.model.C for c in calls) == best.model.C
    assert trials[0].changes == {}  # the recipe as given is always tried first


def test_a_fixed_number_of_trials_is_deterministic():
    texts, Y, groups = _inputs()
    runs = []
    for _ in range(2):
        clock, calls = FakeClock(), []
        best, trials = tune(
            texts,
            Y,
            groups,
            TrainConfig(seed=4),
            mode="multi-label",
            at_least_one=False,
            trials=15,
            clock=clock,
            score=fake_scorer(clock, 1.0, calls),
        )
        runs.append(([t.changes for t in trials], best))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 15
    assert len({repr(c) for c in runs[0][0]}) == 15  # no recipe is tried twice


def test_trials_that_would_overrun_are_skipped():
    texts, Y, groups = _inputs()
    clock = FakeClock()

    def score(config, texts, Y, groups, *, max_seconds=None, **options):
        entries = 10_000 if config.features.char_ngram_range else 100
        if max_seconds is not None and entries * max_seconds[1] > max_seconds[0]:
            from topictag.train.tuning import _TooSlow

            raise _TooSlow
        clock.now += entries / 100
        return 0.5, 0.5, 0.5, entries

    space = {"features": {"char_ngram_range": [None, (2, 4)]}, "model": {"C": [0.5, 1.0, 2.0]}}
    _, trials = tune(
        texts,
        Y,
        groups,
        TrainConfig(),
        mode="multi-label",
        at_least_one=False,
        budget=60.0,
        space=space,
        clock=clock,
        score=score,
    )
    skipped = [t for t in trials if t.status == "skipped"]
    assert skipped and all(t.changes.get("features.char_ngram_range") for t in skipped)
    assert clock.now - 1000.0 <= 60.0


def test_real_search_never_reads_the_test_split(tmp_path):
    rows = tiny_rows(test_articles=("a5", "a6"))
    clean = [r for r in rows if r["split"] == "train"]
    poisoned = [
        dict(r, labels=["war", "talks", "energy"]) if r["split"] == "test" else r for r in rows
    ]
    traces = []
    for name, data in (("clean", clean), ("poisoned", poisoned)):
        path = write_jsonl(tmp_path / f"{name}.jsonl", data)
        result = train_model([path], TrainConfig(seed=1), tune_trials=4)
        trace = result.data.manifest["tuning"]["trials"]
        traces.append([(t["changes"], t["score"], t["status"]) for t in trace])
    assert traces[0] == traces[1]
    assert len(traces[0]) == 4 and traces[0][0][2] == "done"


def test_apply_changes_and_search_space_from_recipe(make_file):
    config = apply_changes(TrainConfig(), {"model.C": 4.0, "features.ngram_range": (1, 2)})
    assert config.model.C == 4.0 and config.features.ngram_range == (1, 2)
    recipe = make_file(
        "r.toml",
        '[model]\nC = 1.0\n[search.model]\nC = [0.5, 2.0]\nclass_weight = ["none", "balanced"]\n'
        "[search.features]\nngram_range = [[1, 1], [1, 3]]\n",
    )
    space = load_search_space(recipe)
    assert space == {
        "model": {"C": [0.5, 2.0], "class_weight": [None, "balanced"]},
        "features": {"ngram_range": [(1, 1), (1, 3)]},
    }
    assert set(SEARCH_SPACE) == {"features", "model"}
    bad = make_file("bad.toml", '[search.model]\nC = ["big"]\n')
    with pytest.raises(DataError, match=r"\[search.model\] C must be a finite number, got .big."):
        load_search_space(bad)


def test_pooled_threshold_for_rare_labels():
    from topictag.model.decision import choose_thresholds

    probs = np.array([[0.9, 0.3, 0.2], [0.8, 0.05, 0.25], [0.1, 0.04, 0.02], [0.2, 0.02, 0.03]])
    Y = np.array([[1, 1, 0], [1, 0, 1], [0, 0, 0], [0, 0, 0]])
    thresholds = choose_thresholds(probs, Y, min_positives=2, default=0.5)
    assert thresholds[0] == pytest.approx(0.5)  # own threshold: between 0.8 and 0.2
    assert thresholds[1] == thresholds[2]  # rare labels share one
    # pooled, the rare positives are 0.3 and 0.25 and the best negative 0.2: cut between them
    assert thresholds[1] == pytest.approx(0.225)


@pytest.mark.parametrize("tune", [False, True])
def test_an_invalid_recipe_stops_before_progress_and_writes_nothing(tmp_path, tiny_corpus, tune):
    from typer.testing import CliRunner

    from topictag.cli.application import app

    recipe = tmp_path / "bad.toml"
    recipe.write_text("[model]\nC = -1.0\n[search.model]\nC = [0.5, 2.0]\n")
    out = tmp_path / "model"
    args = ["train", "--data", str(tiny_corpus), "-c", str(recipe), "-o", str(out)]
    result = CliRunner().invoke(app, args + (["--tune", "--trials", "3"] if tune else []))
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines() == [
        f"topictag: error: {recipe}: [model] C: must be a float in the range (0.0, inf), "
        "got -1.0 (scikit-learn's LinearSVC)"
    ]
    assert not out.exists()


def test_tuning_never_replaces_a_recipe_that_fails_as_given():
    texts = ["war talks"] * 6
    Y = np.array([[1, 0], [0, 1]] * 3)

    def score(config, *args, **kwargs):
        raise ValueError("no terms remain")

    with pytest.raises(DataError, match="the recipe as given cannot be trained: no terms remain"):
        tune(texts, Y, [str(i) for i in range(6)], TrainConfig(), mode="multi-label",
             at_least_one=False, trials=3, score=score)  # fmt: skip
