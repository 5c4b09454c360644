"""Bundles found hostile by ``make fuzz`` (tests/fuzz/fuzz_bundle.py): each stays a test.

Both hashes of these bundles match (a tool that writes bundles made them), so the loader's
deeper checks are what must refuse them, with one ``ModelError`` naming the folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_MODEL
from topictag.errors import ModelError
from topictag.model.bundle import MANIFEST, WEIGHTS, load_bundle
from topictag.model.inference import load_model
from topictag.model.manifest import integrity_of
from topictag.model.pruning import prune_model
from topictag.model.writing import save_bundle


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return save_bundle(prune_model(load_bundle(DEFAULT_MODEL), max_features=40), tmp_path / "m")


def _rehash(folder: Path, change=None) -> None:
    manifest = json.loads((folder / MANIFEST).read_text())
    if change is not None:
        change(manifest)
    manifest["weights"]["sha256"] = hashlib.sha256((folder / WEIGHTS).read_bytes()).hexdigest()
    manifest.pop("integrity")
    manifest["integrity"] = integrity_of(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest))


def test_a_member_whose_deflate_stream_is_corrupt_is_refused(small):
    # found by make fuzz: tests/fuzz/corpus/bundle/npz-member-bad-deflate
    data = bytearray((small / WEIGHTS).read_bytes())
    start = data.index(b"PK\x03\x04") + 30 + int.from_bytes(data[26:28], "little") + 40
    data[start : start + 8] = b"\xff" * 8  # inside the first member's compressed bytes
    (small / WEIGHTS).write_bytes(bytes(data))
    _rehash(small)
    with pytest.raises(ModelError, match=rf"^{small}"):
        load_bundle(small)


def test_a_token_pattern_that_parses_but_does_not_compile_is_refused(small):
    # found by make fuzz (recipe target, the same pattern in a bundle): (?t) is TEMPLATE
    def change(manifest):
        manifest["views"][0]["token_pattern"] = r"(?t)\b\w\w+\b"

    _rehash(small, change)
    with pytest.raises(ModelError, match=rf"^{small}.*token_pattern"):
        load_model(small).predict(["Oil prices rose."])


def test_an_archive_claiming_an_unknown_zip_version_is_refused(small):
    # found by make fuzz: tests/fuzz/corpus/bundle/zip-version-unsupported
    data = bytearray((small / WEIGHTS).read_bytes())
    entry = data.index(b"PK\x01\x02")  # the first central directory entry
    data[entry + 6 : entry + 8] = (255).to_bytes(2, "little")  # "version needed": 25.5
    (small / WEIGHTS).write_bytes(bytes(data))
    _rehash(small)
    with pytest.raises(ModelError, match=rf"^{small}"):
        load_bundle(small)
