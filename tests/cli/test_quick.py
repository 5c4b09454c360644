"""The typer-free fast path of ``classify``: the same options, the same answers, no typer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from tests.conftest import DEFAULT_MODEL, ROOT
from topictag.cli import classify as classify_command
from topictag.cli import quick
from topictag.cli.application import app
from topictag.cli.classifying import ClassifyOptions

runner = CliRunner()


def test_the_option_table_is_the_typer_commands():
    command = typer.main.get_command(app).commands["classify"]  # type: ignore[attr-defined]
    theirs = {}
    for param in command.params:
        if param.name == "text":
            continue
        for name in [*param.opts, *param.secondary_opts]:
            flag = bool(getattr(param, "is_flag", False))
            theirs[name] = (param.name, "flag" if flag else "multiple" if param.multiple else "one")
    ours = {
        name: (field, "flag" if isinstance(kind, bool) else "multiple" if kind is tuple else "one")
        for name, (field, kind) in quick.OPTIONS.items()
    }
    assert set(theirs) == set(ours) | quick.HANDED_TO_TYPER
    assert not set(ours) & quick.HANDED_TO_TYPER
    assert ours == {name: theirs[name] for name in ours}
    defaults = ClassifyOptions()
    for param in command.params:
        if param.name in ("text", "quiet", "threshold"):
            continue
        if set(param.opts) <= quick.HANDED_TO_TYPER:
            continue
        default = getattr(defaults, param.name)
        assert (default.value if hasattr(default, "value") else default) == param.default


def typer_options(argv: list[str], monkeypatch) -> ClassifyOptions:
    """What the typer command hands to run_classify for a command line."""
    seen: list[ClassifyOptions] = []
    monkeypatch.setattr(classify_command, "run_classify", seen.append)
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    return seen[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["classify", "Oil prices rose."],
        ["-q", "classify", "one", "two", "--", "--three"],
        ["classify", "-m", "m1", "--model=m2", "-i", "-", "--input-format", "jsonl"],
        ["classify", "--text-field", "body", "--id-field=key", "--format", "jsonl", "-o", "x.out"],
        ["classify", "-f", "table", "-k", "2", "-t", "0.3", "--threshold", "trade=0.1", "-p"],
        ["classify", "--scores", "none", "--skip-invalid", "--batch-size", "7", "-j", "0"],
        ["classify", "--skip-invalid", "--no-skip-invalid", "--max-line-bytes", "99", "-q", "x"],
        ["classify", "text", "--jobs", "3", "more text", "-"],
    ],
)
def test_the_fast_path_reads_a_command_line_as_typer_does(argv, monkeypatch):
    parsed = quick.parse(argv)
    assert parsed is not None
    options, quiet = parsed
    assert options == typer_options(argv, monkeypatch)
    assert quiet == ("-q" in argv)


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--help"],
        ["--version"],
        ["train"],
        ["classify", "--help"],
        ["classify", "-mmodel", "x"],  # an attached short value
        ["classify", "-pq", "x"],  # bundled short flags
        ["classify", "--model"],  # no value
        ["classify", "--model", "--input"],  # typer would read --input as the value
        ["classify", "--mod", "m", "x"],  # abbreviated
        ["classify", "--top-k", "0", "x"],  # out of range
        ["classify", "--top-k", "+1", "x"],  # converted otherwise by some versions
        ["classify", "--batch-size", "1.5", "x"],
        ["classify", "--scores", "ALL", "x"],
        ["classify", "--paragraphs=1", "x"],
        ["classify", "-5"],
        ["classify", "-o", "", "x"],
        ["-v", "classify", "x"],
        ["classify", "--engine", "dask", "-i", "a.jsonl", "-o", "out"],  # the Dask path
        ["classify", "-i", "a.jsonl", "--resume", "-o", "out"],
        ["classify", "-i", "*.jsonl", "-o", "out"],  # a glob: the folder path
    ],
)
def test_anything_else_goes_to_typer(argv):
    assert quick.parse(argv) is None


def test_a_folder_input_goes_to_typer(tmp_path: Path):
    (tmp_path / "a.jsonl").write_text('{"id": "1", "text": "x"}\n')
    assert quick.parse(["classify", "-i", str(tmp_path), "-o", str(tmp_path / "out")]) is None
    parsed = quick.parse(["classify", "-i", str(tmp_path / "a.jsonl")])
    assert parsed is not None and parsed[0].input == str(tmp_path / "a.jsonl")


def run_topictag(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from topictag.cli import main\n"
        "try:\n    main()\n"
        "finally:\n"
        "    loaded = sorted({m.split('.')[0] for m in sys.modules} & {'typer', 'click', 'rich',"
        " 'pydantic', 'sklearn', 'scipy', 'joblib', 'matplotlib', 'uvicorn', 'starlette',"
        " 'dask', 'distributed'})\n"
        "    print('LOADED', loaded, file=sys.stderr)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_classify_answers_without_typer_and_as_typer_does(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text": f"Oil talks, round {i}."}) + "\n" for i in range(5)
        )
    )
    args = ["classify", "-m", str(DEFAULT_MODEL), "-i", str(source), "--scores", "labels"]
    fast = run_topictag(*args)
    assert fast.returncode == 0, fast.stderr
    assert "LOADED []" in fast.stderr
    assert fast.stdout == runner.invoke(app, args).stdout
    assert len(fast.stdout.splitlines()) == 5


def test_errors_are_the_commands_errors():
    missing = run_topictag("classify", "-m", "/no/such/model", "text")
    assert missing.returncode == 1
    assert missing.stderr.startswith("topictag: error: /no/such/model")
    assert "LOADED []" in missing.stderr
    usage = run_topictag("classify", "-m", str(DEFAULT_MODEL), "-t", "weather=0.5", "text")
    assert usage.returncode == 2  # found after parsing: typer says it, with its usage line
    assert "Usage:" in usage.stderr and "unknown label 'weather'" in usage.stderr
    assert usage.stdout == ""
