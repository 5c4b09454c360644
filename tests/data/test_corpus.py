from __future__ import annotations

import pytest

from topictag.data.corpus import (
    Record,
    atomic_write,
    group_keys,
    normalize_text,
    read_corpus,
    read_label_file,
    write_corpus,
)
from topictag.errors import DataError


def test_reads_every_field_and_keeps_extra_ones(make_file):
    path = make_file(
        "c.jsonl",
        '{"id": "x1", "text": "Talks resumed.", "labels": ["talks"], "article_id": "a", '
        '"split": "train", "source": "wire"}\n'
        '\n{"id": 7, "text": "No topic here.", "labels": []}\n',
    )
    first, second = read_corpus(path)
    assert first == Record("x1", "Talks resumed.", ("talks",), "a", "train")
    assert first.extra == {"source": "wire"}
    assert second.id == "7" and second.labels == () and second.split is None


def test_missing_labels_means_unlabeled_not_empty(make_file):
    (record,) = read_corpus(make_file("c.jsonl", '{"id": "1", "text": "Hello there."}\n'))
    assert record.labels is None


def test_repeated_labels_are_kept_once(make_file):
    (record,) = read_corpus(make_file("c.jsonl", '{"text": "x", "labels": ["a", "b", "a"]}\n'))
    assert record.labels == ("a", "b")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "1", "text": "ok"}\n{"id": "2", "text": \n', r"c\.jsonl:2: malformed JSON"),
        ('["text"]\n', r"c\.jsonl:1: expected a JSON object, got a list"),
        ('{"id": "1"}\n', r"c\.jsonl:1: missing 'text'"),
        ('{"id": "1", "text": 5}\n', r"c\.jsonl:1: 'text' must be a string, got a number"),
        ('{"text": "x", "labels": "syria"}\n', r"c\.jsonl:1: 'labels' must be a list of strings"),
        ('{"text": "x", "labels": [1]}\n', r"'labels' must be a list of strings"),
        ('{"text": "x", "labels": null}\n', r"'labels' must be a list of strings, got null"),
        ('{"text": "x", "split": "dev"}\n', r"'split' must be one of 'train', 'test'"),
        ('{"text": "x", "id": [1]}\n', r"'id' must be a string, got a list"),
        ("", r"c\.jsonl: file is empty"),
        ("\n  \n", r"c\.jsonl: file is empty"),
    ],
)
def test_bad_rows_name_file_line_and_problem(make_file, content, message):
    with pytest.raises(DataError, match=message):
        read_corpus(make_file("c.jsonl", content))


def test_non_utf8_bytes_name_the_line(make_file):
    path = make_file("c.jsonl", b'{"text": "fine"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(DataError, match=r"c\.jsonl:2: not valid UTF-8 \(byte 0xe9"):
        read_corpus(path)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read file"):
        read_corpus(tmp_path / "nope.jsonl")


def test_byte_order_mark_and_crlf_are_tolerated(make_file):
    (record,) = read_corpus(make_file("c.jsonl", b'\xef\xbb\xbf{"text": "x", "labels": []}\r\n'))
    assert record.text == "x"


def test_label_file_plain_and_tsv(make_file):
    assert read_label_file(make_file("l.txt", "syria\n\n# comment\ntrade\nsyria\n")) == [
        "syria",
        "trade",
    ]
    tsv = make_file("l.tsv", "category\ttrain_docs\nacq\t1650\nalum\t35\n")
    assert read_label_file(tsv) == ["acq", "alum"]
    with pytest.raises(DataError, match="lists no labels"):
        read_label_file(make_file("e.txt", "\n"))


def test_groups_use_article_then_normalized_text():
    records = [
        Record("1", "Same  TEXT", (), article_id=None),
        Record("2", "same text", (), article_id=None),
        Record("3", "Same text", (), article_id="a"),
        Record("4", "Other", (), article_id="a"),
        Record("5", "different", ()),
    ]
    keys = group_keys(records)
    assert keys[0] == keys[1] != keys[4]
    assert keys[2] == keys[3] == "article:a"
    assert normalize_text("  A\tB\n") == "a b"


def test_write_then_read_round_trip(tmp_path):
    records = [
        Record("1", "Ünïcode — text", ("a", "b"), "art", "test"),
        Record("2", "unlabeled", None),
        Record("3", "no topic", ()),
    ]
    path = tmp_path / "out.jsonl"
    assert write_corpus(records, path) == 3
    assert read_corpus(path) == records


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as handle:
        handle.write("new")
        raise RuntimeError("crash")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
