"""``--scores`` for classify and serve, and the serve command's HTTP defaults."""

from __future__ import annotations

import inspect
import json

import pytest
from typer.testing import CliRunner

from tests.conftest import DEFAULT_MODEL
from topictag.cli.application import app
from topictag.cli.serve import serve
from topictag.serve import payloads, server

runner = CliRunner()
TEXTS = [
    "Oil prices rose as the pipeline stayed shut.",
    "The foreign ministers resumed their talks on the disputed border in Geneva.",
]


def _classify(*args: str) -> list[dict]:
    result = runner.invoke(app, ["classify", "-m", str(DEFAULT_MODEL), *args, *TEXTS])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_classify_scores_all_labels_none():
    full = _classify("--format", "jsonl")
    assert all(len(row["scores"]) == 13 for row in full)
    kept = _classify("--format", "jsonl", "--scores", "labels")
    for row, whole in zip(kept, full, strict=True):
        assert row["labels"] and list(row["scores"]) == row["labels"]
        assert row["scores"] == {label: whole["scores"][label] for label in row["labels"]}
    bare = _classify("--format", "jsonl", "--scores", "none")
    assert all("scores" not in row for row in bare)
    assert [row["labels"] for row in bare] == [row["labels"] for row in full]
    assert list(bare[0]) == ["id", "labels", "known_terms"]


def test_the_table_ignores_scores():
    args = ["classify", "-m", str(DEFAULT_MODEL), "--format", "table", *TEXTS]
    plain = runner.invoke(app, args)
    none = runner.invoke(app, [*args, "--scores", "none"])
    assert plain.exit_code == none.exit_code == 0
    assert none.stdout == plain.stdout and "0." in none.stdout


def test_a_bad_scores_value_is_a_usage_error():
    result = runner.invoke(app, ["classify", "--scores", "some", "x"])
    assert result.exit_code == 2


def test_serve_on_stdin_takes_scores_and_a_line_limit():
    lines = json.dumps({"id": "a", "text": TEXTS[0]}) + "\n" + "x" * 300 + "\n"
    result = runner.invoke(
        app,
        ["serve", "-m", str(DEFAULT_MODEL), "--scores", "none", "--max-line-bytes", "200"],
        input=lines,
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["id"] == "a" and first["labels"] and "scores" not in first
    assert second == {
        "id": "2",
        "error": "line longer than 200 bytes (raise --max-line-bytes to accept it)",
    }


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("jobs", server.DEFAULT_JOBS),
        ("max_batch", server.DEFAULT_MAX_BATCH),
        ("max_wait_ms", server.DEFAULT_MAX_WAIT_MS),
        ("max_body_bytes", payloads.MAX_BODY_BYTES),
        ("max_texts", payloads.MAX_TEXTS),
        ("max_line_bytes", payloads.MAX_TEXT_BYTES),
    ],
)
def test_serve_defaults_are_the_library_defaults(option, value):
    assert inspect.signature(serve).parameters[option].default == value
