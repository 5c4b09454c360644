from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import tiny_rows, write_jsonl
from topictag.errors import DataError
from topictag.evaluate.metrics import indicator_matrix
from topictag.train import tuning
from topictag.train.recipe import TrainConfig, load_search_space
from topictag.train.scoring import Score, TooSlow
from topictag.train.space import SEARCH_SPACE, apply_changes
from topictag.train.tuning import tune


class FakeClock:
    """A clock that moves only when a trial 'runs'."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _score(value: float, predicted: np.ndarray, entries: int = 1000) -> Score:
    return Score(value, value, value, value, entries, entries / len(predicted), 0.0, predicted)


def fake_scorer(clock: FakeClock, seconds: float, calls: list, Y: np.ndarray):
    def score(config, texts, Y_, groups, *, rows=None, **options):
        calls.append((config, rows))
        clock.now += seconds
        value = 0.5 + 0.01 * config.model.C  # larger C scores better, to have a winner
        # the same predictions: no noise, so the one-standard-error rule keeps the best
        return _score(value, Y.copy() if rows is None else Y[rows].copy())

    return score


def _inputs():
    rows = tiny_rows()
    labels = ["energy", "talks", "war"]
    Y = indicator_matrix([r["labels"] for r in rows], labels)
    return [r["text"] for r in rows], Y, [r["article_id"] for r in rows]


def _tune(score, **options):
    texts, Y, groups = _inputs()
    defaults = {"mode": "multi-label", "at_least_one": False, "score": score}
    return tune(texts, Y, groups, options.pop("base", TrainConfig()), **defaults | options)


def test_stops_when_the_budget_is_spent():
    clock, calls = FakeClock(), []
    _, Y, _ = _inputs()
    space = {"model": {"C": [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]}}
    best, trials = _tune(fake_scorer(clock, 7.0, calls, Y), budget=60.0, clock=clock, space=space)
    done = [t for t in trials if t.status == "done"]
    # each trial fits 3 folds of 2/3 of the rows in 7 s; the final fit adds all rows: 1.5 x 7 s,
    # and 1.25 times that is kept for it
    assert len(done) == 6
    assert clock.now - 1000.0 <= 60.0 - 1.25 * 7.0 * 3 / 2
    assert trials[0].changes == {}  # the recipe as given is always tried first
    assert max(c.model.C for c, _ in calls) == best.model.C  # far ahead: the best is chosen
    assert [t.number for t in trials if t.chosen] == [trials[-1].number]


def test_a_fixed_number_of_trials_is_deterministic():
    runs = []
    _, Y, _ = _inputs()
    for _ in range(2):
        clock, calls = FakeClock(), []
        best, trials = _tune(
            fake_scorer(clock, 1.0, calls, Y), base=TrainConfig(seed=4), trials=15, clock=clock
        )
        runs.append(([t.changes for t in trials], best))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 15
    assert len({repr(c) for c in runs[0][0]}) == 15  # no recipe is tried twice


def test_trials_that_would_overrun_are_skipped():
    clock = FakeClock()
    _, Y, _ = _inputs()

    def score(config, texts, Y_, groups, *, max_seconds=None, **options):
        entries = 10_000 if config.features.char_ngram_range else 100
        if max_seconds is not None and entries * max_seconds[1] > max_seconds[0]:
            raise TooSlow
        clock.now += entries / 100
        return _score(0.5, Y.copy(), entries)

    space = {"features": {"char_ngram_range": [None, (2, 4)]}, "model": {"C": [0.5, 1.0, 2.0]}}
    _, trials = _tune(score, budget=60.0, space=space, clock=clock)
    skipped = [t for t in trials if t.status == "skipped"]
    assert skipped and all(t.changes.get("features.char_ngram_range") for t in skipped)
    assert clock.now - 1000.0 <= 60.0


def test_one_standard_error_rule_prefers_the_simpler_recipe():
    _, Y, _ = _inputs()
    rng = np.random.default_rng(0)

    def score(config, texts, Y_, groups, **options):
        predicted = Y.copy()
        # C=2 is best by a hair: its predictions differ from C=0.5's on two rows of 18
        if config.model.C == 2.0:
            predicted[[0, 5]] = 1 - predicted[[0, 5]]
            value = 0.80
        else:
            predicted[[3, 9]] = 1 - predicted[[3, 9]]
            value = 0.79 if config.model.C == 0.5 else 0.60
        return _score(value, predicted, 1000 + int(rng.integers(0, 1)))

    space = {"model": {"C": [0.5, 1.0, 2.0]}}
    best, trials = _tune(score, trials=3, space=space, base=TrainConfig().replace(seed=1))
    assert max(trials, key=lambda t: t.score).changes == {"model.C": 2.0}
    assert best.model.C == 0.5  # within noise of C=2, and more regularized
    assert [t.changes for t in trials if t.chosen] == [{"model.C": 0.5}]

    def clear_winner(config, texts, Y_, groups, **options):
        return _score(0.9 if config.model.C == 2.0 else 0.5, Y.copy())  # same predictions

    best, _ = _tune(clear_winner, trials=3, space=space)
    assert best.model.C == 2.0


def test_successive_halving_scores_on_all_rows_only_what_looks_good(monkeypatch):
    monkeypatch.setattr(tuning, "MIN_HALVING_ROWS", 10)
    _, Y, _ = _inputs()
    calls = []

    def score(config, texts, Y_, groups, *, rows=None, **options):
        calls.append((config.model.C, rows is None))
        good = config.model.C >= 1.0
        predicted = (Y if rows is None else Y[rows]).copy()
        if not good:
            predicted[:] = 0  # clearly worse on the first rung's rows
        return _score(0.8 if good else 0.1, predicted)

    space = {"model": {"C": [0.1, 0.25, 1.0, 2.0]}}
    _, trials = _tune(score, trials=4, space=space)
    status = {t.changes.get("model.C", 1.0): t.status for t in trials}
    assert status == {1.0: "done", 0.1: "screened", 0.25: "screened", 2.0: "done"}
    assert (0.1, True) not in calls and (0.25, True) not in calls  # never scored on all rows
    screened = [t for t in trials if t.status == "screened"]
    assert all(np.isnan(t.score) and t.screen_score == 0.1 for t in screened)
    rows_scored = [r for _, r in calls]
    assert rows_scored[:2] == [False, True]  # the recipe as given: first rung, then all rows


def test_real_search_never_reads_the_test_split(tmp_path):
    rows = tiny_rows(test_articles=("a5", "a6"))
    clean = [r for r in rows if r["split"] == "train"]
    poisoned = [
        dict(r, labels=["war", "talks", "energy"]) if r["split"] == "test" else r for r in rows
    ]
    traces = []
    for name, data in (("clean", clean), ("poisoned", poisoned)):
        path = write_jsonl(tmp_path / f"{name}.jsonl", data)
        result = train_model_tuned(path)
        trace = result.data.manifest["tuning"]["trials"]
        traces.append([(t["changes"], t["score"], t["status"]) for t in trace])
    assert traces[0] == traces[1]
    assert len(traces[0]) == 4 and traces[0][0][2] == "done"


def train_model_tuned(path):
    from topictag.train.training import train_model

    result = train_model([path], TrainConfig(seed=1), tune_trials=4)
    chosen = [t for t in result.data.manifest["tuning"]["trials"] if t["chosen"]]
    assert [t["number"] for t in chosen] == [result.data.manifest["tuning"]["best"]]
    return result


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
    assert set(SEARCH_SPACE) == {"features", "model", "decision"}
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
