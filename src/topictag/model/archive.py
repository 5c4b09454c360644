"""Reading a bundle's files without trusting them: one folder, regular files, bounded sizes.

A bundle folder is opened once, and both of its files are read through that one handle
(``openat``), so a concurrent swap of the folder (``train --force`` exchanges it atomically) is
invisible: a reader sees the old bundle or the new one, never one file of each. Only regular
files are read (``fstat`` after opening, so links are followed but FIFOs, devices and links to
them are refused), each within a size bound.

``weights.npz`` is audited before anything is decompressed: the member names must be exactly
the expected ones, and each member's ``.npy`` header (dtype, shape) must match what the manifest
implies, with the member's declared size equal to the header plus the data it describes.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MAX_MANIFEST_BYTES = 64 << 20  # model.json: metrics and tuning records, never near this
MAX_WEIGHTS_BYTES = 8 << 30  # weights.npz on disk
MAX_MEMBER_BYTES = 8 << 30  # one array, decompressed
_HEADER_BYTES = 1 << 16  # an .npy header is a few hundred bytes


class ArchiveProblem(ValueError):
    """A bundle file that cannot be trusted; ``file`` names it within the folder."""

    def __init__(self, file: str, problem: str):
        self.file = file
        self.problem = problem
        super().__init__(f"{file}: {problem}")


@contextmanager
def open_folder(path: Path) -> Iterator[int]:
    """Open a bundle folder once and yield its descriptor (symlinks to folders are followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        raise ArchiveProblem(str(path), "no model bundle there") from None
    except NotADirectoryError:
        raise ArchiveProblem(str(path), "no model bundle there (not a folder)") from None
    except OSError as exc:
        raise ArchiveProblem(str(path), f"cannot open ({exc.strerror})") from None
    try:
        yield fd
    finally:
        os.close(fd)


def read_member_file(folder: int, name: str, limit: int) -> bytes:
    """Read the regular file ``name`` of an open folder, at most ``limit`` bytes.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ArchiveProblem
        If it is not a regular file, is larger than ``limit``, or cannot be read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO must not block the open
    try:
        fd = os.open(name, flags, dir_fd=folder)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ArchiveProblem(name, f"cannot open ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ArchiveProblem(name, f"not a regular file ({_kind(info.st_mode)})")
        if info.st_size > limit:
            raise ArchiveProblem(name, f"{info.st_size} bytes, more than the limit of {limit}")
        chunks, total = [], 0
        while block := os.read(fd, 1 << 20):
            total += len(block)
            if total > limit:
                raise ArchiveProblem(name, f"more than the limit of {limit} bytes")
            chunks.append(block)
        return b"".join(chunks)
    except OSError as exc:
        raise ArchiveProblem(name, f"cannot read ({exc.strerror})") from None
    finally:
        os.close(fd)


Expected = Callable[[str, np.dtype, tuple[int, ...], dict[str, np.ndarray]], str | None]


def read_arrays(data: bytes, names: list[str], check: Expected) -> dict[str, np.ndarray]:
    """Audit and read the arrays of an ``.npz`` archive held in memory.

    Parameters
    ----------
    data : bytes
        The archive.
    names : list of str
        The member names (without ``.npy``) it must hold, in the order to read them; nothing
        more, nothing less.
    check : callable
        ``check(name, dtype, shape, arrays)`` returns what is wrong with a member's header, or
        None; ``arrays`` holds the members read before it. Called before the member's data is
        decompressed.

    Raises
    ------
    ArchiveProblem
        On any member that is unexpected, missing, oversized or inconsistent.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError, EOFError) as exc:
        raise ArchiveProblem("weights.npz", f"not a valid npz archive ({exc})") from None
    with archive:
        infos = archive.infolist()
        present = [info.filename for info in infos]
        wanted = [f"{name}.npy" for name in names]
        if len(set(present)) != len(present):
            raise ArchiveProblem("weights.npz", "a member name appears twice")
        extra = sorted(set(present) - set(wanted))
        if extra:
            raise ArchiveProblem("weights.npz", f"unexpected member {extra[0]!r}")
        missing = [w for w in wanted if w not in present]
        if missing:
            raise ArchiveProblem("weights.npz", f"missing member {missing[0]!r}")
        by_name = {info.filename: info for info in infos}
        arrays: dict[str, np.ndarray] = {}
        for name in names:
            info = by_name[f"{name}.npy"]
            arrays[name] = _read_member(archive, info, name, check, arrays)
        return arrays


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    check: Expected,
    done: dict[str, np.ndarray],
) -> np.ndarray:
    where = f"weights.npz: {name}"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ArchiveProblem(where, f"unsupported compression method {info.compress_type}")
    if info.flag_bits & 0x1:
        raise ArchiveProblem(where, "encrypted member")
    if info.file_size > MAX_MEMBER_BYTES:
        raise ArchiveProblem(where, f"{info.file_size} bytes decompressed, over the limit")
    try:
        with archive.open(info) as member:
            head = member.read(min(_HEADER_BYTES, info.file_size))
            stream = io.BytesIO(head)
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream)
            else:
                raise ArchiveProblem(where, f"unsupported .npy version {version}")
            if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
                raise ArchiveProblem(where, f"dtype {dtype} is not a plain number type")
            problem = check(name, dtype, tuple(shape), done)
            if problem:
                raise ArchiveProblem(where, problem)
            offset = stream.tell()
            size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if info.file_size != offset + size:
                raise ArchiveProblem(
                    where, f"declares {info.file_size} bytes, its header describes {offset + size}"
                )
            body = head[offset:] + member.read(size - (len(head) - offset))
    except (
        zipfile.BadZipFile,
        ValueError,
        OSError,
        EOFError,
        NotImplementedError,
        zlib.error,
    ) as exc:
        raise ArchiveProblem(where, f"malformed ({exc})") from None
    if len(body) != size:
        raise ArchiveProblem(where, "truncated")
    array = np.frombuffer(body, dtype=dtype)
    array = array.reshape(shape, order="F" if fortran else "C")
    return np.ascontiguousarray(array)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"
