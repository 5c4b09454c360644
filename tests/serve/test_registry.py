"""The served models by name, and their reload from disk."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tests.conftest import DEFAULT_MODEL
from topictag.errors import ModelError
from topictag.model.bundle import load_bundle
from topictag.model.writing import save_bundle
from topictag.serve.registry import ModelSet, model_name


def test_names_come_from_the_folder():
    assert model_name("news-topics") == "news-topics"
    assert model_name("models/mine/") == "mine"
    assert model_name("/srv/models/other") == "other"


def test_the_first_model_is_the_default(tmp_path):
    shutil.copytree(DEFAULT_MODEL, tmp_path / "other")
    models = ModelSet([str(DEFAULT_MODEL), str(tmp_path / "other")])
    assert models.names() == ["news-topics", "other"]
    assert models.get().name == "news-topics" and models.get("other").name == "other"
    with pytest.raises(KeyError):
        models.get("nope")


def test_two_models_of_one_name_are_refused(tmp_path):
    shutil.copytree(DEFAULT_MODEL, tmp_path / "news-topics")
    with pytest.raises(ModelError, match="two models are named 'news-topics'"):
        ModelSet([str(DEFAULT_MODEL), str(tmp_path / "news-topics")])
    with pytest.raises(ModelError, match="no model to serve"):
        ModelSet([])


def test_refresh_loads_a_swapped_bundle_and_refuses_a_broken_one_once(tmp_path):
    path = tmp_path / "live"
    shutil.copytree(DEFAULT_MODEL, path)
    models = ModelSet([str(path)])
    first = models.get()
    assert models.refresh() == []  # nothing changed
    data = load_bundle(path)
    data.thresholds = np.full(len(data.labels), 0.9)
    save_bundle(data, path, force=True)
    (event,) = models.refresh()
    assert (event.name, event.outcome) == ("live", "reloaded") and event.seconds > 0
    assert models.get() is not first and models.get().model.thresholds.tolist()[0] == 0.9
    (path / "weights.npz").write_bytes(b"garbage")
    (refused,) = models.refresh()
    assert refused.outcome == "refused" and "weights" in (refused.error or "")
    assert models.refresh() == []  # the same broken files are not retried
    assert models.get().model.thresholds.tolist()[0] == 0.9  # the good model stays
    (again,) = models.refresh(force=True)  # SIGHUP tries again, and says so
    assert again.outcome == "refused"


def test_a_forced_refresh_of_an_unchanged_bundle_keeps_the_loaded_model(tmp_path):
    path = tmp_path / "live"
    shutil.copytree(DEFAULT_MODEL, path)
    models = ModelSet([str(path)])
    loaded = models.get()
    (event,) = models.refresh(force=True)
    assert event.outcome == "reloaded" and models.get() is loaded


def test_a_missing_bundle_is_refused_and_the_model_kept(tmp_path):
    path = tmp_path / "live"
    shutil.copytree(DEFAULT_MODEL, path)
    models = ModelSet([str(path)])
    shutil.rmtree(path)
    (event,) = models.refresh()
    assert event.outcome == "refused"
    assert models.get().model.labels  # still answering


def test_describe_names_what_a_client_needs():
    info = ModelSet([str(DEFAULT_MODEL)]).get().describe()
    for key in ("name", "mode", "labels", "thresholds", "features", "training_data", "metrics",
                "format_version"):  # fmt: skip
        assert info[key] not in (None, "", [], {}), key
    assert set(info["thresholds"]) == set(info["labels"])
