from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_MODEL
from topictag.data.inputs import items_from_texts, read_items
from topictag.errors import DataError
from topictag.model.inference import load_model
from topictag.serve.stream import ClassifyStats, classify_items


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def _run(model, items, **options):
    stats = ClassifyStats()
    rows = [row for batch in classify_items(model, items, stats=stats, **options) for row in batch]
    return rows, stats


def test_text_input_uses_line_numbers_and_skips_blank_lines(make_file):
    items = list(read_items(make_file("in.txt", "first\n\nthird\n"), input_format="text"))
    assert [(i.id, i.text) for i in items] == [("1", "first"), ("3", "third")]


def test_auto_detects_jsonl_from_content_on_any_extension(make_file):
    path = make_file("in.data", '\n{"id": "a", "text": "x"}\n')
    assert [i.id for i in read_items(path)] == ["a"]
    path = make_file("plain.data", "Just a sentence.\n")
    assert [i.text for i in read_items(path)] == ["Just a sentence."]


def test_jsonl_fields_are_carried_and_labels_become_gold(make_file):
    path = make_file(
        "in.jsonl", '{"doc": 7, "body": "Oil prices rose.", "labels": ["energy"], "src": "w"}\n'
    )
    (item,) = read_items(path, text_field="body", id_field="doc")
    assert item.id == "7" and item.text == "Oil prices rose."
    assert item.fields == {"src": "w", "gold_labels": ["energy"]}


def test_csv_input(make_file):
    path = make_file("in.csv", 'id,text,source\nx1,"Oil, gas and power",wire\n,second row,blog\n')
    items = list(read_items(path))
    assert [(i.id, i.text, i.fields) for i in items] == [
        ("x1", "Oil, gas and power", {"source": "wire"}),
        ("3", "second row", {"source": "blog"}),
    ]
    missing = list(read_items(path, text_field="body"))
    assert isinstance(missing[0], DataError) and "no column 'body'" in str(missing[0])


def test_bad_json_lines_are_yielded_as_errors_in_place(make_file):
    path = make_file(
        "in.jsonl", '{"text": "ok"}\n{"text": \n{"id": 3}\n{"text": 4}\n{"text": "fine"}\n'
    )
    kinds = [type(x).__name__ if isinstance(x, DataError) else x.text for x in read_items(path)]
    assert kinds == ["ok", "DataError", "DataError", "DataError", "fine"]


def test_rows_before_a_bad_line_are_answered_then_it_stops(model, make_file):
    path = make_file("in.jsonl", '{"text": "Oil prices rose."}\n{"text": 5}\n{"text": "never"}\n')
    stats = ClassifyStats()
    batches = classify_items(model, read_items(path), stats=stats, batch_size=10)
    first = next(batches)
    assert [row["id"] for row in first] == ["1"]
    with pytest.raises(DataError, match=r"in\.jsonl:2: 'text' must be a string"):
        next(batches)


def test_skip_invalid_goes_on_and_counts(model, make_file):
    path = make_file("in.jsonl", '{"text": "Oil prices rose."}\n{"text": 5}\n{"text": "Gas."}\n')
    skipped = []
    rows, stats = _run(model, read_items(path), skip_invalid=True, on_skip=skipped.append)
    assert [row["id"] for row in rows] == ["1", "3"]
    assert stats.skipped == 1 and len(skipped) == 1


def test_output_rows_have_ids_labels_and_every_score(model):
    rows, stats = _run(model, items_from_texts(["Oil and gas prices rose.", "", "qqq zzz"]))
    assert [row["id"] for row in rows] == ["1", "2", "3"]
    assert all(set(row["scores"]) == set(model.labels) for row in rows)
    assert "energy" in rows[0]["labels"]
    assert rows[1]["labels"] == [] and rows[1]["known_terms"] == 0
    assert stats.unknown == 1  # the empty text is answered, not counted as unknown


def test_order_is_kept_across_batches(model):
    texts = [f"Oil output talk number {i}" for i in range(25)]
    rows, _ = _run(model, items_from_texts(texts), batch_size=4)
    assert [row["id"] for row in rows] == [str(i) for i in range(1, 26)]


def test_paragraph_mode_emits_paragraphs_then_the_article(model):
    article = "By Ana Ruiz\n\nGovernment troops shelled Idlib.\n\nOil prices rose on the news."
    rows, stats = _run(model, items_from_texts([article]), paragraphs=True)
    assert [row.get("paragraph") for row in rows] == [1, 2, None]
    assert rows[-1]["article"] is True and rows[-1]["paragraphs"] == 2
    paragraph_labels = set(rows[0]["labels"]) | set(rows[1]["labels"])
    assert set(rows[-1]["labels"]) == paragraph_labels
    for label in model.labels:
        assert rows[-1]["scores"][label] == max(rows[0]["scores"][label], rows[1]["scores"][label])
    assert stats.paragraphs == 2


def test_thresholds_and_top_k(model):
    text = ["Sanctions on oil exports were tightened after talks on the disputed islands."]
    (row,), _ = _run(model, items_from_texts(text), thresholds=0.0, top_k=3)
    assert len(row["labels"]) == 3
    (row,), _ = _run(model, items_from_texts(text), thresholds=1.0)
    assert row["labels"] == []
