"""Every command through typer's CliRunner: exit codes, stdout and stderr."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL, PipeLines, tiny_rows, write_jsonl
from topictag import __version__
from topictag.cli.application import app

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def assert_one_line_error(result, pattern: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("topictag: error: ")
    assert __import__("re").search(pattern, lines[0]), lines[0]
    assert "Traceback" not in result.output


def test_version_and_help():
    assert invoke("--version").stdout.strip() == f"topictag {__version__}"
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("train", "evaluate", "classify", "models", "data"):
        assert command in result.stdout


def test_train_evaluate_show_and_list(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("TOPICTAG_MODELS", str(tmp_path / "models"))
    result = invoke("train", "--data", str(tiny_corpus), "--cv", "2", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "test split:" in result.stdout and "cross-validation (2 folds)" in result.stdout
    assert "training on 15 paragraphs" in result.stderr  # progress goes to stderr
    bundle = tmp_path / "models" / "news-topics"
    assert (bundle / "model.json").is_file()
    manifest = json.loads((bundle / "model.json").read_text())
    assert manifest["config"]["seed"] == 1 and manifest["metrics"]["cv"]["folds"] == 2

    again = invoke("train", "--data", str(tiny_corpus))
    assert_one_line_error(again, "already exists there \\(use --force")

    out = tmp_path / "eval"
    result = invoke("evaluate", "news-topics", "--data", str(tiny_corpus), "--output", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads((out / "metrics.json").read_text())
    assert document["data"]["split"] == "test" and document["metrics"]["n_paragraphs"] == 3
    assert (out / "report.md").read_text().startswith("# Evaluation of news-topics")
    printed = invoke("evaluate", "news-topics", "--data", str(tiny_corpus), "--split", "all")
    assert "18 paragraphs" in printed.stdout

    listed = invoke("models", "list")
    assert listed.exit_code == 0 and "news-topics" in listed.stdout
    shown = invoke("models", "show", "news-topics")
    assert "labels and thresholds:" in shown.stdout and "talks" in shown.stdout
    as_json = json.loads(invoke("models", "show", "news-topics", "--json").stdout)
    assert as_json["labels"] == ["energy", "talks", "war"]


def test_train_with_label_file(tiny_corpus, tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("category\tcount\nwar\t5\nenergy\t4\n")
    result = invoke(
        "train", "-d", str(tiny_corpus), "--labels", str(labels), "-o", str(tmp_path / "m")
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "model.json").read_text())["labels"] == ["energy", "war"]


def test_classify_arguments_as_jsonl():
    result = invoke("classify", "--model", str(DEFAULT_MODEL), "Oil prices rose.", "")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["1", "2"]
    assert "energy" in rows[0]["labels"] and rows[1]["labels"] == []


def test_classify_table_format():
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "--format", "table", "Oil prices rose.")
    assert result.exit_code == 0
    assert result.stdout.startswith("1  energy")


def test_classify_stdin_and_output_file(tmp_path):
    out = tmp_path / "out.jsonl"
    result = invoke(
        "classify",
        "-m",
        str(DEFAULT_MODEL),
        "--output",
        str(out),
        input='{"id": "a", "text": "Talks on the islands.", "labels": ["diplomacy"]}\n',
    )
    assert result.exit_code == 0, result.output
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["id"] == "a" and row["gold_labels"] == ["diplomacy"]


def test_classify_paragraphs_from_text_file(tmp_path):
    article = tmp_path / "article.txt"
    article.write_text("By Ana Ruiz\n\nShelling hit Idlib.\n\nGas prices rose.\n")
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "--paragraphs", "--input", str(article))
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row.get("paragraph") for row in rows] == [1, 2, None]
    assert rows[-1]["article"] is True


def test_classify_thresholds_by_label():
    result = invoke(
        "classify",
        "-m",
        str(DEFAULT_MODEL),
        "-t",
        "0",
        "-t",
        "energy=1",
        "Oil and gas prices rose.",
    )
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert "energy" not in row["labels"] and len(row["labels"]) == 12


def test_classify_bad_line_stops_after_answering_earlier_lines(tmp_path):
    path = write_jsonl(tmp_path / "in.jsonl", [{"text": "Oil prices rose."}])
    with path.open("a") as handle:
        handle.write('{"text": "oops"\n{"text": "never reached"}\n')
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "-i", str(path))
    assert_one_line_error(result, r"in\.jsonl:2: malformed JSON")
    assert len(result.stdout.splitlines()) == 1

    skipped = invoke("classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--skip-invalid")
    assert skipped.exit_code == 0
    assert len(skipped.stdout.splitlines()) == 2
    assert "skipped" in skipped.stderr and "skipped 1 invalid line" in skipped.stderr


def test_classify_output_file_is_not_left_behind_on_error(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "ok"}\n{"text": 3}\n')
    out = tmp_path / "out.jsonl"
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "-o", str(out))
    assert_one_line_error(result, r"'text' must be a string")
    assert not out.exists() and list(tmp_path.iterdir()) == [path]


def test_unknown_text_is_warned_about():
    result = invoke("classify", "-m", str(DEFAULT_MODEL), "zzxq qwvv")
    row = json.loads(result.stdout)
    assert row["known_terms"] == 0 and row["labels"] == []
    assert "1 paragraph(s) had no n-gram the model knows" in result.stderr


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"", r"input is empty"),
        (b'{"text": "a"}\n[1, 2]\n', r":2: expected a JSON object"),
        (b'{"id": "1"}\n', r":1: missing 'text'"),
        (b'{"text": "caf\xe9"}\n', r":1: not valid UTF-8"),
    ],
)
def test_classify_bad_input_files(tmp_path, content, pattern):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    assert_one_line_error(invoke("classify", "-m", str(DEFAULT_MODEL), "-i", str(path)), pattern)


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--data", "MISSING.jsonl"], r"MISSING\.jsonl: cannot read file"),
        (["--config", "MISSING.toml"], r"MISSING\.toml: cannot read recipe"),
    ],
)
def test_train_bad_paths(tmp_path, args, pattern):
    assert_one_line_error(invoke("train", "-o", str(tmp_path / "m"), *args), pattern)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("rows", "pattern"),
    [
        ([{"id": "1", "text": "x", "labels": "war"}], r"bad\.jsonl:1: 'labels' must be a list"),
        ([{"id": "1", "text": "x", "labels": ["war"]}] * 3, r"1 distinct label"),
        ([{"id": "1", "text": ["x"], "labels": []}], r"bad\.jsonl:1: 'text' must be a string"),
    ],
)
def test_train_bad_data(tmp_path, rows, pattern):
    data = write_jsonl(tmp_path / "bad.jsonl", rows)
    result = invoke("train", "-d", str(data), "-o", str(tmp_path / "m"))
    assert_one_line_error(result, pattern)
    assert not (tmp_path / "m").exists()


def test_models_that_do_not_exist_or_are_broken(tmp_path):
    assert_one_line_error(
        invoke("classify", "-m", str(tmp_path / "none"), "x"), "no model bundle there"
    )
    (tmp_path / "empty").mkdir()
    assert_one_line_error(invoke("models", "show", str(tmp_path / "empty")), "not a model bundle")
    broken = tmp_path / "broken"
    shutil.copytree(DEFAULT_MODEL, broken)
    with (broken / "weights.npz").open("ab") as handle:
        handle.write(b"tampered")
    assert_one_line_error(
        invoke("evaluate", str(broken), "--data", str(BUNDLED_CORPUS)), "do not match"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["classify", "--top-k", "0", "x"],
        ["classify", "--threshold", "high", "x"],
        ["classify", "--threshold", "1.5", "x"],
        ["classify", "--threshold", "nolabel=0.5", "x"],
        ["classify", "--input-format", "xml", "x"],
        ["classify", "--format", "yaml", "x"],
        ["train", "--cv", "1"],
        ["classify", "--no-such-option"],
        ["data", "validate", "x.jsonl", "--format", "xml"],
    ],
)
def test_bad_option_values_are_usage_errors(args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Usage:" in result.stderr and "Traceback" not in result.output


def test_models_export_joblib(tmp_path):
    import joblib

    out = tmp_path / "pipe.joblib"
    assert invoke("models", "export", str(DEFAULT_MODEL), "--output", str(out)).exit_code == 0
    pipeline = joblib.load(out)  # our own file, written a moment ago: trusted
    assert pipeline.predict_proba(["Oil prices rose."]).shape == (1, 13)


def test_data_validate_stats_and_split(tmp_path):
    clean = invoke("data", "validate", "--strict", str(BUNDLED_CORPUS))
    assert clean.exit_code == 0 and "0 error(s), 0 warning(s)" in clean.stdout
    rows = tiny_rows()
    rows.append(dict(rows[0], id="dup", split="test"))
    leaky = write_jsonl(tmp_path / "leaky.jsonl", rows)
    result = invoke("data", "validate", str(leaky), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["counts"]["duplicate-across-splits"] == 1
    assert report["counts"]["article-in-both-splits"] == 1

    stats = invoke("data", "stats", str(BUNDLED_CORPUS))
    assert stats.exit_code == 0 and "| `syria` |" in stats.stdout

    out = tmp_path / "split.jsonl"
    assert invoke("data", "split", str(leaky), "--seed", "2", "-o", str(out)).exit_code == 0
    printed = invoke("data", "split", str(leaky), "--seed", "2")
    assert printed.stdout == out.read_text()


def test_metrics_json_follows_the_packaged_schema(tmp_path):
    import importlib.resources

    import jsonschema

    schema = json.loads(
        importlib.resources.files("topictag").joinpath("schemas/metrics.schema.json").read_text()
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    out = tmp_path / "eval"
    result = invoke(
        "evaluate", str(DEFAULT_MODEL), "--data", str(BUNDLED_CORPUS), "--output", str(out)
    )
    assert result.exit_code == 0, result.output
    document = json.loads((out / "metrics.json").read_text())
    jsonschema.validate(document, schema)
    broken = dict(document, metrics=dict(document["metrics"], micro={"precision": 2}))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_serve_answers_each_line_and_reports_bad_requests():
    requests = (
        '{"id": "a", "text": "Oil prices rose."}\n'
        "Voters went to the polls on Sunday.\n"
        '{"id": 5, "text": 3}\n'
        "{not json\n"
        "\n"
        '{"text": "Talks resumed."}\n'
    )
    result = invoke("serve", "-m", str(DEFAULT_MODEL), input=requests)
    assert result.exit_code == 0, result.output
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in replies] == ["a", "2", "5", "4", "5", "6"]
    assert "energy" in replies[0]["labels"] and "elections" in replies[1]["labels"]
    assert replies[2] == {"id": "5", "error": "'text' must be a string, got 3"}
    assert replies[3]["error"].startswith("malformed JSON")
    assert replies[4] == {"id": "5", "error": "empty request"}
    assert "served 6 request(s), 3 answered with an error" in result.stderr


def test_serve_flushes_each_answer_before_the_next_request(tmp_path):
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "topictag", "serve", "-m", str(DEFAULT_MODEL)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    answers = PipeLines(process.stdout)
    try:
        for text in (
            "Oil prices rose as OPEC cut its output again.",
            "The foreign ministers resumed their talks on the disputed border in Geneva.",
        ):
            process.stdin.write(json.dumps({"text": text}) + "\n")
            process.stdin.flush()
            reply = json.loads(answers.next())  # fails if the answer were buffered
            assert reply["labels"]
        process.stdin.close()
        assert answers.rest() == []
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()


def test_classify_with_workers_matches_one_process(tmp_path):
    rows = [{"id": f"r{i}", "text": f"Oil and gas talks round {i} ended."} for i in range(700)]
    rows[350]["text"] = 7  # a bad line in the middle
    path = write_jsonl(tmp_path / "in.jsonl", rows)
    outputs = []
    for jobs in ("1", "2"):
        result = invoke(
            "classify",
            "-m",
            str(DEFAULT_MODEL),
            "-i",
            str(path),
            "--jobs",
            jobs,
            "--batch-size",
            "64",
            "--skip-invalid",
        )
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1]
    ids = [json.loads(line)["id"] for line in outputs[0].splitlines()]
    assert ids == [f"r{i}" for i in range(700) if i != 350]
    stopped = invoke(
        "classify", "-m", str(DEFAULT_MODEL), "-i", str(path), "--jobs", "2", "--batch-size", "64"
    )
    assert stopped.exit_code == 1
    assert len(stopped.stdout.splitlines()) == 350  # everything before the bad line, in order


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_classify_streams_results_before_the_input_ends(jobs):
    import subprocess
    import sys
    import time

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "topictag",
            "classify",
            "-m",
            str(DEFAULT_MODEL),
            "--batch-size",
            "2",
            "--jobs",
            jobs,
            "--input-format",
            "text",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    lines = PipeLines(process.stdout)
    answered = []
    try:
        for k in range(6):
            process.stdin.write(f"Oil prices rose for the {k}th day.\n")
            process.stdin.flush()
            time.sleep(0.05)
        # six lines in batches of two: the first answers arrive while stdin is still open
        answered.append(json.loads(lines.next())["id"])
        process.stdin.close()
        answered += [json.loads(line)["id"] for line in lines.rest()]
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    assert answered == ["1", "2", "3", "4", "5", "6"]
