"""Streaming (out-of-core) training: deterministic, servable, and on Dask too."""

from __future__ import annotations

import gzip
import json
from dataclasses import replace

import numpy as np
import pytest

from tests.conftest import tiny_rows, write_jsonl
from topictag.errors import DataError, TopictagError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
from topictag.model.inference import Model
from topictag.train import streaming
from topictag.train.recipe import ModelConfig, TrainConfig
from topictag.train.saving import save_model
from topictag.train.stream_reading import iter_block, plan
from topictag.train.streaming import StreamingOptions, check_streamable, place_of
from topictag.train.streaming_run import train_streaming

OPTIONS = StreamingOptions(passes=3, chunk_rows=7, block_bytes=900)  # several blocks and chunks


@pytest.fixture
def corpus(tmp_path):
    """The tiny corpus three times over (repeats, as a large corpus has them), test split last."""
    rows = tiny_rows()
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    copies = [dict(r, id=f"{r['id']}-{k}") for k in range(3) for r in train]
    return write_jsonl(tmp_path / "big.jsonl", copies + test)


def test_the_same_files_and_seed_give_the_same_bytes(corpus, tmp_path):
    for name in ("first", "second"):
        save_model(train_streaming([corpus], TrainConfig(), options=OPTIONS).data, tmp_path / name)
    for file in (WEIGHTS, MANIFEST):
        assert (tmp_path / "first" / file).read_bytes() == (tmp_path / "second" / file).read_bytes()
    other = train_streaming([corpus], TrainConfig(seed=5), options=OPTIONS).data
    assert not np.array_equal(other.coef, load_bundle(tmp_path / "first").coef)


def test_the_streamed_bundle_serves_as_any_other(corpus, tmp_path):
    result = train_streaming([corpus], TrainConfig(), options=OPTIONS)
    path = save_model(result.data, tmp_path / "streamed")
    model = Model(load_bundle(path), path)
    assert model.labels == ["energy", "talks", "war"]
    predicted = model.predict(["Artillery shelled the town and soldiers were killed."])
    assert predicted == [["war"]]
    engine = model.manifest["engine"]
    assert engine["name"] == "streaming" and engine["mapped_from"] == "linear-svc"
    assert engine["classifier"].startswith("SGDClassifier(loss='squared_hinge'")
    assert engine["alpha"] == pytest.approx(1.0 / 15)  # C * distinct paragraphs: repeats once
    assert engine["passes"] == 3
    held = engine["held_out"]
    assert held["calibration_rows"] == held["rows"] > 0  # fewer than max_calibration: all
    assert held["rows"] % 3 == 0  # a paragraph's three copies are held out together
    assert (
        result.test_metrics is not None and result.data.manifest["training_data"]["test_rows"] == 3
    )
    card = (path / "MODEL_CARD.md").read_text()
    assert "**streaming** (out of core)" in card and "in place of linear-svc" in card


def test_a_gzipped_corpus_gives_the_same_model(corpus, tmp_path):
    zipped = tmp_path / "big.jsonl.gz"
    zipped.write_bytes(gzip.compress(corpus.read_bytes()))
    plain = train_streaming([corpus], TrainConfig(), options=OPTIONS).data
    packed = train_streaming([zipped], TrainConfig(), options=OPTIONS).data
    assert plain.vocabularies == packed.vocabularies
    # one block instead of several: the chunks differ, the model stays close
    assert np.abs(plain.coef - packed.coef).max() < 0.5


def test_logistic_and_balanced_recipes_stream(corpus):
    config = TrainConfig(model=ModelConfig(classifier="logistic", class_weight="balanced"))
    data = train_streaming([corpus], config, options=OPTIONS).data
    assert "log_loss" in data.manifest["engine"]["classifier"]


def test_near_identical_repeats_share_their_place():
    a = place_of("Oil prices ROSE 7%, traders said.", 0)
    assert a == place_of("oil  prices rose 8 % -- traders said", 0)
    assert a != place_of("Oil prices fell, traders said.", 0)
    assert a != place_of("Oil prices ROSE 7%, traders said.", 1)


def test_a_recipe_key_that_cannot_stream_is_refused_in_one_line(monkeypatch):
    check_streamable(TrainConfig())  # the default recipe streams as it is
    monkeypatch.delitem(streaming.STREAMS_AS, "model.max_iter")
    with pytest.raises(TopictagError, match=r"^\[model\] max_iter cannot stream; "):
        check_streamable(TrainConfig(model=ModelConfig(max_iter=50)))
    check_streamable(TrainConfig(model=ModelConfig(max_iter=2000)))  # its default passes


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ModelConfig(nb_weights=True), r"^\[model\] nb_weights = true cannot stream \(NB weights"),
        (ModelConfig(average_with="logistic"), r'^\[model\] average_with = "logistic" cannot'),
    ],
)
def test_nb_weights_and_averaging_are_refused_with_their_reason(model, message):
    with pytest.raises(TopictagError, match=message) as caught:
        check_streamable(TrainConfig(model=model))
    assert "\n" not in str(caught.value) and "train in memory" in str(caught.value)


def test_blocks_read_every_row_once_with_its_line_number(corpus):
    blocks = plan([corpus], 900)
    assert len(blocks) > 2
    rows = [r for block in blocks for r in iter_block(block)]
    assert [r.id for r in rows] == [
        json.loads(line)["id"] for line in corpus.read_text().splitlines()
    ]


def test_bad_rows_are_reported_as_read_corpus_does(tmp_path):
    rows = tiny_rows()
    rows[9]["text"] = 7
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(DataError, match=r"bad\.jsonl:10: 'text' must be a string"):
        train_streaming([path], TrainConfig(), options=OPTIONS)
    del rows[9]["text"]
    rows[9] = {"id": "x", "text": "no labels here"}
    path = write_jsonl(tmp_path / "unlabeled.jsonl", rows)
    with pytest.raises(DataError, match="'x' has no 'labels' field"):
        train_streaming([path], TrainConfig(), options=OPTIONS)


def test_streaming_on_dask_is_deterministic(corpus, dask_cluster, tmp_path, monkeypatch):
    from distributed import Client

    # two shards, whatever the loaded machine's cluster has registered when each run starts
    options = replace(OPTIONS, passes=2, block_bytes=2000, shards=2)
    with Client(dask_cluster.scheduler_address, timeout="30s") as client:
        first, second = (
            train_streaming([corpus], TrainConfig(), options=options, client=client).data
            for _ in range(2)
        )
    assert np.array_equal(first.coef, second.coef)
    assert np.array_equal(first.thresholds, second.thresholds)
    assert first.manifest["engine"]["dask"] == {"shards": 2}
    local = train_streaming([corpus], TrainConfig(), options=options).data
    assert first.vocabularies == local.vocabularies and first.labels == local.labels
    # two shards in this process, one after the other, given the same models (as two shards
    # on one Dask worker are): the same model, so it depends on the shards, not on placement
    from topictag.train import streaming_run

    monkeypatch.setattr(streaming_run._Here, "shards", 2)
    here = train_streaming([corpus], TrainConfig(), options=options).data
    assert np.array_equal(first.coef, here.coef)
    assert np.array_equal(first.thresholds, here.thresholds)
