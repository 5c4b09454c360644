"""The labeling journal: every decision, appended and synced to disk before the page moves on.

``labeled.jsonl`` (the output) is always a corpus that ``train`` and ``data validate`` accept:
one row per accepted paragraph. Beside it, ``labeled.jsonl.journal`` records every decision in
order, one JSON object per line::

    {"journal": "topictag-label", "version": 1}
    {"seq": 1, "action": "accept", "row": {"id": "p7", "text": "...", "labels": ["war"]}}
    {"seq": 2, "action": "skip", "row": {"id": "p3", "text": "..."}}
    {"seq": 3, "action": "undo", "of": 2}

A decision is appended and ``fsync``-ed, then the output is rewritten atomically from the
journal's state, so a ``kill -9`` at any point loses nothing already answered: on restart the
journal is replayed and the output rebuilt from it. A torn last line (a crash mid-write) is
dropped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.data.corpus import iter_json_objects, parse_record, write_corpus
from topictag.errors import DataError

JOURNAL = "topictag-label"
VERSION = 1
SUFFIX = ".journal"


@dataclass
class Decision:
    """One answered paragraph: accepted with labels, or skipped."""

    seq: int
    action: str  # "accept" or "skip"
    row: dict[str, Any]  # the corpus row (a skipped paragraph's row has no labels)

    @property
    def id(self) -> str:
        """The paragraph's id."""
        return str(self.row["id"])


@dataclass
class Journal:
    """The decisions of one labeling run, backed by the journal file beside ``output``.

    Use :meth:`open` to read an existing journal (resume) or start a new one.
    """

    output: Path
    decisions: list[Decision] = field(default_factory=list)  # in force, oldest first
    seq: int = 0
    preexisting: list[dict[str, Any]] = field(default_factory=list)  # output rows with no journal

    @property
    def path(self) -> Path:
        """The journal file: the output's name plus ``.journal``."""
        return self.output.with_name(self.output.name + SUFFIX)

    @classmethod
    def open(cls, output: str | Path) -> Journal:
        """Replay the journal beside ``output`` (creating it if missing) and rebuild the output.

        An output file without a journal (labeled earlier, by hand or another tool) is kept:
        its rows stay in the output and count as decided, but cannot be undone.

        Raises
        ------
        DataError
            If the journal is not a topictag labeling journal or a line is malformed.
        """
        journal = cls(Path(output))
        if journal.path.exists():
            journal._replay()
        else:
            if journal.output.exists():
                journal.preexisting = _read_rows(journal.output)
            _append(journal.path, {"journal": JOURNAL, "version": VERSION})
        journal._write_output()
        return journal

    def decided(self) -> set[str]:
        """Ids of every paragraph answered so far (accepted or skipped, not undone)."""
        return {d.id for d in self.decisions} | {str(r["id"]) for r in self.preexisting}

    def accepted(self) -> list[dict[str, Any]]:
        """The output rows, in the order they were accepted."""
        return self.preexisting + [d.row for d in self.decisions if d.action == "accept"]

    def accept(self, row: dict[str, Any]) -> Decision:
        """Record an accepted paragraph; returns once it is on disk."""
        parse_record(row, source=str(self.output), line=0)  # never write a row train rejects
        return self._record(Decision(self.seq + 1, "accept", row))

    def skip(self, row: dict[str, Any]) -> Decision:
        """Record a skipped paragraph (its row, without labels); returns once it is on disk."""
        return self._record(Decision(self.seq + 1, "skip", row))

    def undo(self) -> Decision | None:
        """Undo the latest decision in force; return it (None when there is none)."""
        if not self.decisions:
            return None
        last = self.decisions[-1]
        self.seq += 1
        _append(self.path, {"seq": self.seq, "action": "undo", "of": last.seq})
        self.decisions.pop()
        self._write_output()
        return last

    def _record(self, decision: Decision) -> Decision:
        _append(self.path, {"seq": decision.seq, "action": decision.action, "row": decision.row})
        self.seq = decision.seq
        self.decisions.append(decision)
        if decision.action == "accept":
            self._write_output()
        return decision

    def _replay(self) -> None:
        lines = self.path.read_bytes().split(b"\n")
        if lines[-1]:  # no final newline: torn by a crash mid-write, never completed
            lines = lines[:-1]
        entries = []
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                entries.append(json.loads(raw))
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise DataError(
                    "malformed journal line", source=str(self.path), line=number
                ) from None
        if not entries or entries[0].get("journal") != JOURNAL:
            raise DataError("not a topictag labeling journal", source=str(self.path), line=1)
        for number, entry in enumerate(entries[1:], start=2):
            try:
                self.seq = max(self.seq, int(entry["seq"]))
                action = entry["action"]
                if action in ("accept", "skip"):
                    self.decisions.append(Decision(int(entry["seq"]), action, dict(entry["row"])))
                elif action == "undo":
                    self.decisions = [d for d in self.decisions if d.seq != entry["of"]]
            except (KeyError, TypeError, ValueError):
                raise DataError(
                    "malformed journal entry (expected seq, action and row or of)",
                    source=str(self.path),
                    line=number,
                ) from None

    def _write_output(self) -> None:
        rows = self.accepted()
        write_corpus(
            (parse_record(row, source=str(self.output), line=k) for k, row in enumerate(rows, 1)),
            self.output,
        )


def _append(path: Path, entry: dict[str, Any]) -> None:
    """Append one line and fsync it (the directory too, when the file is new)."""
    new = not path.exists()
    with open(path, "ab") as handle:
        handle.write((json.dumps(entry, ensure_ascii=False) + "\n").encode())
        handle.flush()
        os.fsync(handle.fileno())
    if new:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    return [obj for _, obj in iter_json_objects(path)] if path.stat().st_size else []
