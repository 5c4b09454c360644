from __future__ import annotations

import os
import stat

import pytest

from topictag.data import files
from topictag.data.files import atomic_write


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_the_written_file_gets_the_umask_and_the_umask_is_never_changed(
    tmp_path, umask_027, monkeypatch
):
    def refuse(mask):
        raise AssertionError("atomic_write changed the process umask")

    monkeypatch.setattr(os, "umask", refuse)
    with atomic_write(tmp_path / "out.txt") as handle:
        handle.write("héllo\n")
    monkeypatch.undo()
    target = tmp_path / "out.txt"
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_write(target, "wb") as handle:
        handle.write(b"half")
        raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_a_taken_temporary_name_is_skipped(tmp_path, monkeypatch):
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(files, "_suffix", lambda: next(names))
    (tmp_path / ".x.txt.aaaa.tmp").write_text("someone else's")
    with atomic_write(tmp_path / "x.txt") as handle:
        handle.write("mine")
    assert (tmp_path / "x.txt").read_text() == "mine"
    assert (tmp_path / ".x.txt.aaaa.tmp").read_text() == "someone else's"
