"""No good row dropped in silence, and inputs that can be read only once read once.

--skip-invalid with a bad line at the start, in the middle and at the end of each input format
answers every good row and counts exactly; --id-field wins over a row's "id"; train and
evaluate read stdin, a FIFO and a pipe (what ``<(...)`` gives) once, hashing what they read.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner

from topictag.cli.application import app

runner = CliRunner()
GOOD = ["Oil prices rose again.", "Troops shelled the town.", "Envoys met for talks."]


def _line(fmt: str, i: int, text: str) -> bytes:
    if fmt == "jsonl":
        return json.dumps({"id": f"r{i}", "text": text}).encode()
    if fmt == "csv":
        return f"r{i},{text}".encode()
    return text.encode()


BAD = {  # (format, what is wrong): the bad line
    ("text", "not UTF-8"): b"a bad \xff byte",
    ("jsonl", "not UTF-8"): b'{"id": "x", "text": "\xff"}',
    ("jsonl", "malformed"): b'{"id": "x", "text": ',
    ("csv", "a short row"): b"x",
    ("csv", "not UTF-8"): b"x,a bad \xfe byte",
}


@pytest.mark.parametrize("where", ["start", "middle", "end"])
@pytest.mark.parametrize(("fmt", "kind"), list(BAD))
def test_skip_invalid_answers_every_good_row_and_counts_exactly(
    tmp_path, bundles, fmt, kind, where
):
    rows = [_line(fmt, i, text) for i, text in enumerate(GOOD)]
    at = {"start": 0, "middle": 2, "end": len(rows)}[where]
    rows.insert(at, BAD[fmt, kind])
    header = [b"id,text"] if fmt == "csv" else []
    path = tmp_path / f"in.{'txt' if fmt == 'text' else fmt}"
    path.write_bytes(b"\n".join(header + rows) + b"\n")
    for jobs in ("1", "2"):
        result = runner.invoke(
            app, ["classify", "-m", str(bundles[0]), "-i", str(path), "--skip-invalid", "-j", jobs]
        )
        assert result.exit_code == 0, result.output
        ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
        if fmt == "text":  # ids are line numbers
            assert ids == [str(n) for n in range(1, 5) if n != at + 1]
        else:
            assert ids == ["r0", "r1", "r2"]
        skipped = [
            line for line in result.stderr.splitlines() if line.startswith("topictag: skipped")
        ]
        assert len(skipped) == 1 and f":{at + 1 + len(header)}: " in skipped[0], result.stderr
        assert "classified 3 paragraph(s), skipped 1 invalid line(s)" in result.stderr


def test_an_unreadable_quoted_csv_row_stops_the_run_even_with_skip_invalid(tmp_path, bundles):
    path = tmp_path / "in.csv"
    path.write_bytes(
        b'id,text\nr0,Oil prices rose.\nr1,"two\n\xff\nlines"\nr2,never lost silently\n'
    )
    result = runner.invoke(
        app, ["classify", "-m", str(bundles[0]), "-i", str(path), "--skip-invalid", "-j", "1"]
    )
    assert result.exit_code == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["r0"]
    assert "in.csv:4: not valid UTF-8" in result.stderr
    assert "the rest of the input was not read" in result.stderr


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_id_field_wins_over_a_rows_id(tmp_path, bundles, fmt):
    path = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        path.write_text('{"id": "wrong", "key": "K1", "text": "Oil prices rose."}\n')
    else:
        path.write_text("id,key,text\nwrong,K1,Oil prices rose.\n")
    result = runner.invoke(
        app, ["classify", "-m", str(bundles[0]), "-i", str(path), "--id-field", "key", "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["id"] == "K1" and "wrong" not in json.dumps(row)


def _written_by_a_thread(path: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as handle:
            handle.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def _pipe(data: bytes) -> str:
    """A pipe's read end as a path, as bash's ``<(...)`` gives one; a thread fills it."""
    read, write = os.pipe()

    def fill() -> None:
        with os.fdopen(write, "wb") as handle:
            handle.write(data)

    threading.Thread(target=fill, daemon=True).start()
    return f"/dev/fd/{read}"


@pytest.mark.parametrize("source", ["stdin", "fifo", "pipe"])
def test_train_and_evaluate_read_stdin_and_fifos_once(tmp_path, corpus, bundles, source):
    data = corpus.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    fifo = tmp_path / "fifo"
    if source == "fifo":
        os.mkfifo(fifo)

    def given() -> tuple[str, bytes | None]:
        if source == "stdin":
            return "-", data
        if source == "fifo":
            _written_by_a_thread(fifo, data)
            return str(fifo), None
        return _pipe(data), None

    name, stdin = given()
    out = tmp_path / "model"
    trained = runner.invoke(app, ["train", "-d", name, "-o", str(out), "-j", "1"], input=stdin)
    assert trained.exit_code == 0, trained.output
    recorded = json.loads((out / "model.json").read_text())["training_data"]
    assert recorded["sha256"] == sha256 and recorded["files"][0]["sha256"] == sha256
    assert recorded["train_rows"] == 15

    name, stdin = given()
    report = tmp_path / "report"
    evaluated = runner.invoke(
        app, ["evaluate", str(out), "-d", name, "-o", str(report)], input=stdin
    )
    assert evaluated.exit_code == 0, evaluated.output
    document = json.loads((report / "metrics.json").read_text())
    assert document["data"]["sha256"] == sha256 and document["metrics"]["n_paragraphs"] == 3
