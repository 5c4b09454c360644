"""Folders written whole: staged beside their path and swapped in, never replacing by accident.

A folder (a model bundle, an evaluation report) is staged as a hidden sibling
(``.NAME.PID.RANDOM.tmp``, see :mod:`topictag.data.files`) and moved to its path at once. On
Linux ``renameat2(RENAME_NOREPLACE)`` creates it only if nothing is there, race included, and
``RENAME_EXCHANGE`` swaps it with what is there, after the caller's check of that: readers see
the old folder or the new one, whole. Elsewhere the name is claimed with ``mkdir`` and an old
folder is moved aside first (not atomic for readers, still never replaced unasked).
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from topictag.data.files import (
    fsync_dir,
    make_parents,
    output_errors,
    probe_writable,
    remove_made,
    remove_stale,
    resolve_link,
    temporary_suffix,
)
from topictag.errors import OutputError


def describe_existing(path: str | Path) -> str:
    """Say in a few words what is at ``path``: a file, a FIFO, a folder and its first entries."""
    try:
        info = os.lstat(path)
    except OSError:
        return "nothing"
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISREG(mode):
        return f"a file ({info.st_size} bytes)"
    if not stat.S_ISDIR(mode):
        kinds = [(stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device")]
        kinds += [(stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")]
        return next((name for test, name in kinds if test(mode)), "a special file")
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        return f"a folder that cannot be listed ({exc.strerror})"
    if not entries:
        return "an empty folder"
    shown = [repr(e.name)[1:-1] + ("/" if e.is_dir() else "") for e in entries[:4]]
    more = f", ... ({len(entries)} in all)" if len(entries) > 4 else ""
    return f"a folder holding {', '.join(shown)}{more}"


def check_output_folder(path: str | Path, may_replace: Callable[[Path], None]) -> None:
    """Check early that a folder can be created or replaced at ``path`` (see :func:`atomic_folder`).

    Raises
    ------
    OutputError
        If the place cannot be written; whatever ``may_replace`` raises for what is there.
    """
    shown = Path(path)
    target = resolve_link(shown)
    if os.path.lexists(target):
        may_replace(target)
    probe_writable(target, shown)


@contextmanager
def atomic_folder(path: str | Path, may_replace: Callable[[Path], None]) -> Iterator[Path]:
    """Yield an empty staging folder beside ``path``; swap it in at ``path`` on success.

    Parameters
    ----------
    path : path
        The folder to create, or to replace whole (a symbolic link is followed).
    may_replace : callable
        Called with what is at the path before anything is written, and again with what was
        swapped out (it may have changed meanwhile): raises if that must not be replaced, and
        the swap is undone.

    On Linux an absent ``path`` is created with ``renameat2(RENAME_NOREPLACE)`` and an existing
    one exchanged with ``RENAME_EXCHANGE``: readers see the old folder or the new, whole. On an
    exception nothing new stays at ``path`` or beside it.

    Raises
    ------
    OutputError
        If the disk refuses the write; whatever ``may_replace`` raises.
    """
    shown = Path(path)
    target = resolve_link(shown)
    if os.path.lexists(target):
        may_replace(target)
    made = make_parents(target.parent, shown)
    staging: Path | None = None
    try:
        with output_errors(shown, made):
            remove_stale(target)
            staging = _make_staging(target)
            yield staging
            fsync_dir(staging)
            _place(staging, target, may_replace)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)  # after an exchange: the old folder
        if made and not target.exists():
            remove_made(made)


def _make_staging(path: Path) -> Path:
    """Create an empty hidden sibling folder of ``path`` (mode ``0o777`` less the umask)."""
    for _ in range(100):
        staging = path.parent / f".{path.name}.{temporary_suffix()}.tmp"
        try:
            os.mkdir(staging, 0o777)
            return staging
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name next to {path}")


def _place(staging: Path, target: Path, may_replace: Callable[[Path], None]) -> None:
    """Move ``staging`` to ``target``: created if absent, exchanged if ``may_replace`` allows."""
    for _ in range(5):
        created = _rename2(staging, target, _NOREPLACE)
        if created is None:  # no renameat2: claim the name with mkdir, then rename over it
            try:
                os.mkdir(target)
                os.rename(staging, target)
                created = True
            except FileExistsError:
                created = False
        if created:
            fsync_dir(target.parent)
            return
        may_replace(target)
        exchanged = _rename2(staging, target, _EXCHANGE)
        if exchanged is None:
            _replace_without_exchange(staging, target, may_replace)
            fsync_dir(target.parent)
            return
        if not exchanged:
            continue  # it vanished meanwhile: try to create it again
        try:
            may_replace(staging)  # what was swapped out, in case it changed since the check
        except BaseException:
            _rename2(staging, target, _EXCHANGE)
            raise
        fsync_dir(target.parent)
        return
    raise OutputError(f"{target}: keeps changing while being written; try again")


def _replace_without_exchange(
    staging: Path, target: Path, may_replace: Callable[[Path], None]
) -> None:
    """Where no atomic exchange exists: move the old folder aside first, then the new one in."""
    aside = target.parent / f".{target.name}.{temporary_suffix()}.tmp"
    os.rename(target, aside)
    try:
        may_replace(aside)  # what was moved aside, in case it changed since the check
    except BaseException:
        os.rename(aside, target)
        raise
    os.rename(staging, target)
    os.rename(aside, staging)  # the caller removes what is at ``staging``


_NOREPLACE, _EXCHANGE = 1, 2


def _rename2(a: Path, b: Path, flag: int) -> bool | None:
    """Linux ``renameat2(a, b, flag)``: True if done, False if ``b`` exists (or is gone, for an
    exchange), None where the call does not exist.
    """
    import ctypes

    try:  # the C library the interpreter is linked with (glibc 2.28 and later has renameat2)
        renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    except OSError:
        return None
    if renameat2 is None:
        return None
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), flag) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOENT):
        return False
    if code in (errno.ENOSYS, errno.EINVAL):  # an old kernel, or a file system without it
        return None
    raise OSError(code, os.strerror(code), str(b))
