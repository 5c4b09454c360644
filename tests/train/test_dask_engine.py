"""train --engine dask equals the local engine, on a real LocalCluster of two workers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import tiny_rows, with_furniture, write_jsonl
from topictag.errors import DataError
from topictag.model.bundle import WEIGHTS
from topictag.model.writing import save_bundle
from topictag.train.dask_engine import DaskEngine, planned_trials
from topictag.train.recipe import FeatureConfig, ModelConfig, TrainConfig
from topictag.train.stream_reading import plan_blocks
from topictag.train.training import train_model
from topictag.train.tuning import SEARCH_SPACE, tune


@pytest.fixture(scope="module")
def client(dask_cluster):
    from distributed import Client

    with Client(dask_cluster.scheduler_address, timeout="30s") as client:
        yield client


def engine(client) -> DaskEngine:
    return DaskEngine(client, block_bytes=700)  # several blocks per tiny file


def assert_same_model(a, b) -> None:
    assert a.labels == b.labels and a.mode == b.mode and a.at_least_one == b.at_least_one
    assert a.vocabularies == b.vocabularies
    for name in ("coef", "intercept", "calibration", "thresholds"):
        assert np.abs(getattr(a, name) - getattr(b, name)).max() < 1e-6, name
    for x, y in zip(a.idfs, b.idfs, strict=True):
        assert np.abs(x - y).max() < 1e-12
    assert (a.abstain is None) == (b.abstain is None)
    if a.abstain is not None:
        for name in ("coef", "intercept", "calibration", "threshold"):
            difference = np.asarray(getattr(a.abstain, name)) - getattr(b.abstain, name)
            assert np.abs(difference).max() < 1e-6, f"abstain.{name}"


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(features=FeatureConfig(ngram_range=(1, 2), min_df=2, max_features=40)),
        TrainConfig(features=FeatureConfig(char_ngram_range=(2, 4), max_df=0.5)),
    ],
    ids=["default", "bigrams-pruned", "chars"],
)
def test_the_dask_engine_gives_the_local_bundle(client, tiny_corpus, config):
    local = train_model([tiny_corpus], config, cv=3)
    remote = train_model([tiny_corpus], config, cv=3, engine=engine(client))
    assert_same_model(local.data, remote.data)
    assert remote.test_metrics == local.test_metrics
    assert remote.cv == local.cv
    assert remote.data.manifest["engine"] == {"name": "dask", "workers": 2}
    assert "engine" not in local.data.manifest


def test_nb_weights_averaging_and_the_no_topic_head_train_as_tasks(client, tmp_path):
    corpus = with_furniture(tmp_path / "furniture.jsonl")
    config = TrainConfig(model=ModelConfig(nb_weights=True, average_with="logistic"))
    local = train_model([corpus], config)
    remote = train_model([corpus], config, engine=engine(client))
    assert local.data.abstain is not None
    assert_same_model(local.data, remote.data)
    assert remote.test_metrics == local.test_metrics


def test_each_engine_gives_the_same_bytes_run_to_run(client, tiny_corpus, tmp_path):
    for name in ("first", "second"):
        save_bundle(
            train_model([tiny_corpus], TrainConfig(), engine=engine(client)).data, tmp_path / name
        )
    assert (tmp_path / "first" / WEIGHTS).read_bytes() == (
        tmp_path / "second" / WEIGHTS
    ).read_bytes()


def test_tuning_trials_run_as_tasks_and_match_the_local_search(client, tiny_corpus):
    space = {"model": {"C": [0.5, 2.0]}, "features": {"sublinear_tf": [False]}}
    local = train_model([tiny_corpus], TrainConfig(), tune_trials=4, search_space=space)
    remote = train_model(
        [tiny_corpus], TrainConfig(), tune_trials=4, search_space=space, engine=engine(client)
    )
    assert remote.config == local.config
    trials = lambda result: [  # noqa: E731
        (t["number"], t["changes"], t["status"], t["score"])
        for t in result.data.manifest["tuning"]["trials"]
    ]
    assert trials(remote) == trials(local)
    assert_same_model(local.data, remote.data)


@pytest.mark.parametrize("mode", ["multi-label", "single-label"])
def test_planned_trials_are_the_recipes_the_search_tries_first(tiny_corpus, mode):
    from topictag.data.corpus import group_keys, read_corpus
    from topictag.evaluate.metrics import indicator_matrix
    from topictag.train.scoring import Score
    from topictag.train.space import WARM_STARTS

    rows = [r for r in read_corpus(tiny_corpus) if r.split != "test"]
    labels = sorted({x for r in rows for x in r.labels or ()})
    Y = indicator_matrix([r.labels or () for r in rows], labels)
    tried = []

    def fake_score(config, *args, **kwargs):
        tried.append(config)
        value = 0.5 + 0.01 * config.model.C  # the scores move the search after the opening
        return Score(value, value, value, value, 10, 1.0, 0.0, Y.copy())

    groups = group_keys(rows)
    texts = [r.text for r in rows]
    options = {"mode": mode, "at_least_one": False, "score": fake_score}
    tune(texts, Y, groups, TrainConfig(seed=4), trials=12, **options)
    planned = planned_trials(TrainConfig(seed=4), SEARCH_SPACE, 12, mode=mode)
    assert len(planned) == 1 + len(WARM_STARTS[mode])  # the recipe and each warm start
    assert tried[: len(planned)] == planned
    assert planned_trials(TrainConfig(seed=4), SEARCH_SPACE, 3, mode=mode) == planned[:3]


def test_blocks_end_at_line_ends_and_know_their_first_line(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"".join(b'{"text": "%d"}\n' % i for i in range(100)))
    blocks = plan_blocks(path, 64)
    data = path.read_bytes()
    assert blocks[0][0] == 0 and blocks[-1][1] == len(data)
    for (start, end, line), following in zip(blocks, [*blocks[1:], None], strict=True):
        assert data[end - 1 : end] == b"\n" and line == data[:start].count(b"\n") + 1
        assert following is None or following[0] == end
    assert plan_blocks(tmp_path / "x.jsonl", 1 << 20) == [(0, len(data), 1)]


def test_a_bad_row_in_a_later_block_is_reported_as_the_local_engine_does(client, tmp_path):
    rows = tiny_rows()
    rows[14]["labels"] = "war"
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError) as local:
        train_model([path], TrainConfig())
    with pytest.raises(DataError) as remote:
        train_model([path], TrainConfig(), engine=engine(client))
    assert str(remote.value) == str(local.value)
    assert ":15: 'labels' must be a list of strings" in str(remote.value)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(DataError, match=r"empty\.jsonl: file is empty"):
        train_model([tmp_path / "empty.jsonl"], TrainConfig(), engine=engine(client))
