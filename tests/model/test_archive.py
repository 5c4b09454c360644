"""Reading .npz members from memory: the checks zipfile makes, the arrays np.load gives."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np
import pytest

from topictag.model import archive
from topictag.model.archive import ArchiveProblem, read_arrays

ARRAYS = {
    "coef": np.arange(12.0).reshape(4, 3),
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "empty": np.zeros(0),
    "words": np.frombuffer(b"oil\ngas", dtype=np.uint8),
}


def npz(compression: int = zipfile.ZIP_DEFLATED, arrays=ARRAYS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def accept(name, dtype, shape, done):
    return None


@pytest.fixture(autouse=True, params=["isal", "zlib"])
def inflater(request, monkeypatch):
    """Every test with ISA-L's inflater (a dependency) and with the standard library's."""
    if request.param == "zlib":
        monkeypatch.setattr(archive, "_inflater", lambda: zlib)
    else:
        assert archive._inflater().__name__ == "isal.isal_zlib"


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_members_read_as_np_load_reads_them(compression):
    data = npz(compression)
    arrays = read_arrays(data, list(ARRAYS), accept)
    reference = np.load(io.BytesIO(data))
    for name in ARRAYS:
        assert arrays[name].dtype == reference[name].dtype
        assert np.array_equal(arrays[name], reference[name])
        assert arrays[name].flags.c_contiguous


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def _info(data: bytes, name: str) -> zipfile.ZipInfo:
    return zipfile.ZipFile(io.BytesIO(data)).getinfo(name)


def test_a_wrong_crc_is_refused():
    data = npz(zipfile.ZIP_STORED)
    info = _info(data, "coef.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    spoiled = _flip(data, start + info.file_size - 1)  # the last byte of the array's data
    with pytest.raises(ArchiveProblem, match=r"coef: malformed \(bad CRC-32"):
        read_arrays(spoiled, list(ARRAYS), accept)


def test_a_local_header_that_disagrees_with_the_directory_is_refused():
    data = npz()
    info = _info(data, "coef.npy")
    renamed = data.replace(b"coef.npy", b"coeg.npy", 1)  # the local header comes first
    assert _info(renamed, "coef.npy").header_offset == info.header_offset
    with pytest.raises(ArchiveProblem, match=r"coef: malformed \(file name in directory"):
        read_arrays(renamed, list(ARRAYS), accept)
    moved = bytearray(data)
    struct.pack_into("<4s", moved, info.header_offset, b"PK\x01\x02")
    with pytest.raises(ArchiveProblem, match=r"coef: malformed \(bad magic number"):
        read_arrays(bytes(moved), list(ARRAYS), accept)


def test_a_deflate_stream_that_ends_early_or_runs_long_is_refused():
    data = npz()
    info = _info(data, "coef.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    broken = (
        data[: start + 20] + b"\0" * (info.compress_size - 20) + data[start + info.compress_size :]
    )
    with pytest.raises(ArchiveProblem, match=r"weights.npz: coef: (malformed|truncated)"):
        read_arrays(broken, list(ARRAYS), accept)


def test_the_header_check_sees_the_member_before_its_data():
    seen = []

    def refuse(name, dtype, shape, done):
        seen.append((name, str(dtype), shape, sorted(done)))
        return "not wanted" if name == "fortran" else None

    with pytest.raises(ArchiveProblem, match=r"weights.npz: fortran: not wanted"):
        read_arrays(npz(), list(ARRAYS), refuse)
    assert seen == [("coef", "float64", (4, 3), []), ("fortran", "float64", (2, 3), ["coef"])]
