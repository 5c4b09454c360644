"""Folders written whole: created, exchanged or refused, never half, never replaced unasked."""

from __future__ import annotations

import os

import pytest

from topictag.data import folders
from topictag.data.folders import atomic_folder, describe_existing
from topictag.errors import OutputError


def _refuse_notes(existing):
    if (existing / "notes.txt").exists():
        raise OutputError("notes are there")


def test_a_folder_is_created_whole_or_exchanged_whole(tmp_path):
    target = tmp_path / "report"
    with atomic_folder(target, _refuse_notes) as staging:
        (staging / "a.txt").write_text("first")
        assert not target.exists()
    with atomic_folder(target, _refuse_notes) as staging:
        (staging / "b.txt").write_text("second")
        assert (target / "a.txt").exists()  # the old folder stays until the swap
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


@pytest.mark.parametrize("exchange", [True, False])
def test_what_changed_before_the_swap_is_put_back(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(folders, "_rename2", lambda a, b, flag: None)
    target = tmp_path / "report"
    target.mkdir()
    calls = []

    def check(existing):
        calls.append(existing)
        if len(calls) == 2:  # after this check, before the swap, someone writes notes
            (target / "notes.txt").write_text("mine")
        _refuse_notes(existing)

    with (
        pytest.raises(OutputError, match="notes are there"),
        atomic_folder(target, check) as staging,
    ):
        (staging / "a.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_without_renameat2_a_folder_is_still_never_replaced_unasked(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "_rename2", lambda a, b, flag: None)
    target = tmp_path / "report"
    with atomic_folder(target, _refuse_notes) as staging:
        (staging / "a.txt").write_text("first")
    with atomic_folder(target, _refuse_notes) as staging:
        (staging / "b.txt").write_text("second")
    assert [p.name for p in target.iterdir()] == ["b.txt"]
    (target / "notes.txt").write_text("mine")
    with pytest.raises(OutputError), atomic_folder(target, _refuse_notes):
        pass
    assert sorted(p.name for p in target.iterdir()) == ["b.txt", "notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_what_is_there_is_described_in_a_few_words(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "sub").mkdir()
    for name in ("a", "b\nc", "e", "f"):
        (tmp_path / "d" / name).write_text("x")
    assert describe_existing(tmp_path / "d") == r"a folder holding a, b\nc, e, f, ... (5 in all)"
    assert describe_existing(tmp_path / "d" / "a") == "a file (1 bytes)"
    assert describe_existing(tmp_path / "nothing") == "nothing"
    os.mkfifo(tmp_path / "p")
    assert describe_existing(tmp_path / "p") == "a FIFO"
