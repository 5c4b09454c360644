from __future__ import annotations

import hashlib
import os
import stat
import threading

import pytest

from topictag.data import files
from topictag.data.files import atomic_write, hashing_reader


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
    monkeypatch.setattr(files, "temporary_suffix", lambda: next(names))
    (tmp_path / ".x.txt.aaaa.tmp").write_text("someone else's")
    with atomic_write(tmp_path / "x.txt") as handle:
        handle.write("mine")
    assert (tmp_path / "x.txt").read_text() == "mine"
    assert (tmp_path / ".x.txt.aaaa.tmp").read_text() == "someone else's"


def test_temporary_names_carry_the_owner_pid_and_stale_ones_are_removed(tmp_path):
    target = tmp_path / "out.txt"
    dead = tmp_path / ".out.txt.999999999.0123456789ab.tmp"  # no process has this pid
    dead.write_text("left by a killed run")
    folder = tmp_path / ".out.txt.999999998.0123456789ab.tmp"
    folder.mkdir()
    live = tmp_path / f".out.txt.{os.getppid()}.0123456789ab.tmp"  # a live run's
    live.write_text("being written")
    other = tmp_path / ".out.txt.b.999999999.0123456789ab.tmp"  # another file's
    other.write_text("not ours")
    with atomic_write(target) as handle:
        (name,) = [
            p.name for p in tmp_path.iterdir() if p.name.startswith(f".out.txt.{os.getpid()}.")
        ]
        handle.write("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "out.txt"])
    assert name.endswith(".tmp")


def test_a_symlink_is_written_through_and_a_fifo_is_streamed_to(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(real.name)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    with atomic_write(fifo) as handle:
        handle.write("streamed")
    reader.join(timeout=10)
    assert got == ["streamed"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_failed_write_removes_the_folders_it_made(tmp_path):
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "a" / "b" / "out.txt") as handle:
        handle.write("half")
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []


def test_a_stream_is_hashed_as_it_is_read(tmp_path):
    data = b"line one\nline two\n" * 1000
    read, write = os.pipe()
    os.write(write, data)
    os.close(write)
    digest = hashlib.sha256()
    with os.fdopen(read, "rb", buffering=0) as raw:
        stream = hashing_reader(raw, digest)
        lines = list(iter(stream.readline, b""))
    assert b"".join(lines) == data and digest.hexdigest() == hashlib.sha256(data).hexdigest()
