from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.conftest import tiny_rows, write_jsonl
from topictag.cli.application import app
from topictag.data.corpus import Record, group_keys, read_corpus
from topictag.data.splitting import split_corpus, split_groups
from topictag.data.validation import validate_corpus


def _linked_rows() -> list[dict]:
    """The tiny corpus, plus articles that share texts with others (a chain a1 - b1 - b2)."""
    rows = tiny_rows()
    for row in rows:
        row.pop("split")
    rows.append({"id": "x1", "text": rows[0]["text"], "labels": ["war"], "article_id": "b1"})
    rows.append(
        {"id": "x2", "text": "Gas flows resumed.", "labels": ["energy"], "article_id": "b1"}
    )
    rows.append(
        {"id": "x3", "text": "GAS  flows resumed.", "labels": ["energy"], "article_id": "b2"}
    )
    return rows


def test_groups_join_articles_that_share_a_text_transitively():
    records = [Record(**{k: v for k, v in r.items() if k != "labels"}) for r in _linked_rows()]
    groups = split_groups(records)
    by_article = {r.article_id: g for r, g in zip(records, groups, strict=True)}
    assert by_article["a1"] == by_article["b1"] == by_article["b2"] == "article:a1"
    assert len({by_article[a] for a in ("a1", "a2", "a3", "a4", "a5", "a6")}) == 6
    unlinked = [Record("p", "alone"), Record("q", "also alone")]
    assert split_groups(unlinked) == group_keys(unlinked)


def test_empty_texts_do_not_link_articles():
    records = [Record("1", "", article_id="a"), Record("2", " ", article_id="b")]
    assert split_groups(records) == ["article:a", "article:b"]


@pytest.mark.parametrize("seed", range(8))
def test_validate_accepts_what_split_wrote(tmp_path, seed):
    source = write_jsonl(tmp_path / "linked.jsonl", _linked_rows())
    written = tmp_path / "split.jsonl"
    done = CliRunner().invoke(
        app,
        [
            "data",
            "split",
            str(source),
            "--seed",
            str(seed),
            "--test-size",
            "0.3",
            "-o",
            str(written),
        ],
    )
    assert done.exit_code == 0, done.output
    report = validate_corpus([written], min_examples=1)
    assert [f.code for f in report.errors] == []
    records = read_corpus(written)
    sides = {r.article_id: r.split for r in records}
    assert sides["a1"] == sides["b1"] == sides["b2"]
    assert {r.split for r in records} == {"train", "test"}


def test_split_keeps_every_row_and_its_fields():
    records = split_corpus(read_corpus_rows(_linked_rows()), test_size=0.3, seed=1)
    assert [r.id for r in records] == [r["id"] for r in _linked_rows()]


def read_corpus_rows(rows: list[dict]) -> list[Record]:
    return [Record(r["id"], r["text"], tuple(r["labels"]), r.get("article_id")) for r in rows]
