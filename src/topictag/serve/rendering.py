"""Every label's probability as JSON text, for a whole batch at once, byte for byte as ``json``.

An answer with every label's probability holds dozens of numbers, and ``json`` formats each
with ``float.__repr__`` (a shortest-round-trip search, about as slow as the rest of the
classifying put together). The numbers here are probabilities rounded to 6 decimals, so each
is ``k / 10**6`` for an integer ``k`` in ``[0, 10**6]``, and its ``repr`` follows from ``k``
alone: ``0.`` and the six digits without trailing zeros, ``1e-05``-style below ``1e-04``,
``0.0`` and ``1.0`` at the ends. :func:`probabilities_json` makes each one's text as 8 bytes
from two tables of a thousand (the first three decimals, the last three), lays the texts into
a byte template of the JSON object (label names and separators in place, each number in an
8-byte slot) and drops the slots' padding: a few array operations per batch, six times faster
than ``json``. :func:`render_jsonl` splices the text into the row. A test holds it to
``json`` on every ``k``.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import numpy as np

SCALE = 10**6  # probabilities are rounded to 6 decimals


class JSONText(str):
    """A row's value already rendered as JSON text: :func:`render_jsonl` writes it as it is."""

    __slots__ = ()


def render_jsonl(rows: list[dict[str, Any]]) -> str:
    """Render output rows as JSON Lines.

    Scores rendered already (:class:`JSONText`) are spliced in: the row is encoded with a
    placeholder in their place, which is then replaced by the text.
    """
    dumps = _ENCODER.encode
    lines = []
    for row in rows:
        scores = row.get("scores")
        if type(scores) is JSONText:
            text = dumps({**row, "scores": _PLACEHOLDER})
            lines.append(text.replace(_PLACED, '"scores": ' + scores, 1))
        else:
            lines.append(dumps(row))
    return "".join(line + "\n" for line in lines)


_ENCODER = json.JSONEncoder(ensure_ascii=False)
_PLACEHOLDER = "\0scores-" + os.urandom(8).hex()  # no input holds it, by chance of 2**-64
_PLACED = '"scores": ' + _ENCODER.encode(_PLACEHOLDER)


def probabilities_json(proba: np.ndarray, names: list[str]) -> list[str]:
    """Each row's ``{"label": probability, ...}`` JSON text, as ``json`` writes the dict of
    ``np.round(proba, 6)`` (``ensure_ascii=False``, default separators)."""
    n, width = proba.shape
    if n == 0:
        return []
    if width == 0:
        return ["{}"] * n
    template, slots = _template(tuple(names))
    k = np.rint(np.asarray(proba, dtype=np.float64) * SCALE).astype(np.int64)
    np.clip(k, 0, SCALE, out=k)
    rows = np.empty((n, template.size), dtype=np.uint8)
    rows[:] = template
    rows.view("<u8")[:, slots] = _number_texts(k)  # the values of 8 little-endian bytes
    keep = rows != 0
    text = rows[keep].tobytes().decode("utf-8")
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    if text.isascii():
        return [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]
    raw = rows[keep].tobytes()  # character offsets differ from byte offsets: cut the bytes
    return [raw[a:b].decode("utf-8") for a, b in zip([0, *ends[:-1]], ends, strict=True)]


@functools.lru_cache(maxsize=8)
def _template(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The JSON object's bytes with an 8-byte, 8-aligned zero slot where each number goes."""
    parts: list[bytes] = []
    slots = []
    size = 0
    for j, name in enumerate(names):
        key = ("{" if j == 0 else ", ") + json.dumps(name, ensure_ascii=False) + ": "
        piece = key.encode("utf-8")
        pad = -(size + len(piece)) % 8
        parts += [piece, b"\0" * pad]
        size += len(piece) + pad
        slots.append(size // 8)
        parts.append(b"\0" * 8)
        size += 8
    closing = b"}" + b"\0" * 7
    parts.append(closing)
    template = np.frombuffer(b"".join(parts), dtype=np.uint8).copy()
    return template, np.asarray(slots, dtype=np.intp)


def _number_texts(k: np.ndarray) -> np.ndarray:
    """``repr(k / 10**6)`` for integers k in [0, 10**6], each as 8 bytes padded with zeros."""
    high, low = np.divmod(k, 1000)
    first, stripped, last = _tables()
    codes = np.where(low == 0, stripped[high], first[high] | last[low])
    small = k < 100  # below 1e-04 repr switches to exponents: "1.2e-05"
    if small.any():
        codes[small] = _small_codes()[k[small]]
    codes[k == SCALE] = _code(b"1.0")
    return codes


@functools.cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of "0.ddd" (the first three decimals), of the same without trailing zeros, and
    of the last three decimals without trailing zeros, placed after the first five bytes."""
    first = np.array([_code(b"0.%03d" % h) for h in range(1001)], dtype=np.uint64)
    stripped = np.array([_code((b"0.%03d" % h).rstrip(b"0")) for h in range(1001)], np.uint64)
    last = np.array(
        [_code(b"\0" * 5 + (b"%03d" % lo).rstrip(b"0")) for lo in range(1000)], np.uint64
    )
    return first, stripped, last


@functools.cache
def _small_codes() -> np.ndarray:
    return np.array([_code(repr(k / SCALE).encode()) for k in range(100)], dtype=np.uint64)


def _code(text: bytes) -> int:
    """Up to 8 bytes as the little-endian uint64 whose bytes they are (zeros after)."""
    return int.from_bytes(text.ljust(8, b"\0"), "little")
