from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from topictag.cli.application import app
from topictag.data.corpus import read_corpus
from topictag.errors import DataError
from topictag.evaluate.evaluation import evaluate_model
from topictag.model.bundle import load_bundle
from topictag.model.inference import Model, load_model


@pytest.fixture(scope="module")
def test_rows():
    return [r for r in read_corpus(BUNDLED_CORPUS) if r.split == "test"][:80]


def test_write_gives_exactly_what_the_command_writes(tmp_path, test_rows):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in test_rows))
    result = evaluate_model(str(DEFAULT_MODEL), data)
    written = result.write(tmp_path / "library")
    assert [p.name for p in written] == ["metrics.json", "report.md", "report.html"]
    done = CliRunner().invoke(
        app, ["evaluate", str(DEFAULT_MODEL), "--data", str(data), "-o", str(tmp_path / "cli")]
    )
    assert done.exit_code == 0, done.output
    for name in ("metrics.json", "report.md", "report.html"):
        assert (tmp_path / "library" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
    printed = CliRunner().invoke(app, ["evaluate", str(DEFAULT_MODEL), "--data", str(data)])
    assert printed.stdout == result.markdown + "\n"


def test_records_in_memory_hash_as_the_file_they_would_be(tmp_path, test_rows):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r.to_json(), ensure_ascii=False) + "\n" for r in test_rows))
    from_file = evaluate_model(load_model(DEFAULT_MODEL), [data])
    from_records = evaluate_model(load_model(DEFAULT_MODEL), test_rows)
    assert from_records.document["data"]["sha256"] == from_file.document["data"]["sha256"]
    assert from_records.document["data"]["files"] == []
    assert from_records.metrics == from_file.metrics
    assert from_records.document["model"]["name"] == "news-topics"


def test_an_unsaved_model_gets_the_hash_its_weights_file_would_have(test_rows):
    saved = load_model(DEFAULT_MODEL)
    data = load_bundle(DEFAULT_MODEL)
    unsaved = Model(type(data)(**{**data.__dict__, "manifest": {}}))
    result = evaluate_model(unsaved, test_rows, name="fresh")
    assert result.document["model"] == {
        "name": "fresh",
        "sha256": saved.manifest["weights"]["sha256"],
    }


def test_split_filter_and_its_error(test_rows):
    assert evaluate_model(DEFAULT_MODEL, test_rows, split="all").metrics["n_paragraphs"] == 80
    with pytest.raises(DataError, match="no rows with split 'dev' in the given records"):
        evaluate_model(DEFAULT_MODEL, test_rows, split="dev")


def test_comparison_with_itself_shows_no_difference(test_rows):
    result = evaluate_model(DEFAULT_MODEL, test_rows, compare=DEFAULT_MODEL)
    assert result.comparison is not None
    assert result.comparison["overall"]["micro_f1"]["difference"] == 0.0
    assert "(A) vs" in result.markdown
    assert result.document["comparison"] == result.comparison
