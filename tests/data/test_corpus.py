from __future__ import annotations

import pytest
from hypothesis import given

from tests.strategies import BYTES, JSONL, PROPERTY, assert_located
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


def test_lines_are_bounded_and_a_bad_line_spoils_only_itself():
    import io

    from topictag.data.corpus import iter_line_results, iter_lines

    data = b"\xef\xbb\xbfok\r\n" + b"y" * 25 + b"\n\xffbad\nexactly10b\r\n" + b"z" * 11
    got = list(iter_line_results("f", io.BytesIO(data), max_line_bytes=10))
    assert got[0] == (1, "ok")  # byte order mark and CR LF removed
    assert [(n, str(e)) for n, e in got[1:3]] == [
        (2, "f:2: line longer than 10 bytes (raise --max-line-bytes to accept it)"),
        (3, "f:3: not valid UTF-8 (byte 0xff at column 1)"),
    ]
    assert got[3] == (4, "exactly10b")
    assert got[4][0] == 5 and "line longer than 10 bytes" in str(got[4][1])  # no final newline
    with pytest.raises(DataError, match=r"^f:2: line longer"):
        list(iter_lines("f", io.BytesIO(data), max_line_bytes=10))


def test_an_over_long_line_is_read_in_bounded_pieces():
    from topictag.data.corpus import iter_line_results

    class Recording(__import__("io").BytesIO):
        def readline(self, size=-1):
            assert 0 < size <= 1026, size  # never asks for the whole line
            return super().readline(size)

    stream = Recording(b"a" * 1_000_000 + b"\nnext\n")
    got = list(iter_line_results("f", stream, max_line_bytes=1024))
    assert isinstance(got[0][1], DataError) and got[1] == (2, "next")


def test_corpus_lines_over_the_limit_are_located_errors(make_file):
    path = make_file("c.jsonl", '{"text": "short"}\n{"text": "' + "x" * 100 + '"}\n')
    assert len(read_corpus(path)) == 2
    with pytest.raises(DataError, match=r"c\.jsonl:2: line longer than 64 bytes"):
        read_corpus(path, max_line_bytes=64)


@PROPERTY
@given(data=JSONL | BYTES)
def test_any_bytes_give_records_or_a_located_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("c") / "c.jsonl"
    path.write_bytes(data)
    try:
        records = read_corpus(path, max_line_bytes=4096)
    except Exception as error:
        assert_located(error, str(path))
        return
    for record in records:
        assert isinstance(record.id, str) and isinstance(record.text, str)
        assert record.labels is None or all(isinstance(x, str) for x in record.labels)
    copy = path.with_name("copy.jsonl")  # what was read can be written and read back
    write_corpus(records, copy)
    assert read_corpus(copy) == records
