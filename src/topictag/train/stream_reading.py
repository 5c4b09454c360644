"""Reading a corpus for streaming training: files cut into blocks, blocks read in chunks."""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from topictag.data.corpus import Record, iter_lines, parse_json_object, parse_record
from topictag.errors import DataError


@dataclass(frozen=True)
class Block:
    """Part of a corpus file: bytes [start, end) from line ``first_line`` (end -1: to the end)."""

    path: str
    start: int
    end: int
    first_line: int
    index: int


def plan_blocks(path: str | Path, block_bytes: int) -> list[tuple[int, int, int]]:
    """Cut a file into blocks of about ``block_bytes`` at line ends: (start, end, first line).

    Raises
    ------
    DataError
        If the file cannot be read.
    """
    blocks = []
    try:
        with open(path, "rb") as handle:
            start, line = 0, 1
            while True:
                data = handle.read(block_bytes)
                if not data:
                    break
                data += handle.readline()  # up to the end of the line the block cuts into
                blocks.append((start, start + len(data), line))
                start += len(data)
                line += data.count(b"\n")
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror}", source=str(path)) from None
    return blocks or [(0, 0, 1)]


def plan(paths: Sequence[str | Path], block_bytes: int) -> list[Block]:
    """Cut the files into blocks (a gzipped file is one block)."""
    blocks: list[Block] = []
    for path in map(str, paths):
        parts = [(0, -1, 1)] if path.lower().endswith(".gz") else plan_blocks(path, block_bytes)
        blocks += [Block(path, *part, index=len(blocks) + k) for k, part in enumerate(parts)]
    return blocks


def iter_block(block: Block) -> Iterator[Record]:
    """Yield a block's records, checked as :func:`topictag.data.corpus.read_corpus` does."""
    try:
        handle = open(block.path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror}", source=block.path) from None
    with handle:
        handle.seek(block.start)
        stream: Any = gzip.GzipFile(fileobj=handle) if block.end < 0 else handle
        lines = iter_lines(block.path, _Limited(stream, block.end - block.start))  # type: ignore[arg-type]
        for number, line in lines:
            number += block.first_line - 1
            if line.strip():
                obj = parse_json_object(line, source=block.path, line=number)
                yield parse_record(obj, source=block.path, line=number)


class _Limited:
    """A stream's lines up to ``size`` bytes (all of it when size < 0), read with ``readline``.

    A block ends after the line that crosses its end: the next block starts after that line.
    """

    def __init__(self, stream: Any, size: int):
        self.stream, self.size, self.read = stream, size, 0

    def readline(self, limit: int = -1) -> bytes:
        if 0 <= self.size <= self.read:
            return b""
        raw: bytes = self.stream.readline(limit)
        self.read += len(raw)
        return raw


def iter_chunks(
    block: Block, chunk_rows: int, keep: set[str] | None, tests: list[Record] | None = None
) -> Iterator[list[Record]]:
    """Yield the block's training-split records (labels restricted to ``keep``) in chunks.

    Test-split records go to ``tests`` when given.
    """
    chunk: list[Record] = []
    for record in iter_block(block):
        if record.split == "test":
            if tests is not None:
                tests.append(restrict(record, keep))
            continue
        chunk.append(restrict(record, keep))
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def restrict(record: Record, keep: set[str] | None) -> Record:
    if keep is None or record.labels is None:
        return record
    return replace(record, labels=tuple(x for x in record.labels if x in keep))
