from __future__ import annotations

import json
import re
import shutil
import zipfile

import numpy as np
import pytest

from topictag.errors import ModelError
from topictag.model.bundle import CARD, MANIFEST, WEIGHTS, load_bundle
from topictag.model.catalog import resolve_model
from topictag.model.inference import Model
from topictag.model.manifest import integrity_of
from topictag.model.writing import save_bundle


def test_round_trip_gives_the_same_probabilities(trained, tmp_path):
    texts = ["Envoys met to discuss the ceasefire in Idlib.", "Oil prices rose.", ""]
    loaded = Model(load_bundle(trained.path))
    expected = trained.pipeline.predict_proba(texts)
    assert np.abs(loaded.predict_proba(texts) - expected).max() < 1e-12
    copy = tmp_path / "copy"
    save_bundle(loaded.data, copy)
    for name in (WEIGHTS, MANIFEST):
        assert (copy / name).read_bytes() == (trained.path / name).read_bytes()


def test_manifest_records_provenance_without_paths_or_times(trained):
    manifest = json.loads((trained.path / MANIFEST).read_text())
    assert manifest["format_version"] == 2
    assert manifest["training_data"]["files"][0]["name"] == "paragraphs.jsonl"
    assert len(manifest["training_data"]["sha256"]) == 64
    assert set(manifest["versions"]) == {"python", "numpy", "scipy", "scikit-learn"}
    assert manifest["metrics"]["test"]["micro"]["f1"] > 0.5
    text = (trained.path / MANIFEST).read_text()
    assert "/tmp" not in text and "/work" not in text
    # no date, time of day or Unix time anywhere, under any key: the same data and recipe give
    # the same bytes whenever they are trained
    assert not re.search(r"\b(1[89]|2\d)\d\d-[01]\d-[0-3]\d|\b\d\d:\d\d\b", text)
    assert not re.search(r"(?<![\d.])1[5-9]\d{8}(?![\d])", text)
    assert not re.search(r'"[^"]*(time|date|created|when)[^"]*":', text, re.I)
    assert (trained.path / CARD).read_text().startswith("# Model card")


def test_weights_hold_arrays_only(trained):
    with zipfile.ZipFile(trained.path / WEIGHTS) as archive:
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
    with np.load(trained.path / WEIGHTS, allow_pickle=False) as npz:
        assert all(npz[name].dtype != object for name in npz.files)


@pytest.fixture
def bundle_copy(trained, tmp_path):
    path = tmp_path / "bundle"
    shutil.copytree(trained.path, path)
    return path


def test_tampered_weights_are_refused(bundle_copy):
    data = bytearray((bundle_copy / WEIGHTS).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bundle_copy / WEIGHTS).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="do not match the manifest's SHA-256"):
        load_bundle(bundle_copy)


def test_truncated_weights_are_refused(bundle_copy):
    data = (bundle_copy / WEIGHTS).read_bytes()
    (bundle_copy / WEIGHTS).write_bytes(data[:1000])
    with pytest.raises(ModelError, match="corrupt, truncated or was edited"):
        load_bundle(bundle_copy)


def test_a_pickle_in_the_weights_is_never_executed(bundle_copy, tmp_path):
    # An attacker replaces the weights with an object array and fixes the hash in the manifest.
    marker = tmp_path / "pwned"
    evil = np.array([Exploit(str(marker))], dtype=object)
    np.savez(bundle_copy / WEIGHTS, coef=evil)
    manifest = json.loads((bundle_copy / MANIFEST).read_text())
    import hashlib

    manifest["weights"]["sha256"] = hashlib.sha256((bundle_copy / WEIGHTS).read_bytes()).hexdigest()
    manifest["integrity"] = integrity_of(manifest)  # the attacker fixes every hash
    (bundle_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match=r"weights.npz: (missing|unexpected) member"):
        load_bundle(bundle_copy)
    assert not marker.exists()


class Exploit:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: (p / MANIFEST).unlink(), "not a model bundle"),
        (lambda p: (p / MANIFEST).write_text("{"), "unreadable manifest"),
        (lambda p: (p / MANIFEST).write_text('{"format": "other"}'), "not a topictag model"),
        (lambda p: (p / WEIGHTS).unlink(), "weights.npz: missing"),
    ],
)
def test_broken_bundles_are_refused(bundle_copy, mutate, message):
    mutate(bundle_copy)
    with pytest.raises(ModelError, match=message):
        load_bundle(bundle_copy)


def test_newer_format_version_is_refused(bundle_copy):
    manifest = json.loads((bundle_copy / MANIFEST).read_text())
    manifest["format_version"] = 99
    (bundle_copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="format_version: 99 is not supported"):
        load_bundle(bundle_copy)


def test_missing_folder_is_refused(tmp_path):
    with pytest.raises(ModelError, match="no model bundle there"):
        load_bundle(tmp_path / "nothing")


def test_existing_bundle_needs_force_and_is_swapped_whole(trained, bundle_copy):
    data = load_bundle(trained.path)
    with pytest.raises(ModelError, match="already exists"):
        save_bundle(data, bundle_copy)
    (bundle_copy / "stale.txt").write_text("from the old bundle")
    save_bundle(data, bundle_copy, force=True, card="# card\n")
    assert sorted(p.name for p in bundle_copy.iterdir()) == [CARD, MANIFEST, WEIGHTS]
    assert (bundle_copy / CARD).read_text() == "# card\n"
    assert [p.name for p in bundle_copy.parent.iterdir() if p.name.startswith(".")] == []


def test_save_does_not_mutate_its_argument(trained, tmp_path):
    data = load_bundle(trained.path)
    data.manifest.pop("weights")
    before = json.dumps(data.manifest, sort_keys=True)
    save_bundle(data, tmp_path / "copy")
    assert json.dumps(data.manifest, sort_keys=True) == before
    assert "weights" in json.loads((tmp_path / "copy" / MANIFEST).read_text())


def test_failed_write_leaves_old_bundle(trained, bundle_copy, monkeypatch):
    import topictag.model.writing as writing

    before = (bundle_copy / WEIGHTS).read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writing, "_write_synced", crash)
    with pytest.raises(OSError, match="disk full"):
        save_bundle(load_bundle(trained.path), bundle_copy, force=True)
    assert (bundle_copy / WEIGHTS).read_bytes() == before
    assert [p.name for p in bundle_copy.parent.iterdir() if p.name.startswith(".")] == []


def test_names_resolve_in_the_models_folder_then_the_package(tmp_path, monkeypatch, trained):
    monkeypatch.setenv("TOPICTAG_MODELS", str(tmp_path))
    shutil.copytree(trained.path, tmp_path / "mine")
    assert resolve_model("mine") == tmp_path / "mine"
    shipped = resolve_model("news-topics")
    assert (shipped / MANIFEST).is_file()  # not in tmp_path: the copy shipped with the package
    assert resolve_model("./x").name == "x"
