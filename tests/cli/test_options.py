"""One option vocabulary: choices, --format/--json, -f, --quiet on every command, help text."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
import typer.main
from typer.testing import CliRunner

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL, ROOT
from topictag.cli.application import app
from topictag.data.importers import FORMATS as IMPORT_FORMATS
from topictag.data.inputs import FORMATS as INPUT_FORMATS

runner = CliRunner()


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def _commands():
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for sub, leaf in subcommands.items():
                yield f"{name} {sub}", leaf
        else:
            yield name, command


def test_every_command_takes_quiet_and_documents_its_arguments():
    from topictag.cli.common import restore_argument_help

    for name, command in _commands():
        restore_argument_help(command)
        options = {opt for param in command.params for opt in getattr(param, "opts", [])}
        assert {"--quiet", "-q"} <= options, name
        for param in command.params:
            if param.param_type_name == "argument":
                assert param.help, f"{name}: argument {param.name} has no help"
            if "-f" in getattr(param, "opts", []):
                assert param.name == "force" or param.hidden, f"{name}: -f is not --force"


def test_help_shows_the_argument_descriptions_and_the_choices():
    result = invoke("data", "import", "--help")
    assert "The file type to read." in result.stdout
    assert "The file or folder to read." in result.stdout
    assert "reuters21578" in result.stdout
    assert "Positional arguments" not in result.stdout  # listed once, under Arguments


def test_the_choices_follow_the_library():
    from topictag.cli.classify import InputFormat
    from topictag.cli.data import ImportFormat

    assert tuple(f.value for f in ImportFormat) == IMPORT_FORMATS
    assert tuple(f.value for f in InputFormat) == INPUT_FORMATS


@pytest.mark.parametrize(
    "args",
    [
        ["data", "import", "xml", "x", "-o", "y"],
        ["data", "export", "csv", "x", "-o", "y"],
        ["data", "export", "fasttext", "x", "-o", "y", "--split", "dev"],
        ["models", "export", "news-topics", "-o", "y", "--format", "onnx"],
        ["evaluate", "news-topics", "--data", "x", "--split", "dev"],
        ["models", "show", "news-topics", "--format", "yaml"],
    ],
)
def test_a_bad_choice_is_a_usage_error(args):
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Invalid value" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["models", "show", str(DEFAULT_MODEL)],
        ["data", "validate", str(BUNDLED_CORPUS)],
        ["data", "stats", str(BUNDLED_CORPUS)],
        ["explain", "-m", str(DEFAULT_MODEL), "Oil prices rose."],
    ],
)
def test_json_is_short_for_format_json(command):
    long = invoke(*command, "--format", "json")
    short = invoke(*command, "--json")
    assert long.exit_code == short.exit_code
    assert long.stdout == short.stdout
    json.loads(long.stdout)
    assert invoke(*command).stdout != long.stdout


def test_models_list_as_json(tmp_path, monkeypatch):
    monkeypatch.setenv("TOPICTAG_MODELS", str(tmp_path))
    listed = json.loads(invoke("models", "list", "--json").stdout)
    assert [(b["name"], b["packaged"]) for b in listed] == [("news-topics", True)]


def test_classify_f_still_means_format_for_one_release_with_a_warning():
    new = invoke("classify", "-m", str(DEFAULT_MODEL), "--format", "table", "Oil prices rose.")
    old = invoke("classify", "-m", str(DEFAULT_MODEL), "-f", "table", "Oil prices rose.")
    assert old.exit_code == 0 and old.stdout == new.stdout
    assert "-f for --format is deprecated" in old.stderr
    assert "deprecated" not in new.stderr


def test_quiet_after_the_command_hides_information(tiny_corpus, tmp_path):
    args = ["classify", "-m", str(DEFAULT_MODEL), "--input", str(tiny_corpus)]
    loud = invoke(*args)
    assert "classified 18 paragraph(s)" in loud.stderr
    quiet = invoke(*args, "-q")
    assert quiet.exit_code == 0 and quiet.stdout == loud.stdout
    assert "classified" not in quiet.stderr


def test_classify_on_a_terminal_says_it_reads_stdin():
    master, slave = pty.openpty()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    process = subprocess.Popen(
        [sys.executable, "-m", "topictag", "classify", "-m", str(DEFAULT_MODEL)],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    try:
        deadline = time.monotonic() + 60
        said = b""
        while b"stdin" not in said and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stderr], [], [], 1.0)
            if ready:
                said += os.read(process.stderr.fileno(), 4096)
        os.write(master, b"\x04")  # Ctrl-D: end of input
        process.wait(timeout=60)
    finally:
        process.kill()
        os.close(master)
    assert b"reading paragraphs from stdin" in said
    assert process.returncode == 0
