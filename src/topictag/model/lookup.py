"""Looking up the words of ASCII text in a vocabulary with array operations, not a dict.

With scikit-learn's default token pattern, the words of ASCII text are the runs of
``[A-Za-z0-9_]`` (two characters or more). :class:`WordTable` finds them for a whole batch
at once in the bytes of the joined texts, packs each word of up to 24 bytes into three 64-bit
integers (its bytes, zero-padded) and finds it in an open-addressing hash table of the
vocabulary's words packed the same way, comparing all 24 bytes: the same answer as the
dict, exactly, without a Python object per word. Longer words go through a dict of the
vocabulary's long words. Text that is not ASCII is the caller's (:mod:`topictag.model.inference`
analyzes it as before).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

WIDTH = 24  # bytes of a word packed into three uint64
_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9], dtype=np.uint64
)
_MASKS = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)  # n low bytes


@functools.cache
def word_bytes_table(*, lower: bool) -> bytes:
    """A ``bytes.translate`` table: word characters kept (or lowercased), every other byte 0."""
    table = bytearray(256)
    for code in range(128):
        char = chr(code)
        if char.isalnum() or char == "_":
            table[code] = ord(char.lower() if lower else char)
    return bytes(table)


class WordTable:
    """A vocabulary's ASCII words as a hash table of packed bytes.

    Parameters
    ----------
    vocabulary : list of str
        The terms, in column order. Terms that no ASCII text can produce (other characters,
        one character) are left out; a word occurring twice makes ``usable`` false.
    lower : bool
        Whether the view lowercases text.
    """

    def __init__(self, vocabulary: list[str], *, lower: bool):
        self.translate = word_bytes_table(lower=lower)
        raw_bytes = "\n".join(vocabulary).encode("utf-8")  # a bundle's terms hold no line break
        words = raw_bytes.translate(self.translate)
        raw, translated = np.frombuffer(raw_bytes, np.uint8), np.frombuffer(words, np.uint8)
        ends = np.append(np.flatnonzero(raw == ord("\n")), len(raw)).astype(np.int64)
        starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        changed = np.concatenate([[0], np.cumsum(translated != raw)])  # bytes no word keeps
        lengths = ends - starts
        usable = (changed[ends] - changed[starts] == 0) & (lengths >= 2)
        whole = len(ends) == max(len(vocabulary), 1)  # else a term held a line break
        if not whole:
            usable[:] = False
        long = np.flatnonzero(usable & (lengths > WIDTH))
        self.long = {vocabulary[i]: i for i in long.tolist()}
        short = np.flatnonzero(usable & (lengths <= WIDTH))
        padded = np.frombuffer(words + b"\0" * (WIDTH + 8), np.uint8)
        self.keys = _pack(padded, starts[short], lengths[short])
        self.ids = short.astype(np.int64)
        size = 1 << max(10, (4 * len(short)).bit_length())  # at most a quarter full
        self.shift = np.uint64(64 - (size.bit_length() - 1))
        self.mask = size - 1
        self.slots = np.full(size, -1, dtype=np.int64)  # an index into keys, or -1
        unique = len(set(vocabulary)) == len(vocabulary)  # a dict keeps the last of twins
        self.usable = unique and whole and self._insert(self.keys)

    def lookup(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each word's column (-1 when unknown) and the index of its text, for ASCII texts."""
        joined = "\0".join(texts).encode("ascii").translate(self.translate)
        buffer = np.frombuffer(joined + b"\0" * (WIDTH + 1), np.uint8)
        starts, ends = _runs(buffer != 0)
        lengths = ends - starts
        keep = lengths >= 2  # one character is never a term of the pattern
        starts, lengths = starts[keep], lengths[keep]
        offsets = np.cumsum([0, *(len(text) + 1 for text in texts)])  # where each text starts
        firsts = np.searchsorted(starts, offsets)  # each text's first word
        docs = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(firsts))
        columns = np.full(len(starts), -1, dtype=np.int64)
        short = lengths <= WIDTH
        if short.all():
            return self._find(_pack(buffer, starts, lengths)), docs
        else:
            columns[short] = self._find(_pack(buffer, starts[short], lengths[short]))
            for k in np.flatnonzero(~short).tolist():
                word = joined[starts[k] : starts[k] + lengths[k]].decode("ascii")
                columns[k] = self.long.get(word, -1)
        return columns, docs

    def _hash(self, keys: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        mixed = keys[0] * _MULTIPLIERS[0]
        mixed ^= keys[1] * _MULTIPLIERS[1]
        mixed ^= keys[2] * _MULTIPLIERS[2]
        mixed ^= mixed >> np.uint64(29)
        mixed *= _MULTIPLIERS[1]
        return (mixed >> self.shift).astype(np.intp)

    def _insert(self, keys: tuple[np.ndarray, np.ndarray, np.ndarray]) -> bool:
        """Place every key by linear probing; False if the table cannot take them."""
        position = self._hash(keys)
        pending = np.arange(len(position))
        for _ in range(len(self.slots)):
            if not pending.size:
                return True
            slot = position[pending]
            free = self.slots[slot] == -1
            contenders = pending[free]
            self.slots[slot[free]] = contenders  # one contender per free slot lands there
            placed = np.zeros(len(position), dtype=bool)
            placed[contenders[self.slots[slot[free]] == contenders]] = True
            pending = pending[~placed[pending]]
            position[pending] = (position[pending] + 1) & self.mask
        return not pending.size

    def _find(self, packed: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
        """The column of each packed word, or -1."""
        k0, k1, k2 = self.keys
        p0, p1, p2 = packed
        if not len(k0):
            return np.full(len(p0), -1, dtype=np.int64)
        position = self._hash(packed)
        candidate = self.slots[position]
        slot = np.maximum(candidate, 0)
        same = (k0[slot] == p0) & (k1[slot] == p1) & (k2[slot] == p2) & (candidate >= 0)
        out = np.where(same, self.ids[slot], -1)
        active = np.flatnonzero(~same & (candidate >= 0))  # an empty slot ends a search
        while active.size:
            position[active] = (position[active] + 1) & self.mask
            candidate = self.slots[position[active]]
            slot = np.maximum(candidate, 0)
            hit = (k0[slot] == p0[active]) & (k1[slot] == p1[active]) & (k2[slot] == p2[active])
            hit &= candidate >= 0
            out[active[hit]] = self.ids[slot[hit]]
            active = active[~hit & (candidate >= 0)]
        return out


def _runs(inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of True (the array must end with False)."""
    edges = np.flatnonzero(np.diff(inside, prepend=False))  # a start, an end, a start...
    return edges[0::2], edges[1::2]


def _pack(
    buffer: np.ndarray, starts: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Words of at most 24 bytes as three uint64 arrays: their bytes, zero-padded."""
    count = len(buffer) - 7
    windows = np.ndarray((count,), dtype="<u8", buffer=buffer, strides=(1,))  # at every byte
    first = windows[starts] & _MASKS[np.minimum(lengths, 8)]
    rest = lengths > 8
    second = np.zeros(len(starts), dtype=np.uint64)
    third = np.zeros(len(starts), dtype=np.uint64)
    if rest.any():
        at, have = starts[rest], lengths[rest]
        second[rest] = windows[at + 8] & _MASKS[np.minimum(have - 8, 8)]
        third[rest] = windows[at + 16] & _MASKS[np.clip(have - 16, 0, 8)]
    return first, second, third
