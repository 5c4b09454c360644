from __future__ import annotations

import json

import pytest

from topictag.errors import DataError
from topictag.label.journal import Journal


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_accept_skip_undo_and_replay(tmp_path):
    out = tmp_path / "labeled.jsonl"
    journal = Journal.open(out)
    assert journal.path == tmp_path / "labeled.jsonl.journal" and out.read_text() == ""
    journal.accept({"id": "a", "text": "one", "labels": ["war"], "article_id": "x"})
    journal.skip({"id": "b", "text": "two"})
    journal.accept({"id": "c", "text": "three", "labels": []})
    assert [r["id"] for r in rows(out)] == ["a", "c"]
    assert journal.undo().id == "c"
    assert journal.undo().id == "b"
    assert [r["id"] for r in rows(out)] == ["a"]
    journal.skip({"id": "d", "text": "four"})
    again = Journal.open(out)  # a restart replays the journal
    assert again.decided() == {"a", "d"} and [r["id"] for r in again.accepted()] == ["a"]
    assert again.undo().id == "d" and again.undo().id == "a" and again.undo() is None
    assert rows(out) == []
    assert Journal.open(out).decided() == set()


def test_a_torn_last_line_is_dropped_and_the_output_rebuilt(tmp_path):
    out = tmp_path / "labeled.jsonl"
    journal = Journal.open(out)
    journal.accept({"id": "a", "text": "one", "labels": ["war"]})
    with open(journal.path, "ab") as handle:
        handle.write(b'{"seq": 2, "action": "accept", "row": {"id": "b"}')  # no newline
    out.write_text("garbage from a crash\n")
    resumed = Journal.open(out)
    assert [r["id"] for r in rows(out)] == ["a"] and resumed.seq == 1


def test_an_output_without_journal_is_kept(tmp_path):
    out = tmp_path / "labeled.jsonl"
    out.write_text(json.dumps({"id": "old", "text": "earlier", "labels": ["talks"]}) + "\n")
    journal = Journal.open(out)
    assert journal.decided() == {"old"} and journal.undo() is None
    journal.accept({"id": "new", "text": "now", "labels": []})
    assert [r["id"] for r in rows(out)] == ["old", "new"]


def test_rows_train_would_reject_are_refused(tmp_path):
    journal = Journal.open(tmp_path / "labeled.jsonl")
    with pytest.raises(DataError, match="'labels' must be a list of strings"):
        journal.accept({"id": "a", "text": "one", "labels": "war"})
    assert journal.decided() == set()


def test_malformed_journals(tmp_path):
    out = tmp_path / "labeled.jsonl"
    (tmp_path / "labeled.jsonl.journal").write_text('{"something": "else"}\n')
    with pytest.raises(DataError, match="not a topictag labeling journal"):
        Journal.open(out)
    (tmp_path / "labeled.jsonl.journal").write_text(
        '{"journal": "topictag-label", "version": 1}\nnot json}\n'
    )
    with pytest.raises(DataError, match=r"journal:2: malformed journal line"):
        Journal.open(out)
    (tmp_path / "labeled.jsonl.journal").write_text(
        '{"journal": "topictag-label", "version": 1}\n{"seq": 1, "action": "accept"}\n'
    )
    with pytest.raises(DataError, match="malformed journal entry"):
        Journal.open(out)
