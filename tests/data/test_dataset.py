from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import BUNDLED_CORPUS, SHARED_DATA, tiny_rows, write_jsonl
from topictag.data.corpus import Record, read_corpus
from topictag.data.splitting import split_corpus
from topictag.data.stats import corpus_stats, format_stats
from topictag.data.validation import format_report, validate_corpus

LONG = (
    "The commission said the count in the northern provinces would take another week because "
    "ballot boxes from remote districts were still arriving by boat and by helicopter."
)


def codes(tmp_path, rows, **options) -> Counter:
    path = write_jsonl(tmp_path / "c.jsonl", rows)
    return Counter(f.code for f in validate_corpus([path], **options).findings)


def test_clean_fixture_has_no_findings(tmp_path):
    assert codes(tmp_path, tiny_rows(), min_examples=1) == Counter()


def test_schema_errors_are_collected_with_lines(make_file):
    path = make_file("c.jsonl", '{"text": "ok", "labels": []}\n{"text": 1}\n{"labels": []}\n')
    report = validate_corpus([path])
    assert [f.where for f in report.errors] == [[f"{path}:2"], [f"{path}:3"]]
    assert all(f.code == "schema" for f in report.errors)


def test_unparseable_file_is_one_error(make_file):
    report = validate_corpus([make_file("c.jsonl", '{"text": \n')])
    assert [f.code for f in report.errors] == ["schema"]


def test_article_in_both_splits(tmp_path):
    rows = tiny_rows()
    rows[0]["split"] = "test"
    assert codes(tmp_path, rows, min_examples=1) == Counter({"article-in-both-splits": 1})


def test_duplicates_within_and_across_splits(tmp_path):
    rows = tiny_rows()
    rows.append(dict(rows[1], id="x", article_id="z1", split="train"))
    rows.append(dict(rows[2], id="y", article_id="z2", split="test"))
    found = codes(tmp_path, rows, min_examples=1)
    assert found["duplicate"] == 1 and found["duplicate-across-splits"] == 1
    path = write_jsonl(tmp_path / "d.jsonl", rows)
    report = validate_corpus([path], min_examples=1)
    assert [f.code for f in report.errors] == ["duplicate-across-splits"]


def test_near_duplicates(tmp_path):
    rows = tiny_rows()
    rows.append(dict(rows[0], id="n1", article_id="z", text=LONG))
    rows.append(dict(rows[0], id="n2", article_id="z", text=LONG.replace("helicopter", "plane")))
    found = codes(tmp_path, rows, min_examples=1)
    assert found["near-duplicate"] == 1


def test_shared_ten_word_span(tmp_path):
    rows = tiny_rows()
    span = "ballot boxes from remote districts were still arriving by boat"
    rows.append(dict(rows[0], id="s1", article_id="z", text=f"Officials said {span} on Monday."))
    rows.append(dict(rows[0], id="s2", article_id="z", text=f"In the south, {span}, they added."))
    found = codes(tmp_path, rows, min_examples=1)
    assert found == Counter({"shared-span": 1})


def test_label_spelling_rare_labels_and_empty_text(tmp_path):
    rows = tiny_rows()
    rows[0]["labels"] = ["War"]
    rows[1]["text"] = "   "
    found = codes(tmp_path, rows, min_examples=3)
    assert found["label-spelling"] == 1  # "War" and "war"
    assert found["rare-label"] == 1  # "War" has one example
    assert found["empty-text"] == 1


def test_bundled_corpus_passes_strict():
    report = validate_corpus([BUNDLED_CORPUS])
    assert report.rows >= 1200
    assert report.findings == []


def test_report_formats(tmp_path):
    rows = tiny_rows()
    rows.append(dict(rows[2], id="y", article_id="z2", split="test"))
    report = validate_corpus([write_jsonl(tmp_path / "c.jsonl", rows)], min_examples=1)
    text = format_report(report)
    assert text.startswith(f"{len(rows)} rows: 1 error(s), 0 warning(s)")
    assert "ERROR duplicate-across-splits: 1" in text
    assert report.to_json()["counts"] == {"duplicate-across-splits": 1}


def test_stats_describe_the_corpus():
    records = read_corpus(BUNDLED_CORPUS)
    stats = corpus_stats(records)
    assert stats["paragraphs"] == len(records)
    assert sum(stats["by_split"].values()) == len(records)
    assert stats["labels"]["syria"]["train"] + stats["labels"]["syria"]["test"] == sum(
        "syria" in (r.labels or ()) for r in records
    )
    assert stats["paragraphs_per_article"]["min"] >= 3
    assert "| `syria` |" in format_stats(stats)


def test_split_is_deterministic_grouped_and_stratified():
    records = [Record(r.id, r.text, r.labels, r.article_id) for r in read_corpus(BUNDLED_CORPUS)]
    first = split_corpus(records, test_size=0.2, seed=5)
    assert first == split_corpus(records, test_size=0.2, seed=5)
    assert first != split_corpus(records, test_size=0.2, seed=6)
    sides: dict[str, set[str]] = {}
    for r in first:
        sides.setdefault(r.article_id, set()).add(r.split)
    assert all(len(s) == 1 for s in sides.values())
    test_share = sum(r.split == "test" for r in first) / len(first)
    assert test_share == pytest.approx(0.2, abs=0.02)
    for label in {x for r in first for x in r.labels}:
        having = [r for r in first if label in r.labels]
        assert sum(r.split == "test" for r in having) / len(having) == pytest.approx(0.2, abs=0.05)


def test_split_without_articles_keeps_duplicates_together():
    records = [Record(str(i), f"text {i % 7}", (f"l{i % 3}",)) for i in range(70)]
    out = split_corpus(records, test_size=0.3, seed=0)
    by_text: dict[str, set[str]] = {}
    for r in out:
        by_text.setdefault(r.text, set()).add(r.split)
    assert all(len(s) == 1 for s in by_text.values())


@pytest.mark.skipif(not (SHARED_DATA / "bbc").is_dir(), reason="../shared/data/bbc is absent")
def test_bbc_has_warnings_only():
    report = validate_corpus([SHARED_DATA / "bbc" / "bbc.jsonl"])
    assert report.errors == []
    duplicates = [f for f in report.findings if f.code == "duplicate"]
    assert len(duplicates) == 98


@pytest.mark.skipif(not (SHARED_DATA / "reuters21578").is_dir(), reason="../shared/data absent")
def test_reuters_reports_cross_split_duplicates_as_errors():
    report = validate_corpus([SHARED_DATA / "reuters21578" / "reuters21578.jsonl"])
    assert {f.code for f in report.errors} == {"duplicate-across-splits"}
    assert 1 <= len(report.errors) <= 10
