"""Hostile lines through the commands: one located error or a skip, never a traceback."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import assert_one_line_error, invoke
from tests.conftest import DEFAULT_MODEL, tiny_rows, write_jsonl

BAD_LINES = [
    ('{"text": ' + "[" * 3000 + "}", "JSON nested too deeply"),
    ('{"text": "x", "n": ' + "9" * 5000 + "}", "JSON number with too many digits"),
    ('{"text": "x", "echo": "\\udc80"}', "lone surrogate"),
    ('{"text": "x", "v": NaN}', "NaN is not a JSON value"),
    ('{"text": "x", "v": 1e999}', "out of range"),
    ('{"id": [2], "text": "x"}', "'id' must be a string or an integer"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_classify_stops_at_a_hostile_line_with_one_located_error(make_file, line, message):
    path = make_file("in.jsonl", '{"text": "Oil prices rose."}\n\n' + line + '\n{"text": "x"}\n')
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--format", "jsonl")
    assert_one_line_error(result, rf"in\.jsonl:3: .*{message}")
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["1"]


def test_classify_skips_hostile_lines_and_bytes_with_skip_invalid(make_file):
    lines = [line.encode() for line, _ in BAD_LINES] + [b"\xff\xfe", b"x" * 300]
    path = make_file("in.jsonl", b"\n".join([b'{"text": "Oil."}', *lines, b'{"text": "Gas."}']))
    result = invoke(
        "classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--skip-invalid",
        "--max-line-bytes", "200", "--format", "jsonl",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["1", str(len(lines) + 2)]
    assert f"skipped {len(lines)} invalid line(s)" in result.stderr
    assert "in.jsonl:8: not valid UTF-8 (byte 0xff at column 1)" in result.stderr
    assert "in.jsonl:9: line longer than 200 bytes" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("input_format", ["text", "csv"])
def test_max_line_bytes_applies_to_text_and_csv(make_file, input_format):
    header = "text\n" if input_format == "csv" else ""
    path = make_file("in.txt", header + "Oil prices rose.\n" + "oil " * 100 + "\nGas.\n")
    args = ("classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--format", "jsonl")
    args += ("--input-format", input_format, "--max-line-bytes", "100")
    stopped = invoke(*args)
    line = 3 if input_format == "csv" else 2
    assert_one_line_error(stopped, rf"in\.txt:{line}: line longer than 100 bytes")
    skipped = invoke(*args, "--skip-invalid")
    assert skipped.exit_code == 0, skipped.output
    assert len(skipped.stdout.splitlines()) == 2


def test_an_article_counts_against_the_limit_as_a_whole(make_file):
    path = make_file("a.txt", "Oil prices rose.\n\n" * 20)
    result = invoke(
        "classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--paragraphs",
        "--max-line-bytes", "100",
    )  # fmt: skip
    assert_one_line_error(result, r"a\.txt: article longer than 100 bytes")


def test_train_and_evaluate_refuse_an_over_long_line(tmp_path):
    rows = tiny_rows()
    rows[4]["text"] = "talks " * 50
    data = write_jsonl(tmp_path / "c.jsonl", rows)
    trained = invoke(
        "train", "--data", str(data), "-o", str(tmp_path / "m"), "--max-line-bytes", "200"
    )
    assert_one_line_error(trained, r"c\.jsonl:5: line longer than 200 bytes")
    assert "training on" not in trained.stderr and not (tmp_path / "m").exists()
    evaluated = invoke(
        "evaluate", str(DEFAULT_MODEL), "--data", str(data), "--max-line-bytes", "200"
    )
    assert_one_line_error(evaluated, r"c\.jsonl:5: line longer than 200 bytes")


def test_serve_refuses_an_over_long_line_and_answers_the_next():
    requests = '{"text": "' + "oil " * 100 + '"}\n{"id": "b", "text": "Gas prices."}\n'
    result = invoke("serve", "-m", str(DEFAULT_MODEL), "--max-line-bytes", "100", input=requests)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    assert first["id"] == "1" and first["error"].startswith("line longer than 100 bytes")
    assert second["id"] == "b" and "energy" in second["labels"]
