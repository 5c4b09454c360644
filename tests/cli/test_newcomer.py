"""Outside the repository: the packaged recipe and model are used, missing data is one line."""

from __future__ import annotations

from typer.testing import CliRunner

from topictag.cli.application import app

runner = CliRunner()


def test_train_outside_the_repository_needs_data_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "topictag: error: no --data given and the bundled corpus "
        "(datasets/news-paragraphs/paragraphs.jsonl) is not here (it ships with the "
        "repository, not the package): give --data FILE.jsonl"
    ]


def test_train_outside_the_repository_uses_the_packaged_recipe(tiny_corpus, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["train", "--data", str(tiny_corpus), "-o", "m", "-j", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "weights.npz").is_file()
    listed = runner.invoke(app, ["models", "list"])
    assert "news-topics (packaged)" in listed.stdout
