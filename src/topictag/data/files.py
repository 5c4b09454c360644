"""Files written so that a crash leaves the old content or the new, never half of either.

A regular file is written to a temporary sibling, synced and renamed over its path
(:func:`atomic_write`; folders: :mod:`topictag.data.folders`). An output that is a FIFO or a
device is written to, not replaced (streamed, so not atomic); a symbolic link is written
through to its target; an existing file keeps its mode and owner. Temporary names carry their
owner's pid (``.NAME.PID.RANDOM.tmp``), so the next write to the same path removes what a
killed run left behind and never what a live one is writing. Problems with the output are
one-line :class:`~topictag.errors.OutputError` messages.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any, BinaryIO

from topictag.errors import OutputError

# Errors of the output itself (as opposed to whatever the caller's own code raised).
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES}


def file_sha256(paths: Iterable[str | Path]) -> str:
    """Return the SHA-256 of the files' bytes, concatenated in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


class _Hashing(io.RawIOBase):
    """A raw stream that feeds every byte read through it to some digests."""

    def __init__(self, stream: Any, digests: tuple[Any, ...]):
        self._stream, self._digests = stream, digests

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = int(self._stream.readinto(buffer) or 0)
        view = memoryview(buffer)[:count]
        for digest in self._digests:
            digest.update(view)
        return count

    def fileno(self) -> int:
        return int(self._stream.fileno())


def hashing_reader(stream: Any, *digests: Any) -> BinaryIO:
    """Wrap a binary stream so that what is read from it, byte for byte, updates ``digests``.

    A pipe or stdin can be read once only: this hashes exactly what was read, in one pass.
    """
    return io.BufferedReader(_Hashing(stream, digests))


def check_output_file(path: str | Path) -> None:
    """Check early that a file can be written at ``path``, creating nothing that stays.

    Raises
    ------
    OutputError
        If ``path`` is a folder, or its folder cannot be written (read-only, no permission).
    """
    shown = Path(path)
    target = resolve_link(shown)
    if target.is_dir():
        raise OutputError(f"{shown}: is a folder, expected a file")
    if target.exists() and not target.is_file():
        return  # a FIFO or a device: written to, not replaced
    probe_writable(target, shown)


@contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; rename it over ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched, and folders
    created for it are removed again. A new file gets the usual mode (``0o666`` less the
    umask, applied by the kernel; the umask is never changed); a replaced file keeps its mode
    and, where permitted, its owner. A symbolic link is followed (its target is replaced). A
    FIFO or a device is opened and written to instead, as a stream.

    Raises
    ------
    OutputError
        If ``path`` is a folder, or the disk refuses the write (full, read-only, no permission,
        a file size limit).
    """
    shown = Path(path)
    target = resolve_link(shown)
    encoding = None if "b" in mode else "utf-8"
    try:
        info: os.stat_result | None = os.stat(target)
    except OSError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{shown}: is a folder, expected a file")
    if info is not None and not stat.S_ISREG(info.st_mode):
        with output_errors(shown), open(target, mode, encoding=encoding) as stream:
            yield stream
        return
    made = make_parents(target.parent, shown)
    with output_errors(shown, made):
        remove_stale(target)
        fd, tmp = _create_sibling(target)
        try:
            if info is not None:
                _keep_mode_and_owner(fd, info)
            with os.fdopen(fd, mode, encoding=encoding) as handle:
                yield handle
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file and sync it to disk."""
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


_TEMPORARY = re.compile(r"\.(\d+)\.[0-9a-f]{12}\.tmp")


def remove_stale(path: str | Path) -> list[Path]:
    """Remove the temporary siblings of ``path`` left by runs that were killed; return them.

    Only names this module makes (``.NAME.PID.RANDOM.tmp``) whose process is gone are removed;
    a live run's files are left alone.
    """
    import shutil

    path = Path(path)
    prefix = f".{path.name}"
    removed = []
    try:
        entries = [e for e in os.scandir(path.parent) if e.name.startswith(prefix)]
    except OSError:
        return []
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name[len(prefix) :])
        if match is None or int(match[1]) == os.getpid() or _alive(int(match[1])):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            Path(entry.path).unlink(missing_ok=True)
        removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (and is not a zombie); True where that cannot be told."""
    if os.name != "posix":
        return True  # os.kill(pid, 0) would end the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def temporary_suffix() -> str:
    """The middle of a temporary name: this process's pid and 12 random hex digits."""
    return f"{os.getpid()}.{os.urandom(6).hex()}"


def _create_sibling(path: Path) -> tuple[int, str]:
    """Create a new, empty hidden sibling of ``path``; return its descriptor and name."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = str(path.parent / f".{path.name}.{temporary_suffix()}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def resolve_link(path: Path) -> Path:
    """Follow a symbolic link at ``path`` (a chain, or one to a place not made yet)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def probe_writable(target: Path, shown: Path) -> None:
    """Create and remove a temporary file where ``target`` will be written."""
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"{shown}: cannot write there ({folder} is not a folder)")
    try:
        fd, tmp = _create_sibling(folder / target.name)
    except OSError as exc:
        raise OutputError(f"{shown}: cannot write there ({exc.strerror})") from None
    os.close(fd)
    os.unlink(tmp)


def make_parents(folder: Path, shown: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created, deepest last."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    made: list[Path] = []
    for item in reversed(missing):
        try:
            os.mkdir(item)
        except FileExistsError:
            continue
        except OSError as exc:
            remove_made(made)
            raise OutputError(f"{shown}: cannot create {item} ({exc.strerror})") from None
        made.append(item)
    return made


def remove_made(made: list[Path]) -> None:
    """Remove the folders :func:`make_parents` made, deepest first, while they are empty."""
    for folder in reversed(made):
        try:
            os.rmdir(folder)
        except OSError:
            return


@contextmanager
def output_errors(shown: Path, made: list[Path] | None = None) -> Iterator[None]:
    """Turn the disk's refusals into one-line errors; remove the folders made on failure."""
    try:
        yield
    except OSError as exc:
        if made:
            remove_made(made)
        if exc.errno not in _DISK_ERRORS and not isinstance(exc, IsADirectoryError):
            raise
        raise OutputError(f"{shown}: cannot write ({exc.strerror})") from None
    except BaseException:
        if made:
            remove_made(made)
        raise


def _keep_mode_and_owner(fd: int, info: os.stat_result) -> None:
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    if hasattr(os, "fchown") and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        with suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, info.st_uid, info.st_gid)


def fsync_dir(path: Path) -> None:
    """Sync a folder, so that a rename in it is on disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
