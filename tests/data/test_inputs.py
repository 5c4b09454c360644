"""Classify inputs read as streams: CSV rows, bounds, ids."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import BYTES, JSONL, PROPERTY, assert_located
from topictag.data.inputs import Item, read_items
from topictag.errors import DataError


def _described(items) -> list[str]:
    return [
        str(x).rpartition("/")[2] if isinstance(x, DataError) else f"{x.id}={x.text}" for x in items
    ]


def test_csv_rows_spanning_lines_are_numbered_where_they_start(make_file):
    path = make_file("in.csv", 'id,text\n,"two\nlines"\n\n,third\nx,"a,b",extra\n,last\n')
    assert _described(read_items(path)) == [
        "2=two\nlines",
        "5=third",
        "in.csv:6: row has more fields than the header",
        "7=last",
    ]


def test_csv_bad_line_between_rows_is_skipped_and_reading_goes_on(make_file):
    path = make_file("in.csv", b"text\nfirst\n\xff\xfe\nthird\n" + b"x" * 80 + b"\nlast\n")
    assert _described(read_items(path, max_line_bytes=40)) == [
        "2=first",
        "in.csv:3: not valid UTF-8 (byte 0xff at column 1)",
        "4=third",
        "in.csv:5: line longer than 40 bytes (raise --max-line-bytes to accept it)",
        "6=last",
    ]


def test_csv_row_over_the_limit_ends_the_input_with_an_error_raised(make_file):
    quoted = '"' + "word\n" * 30 + '"'
    path = make_file("in.csv", f"text\nfirst\n{quoted}\nnever\n")
    items = read_items(path, max_line_bytes=64)
    assert _described([next(items)]) == ["2=first"]
    # raised, not yielded: a caller that skips bad rows must not lose the rest silently
    with pytest.raises(
        DataError,
        match=r"^\S*in\.csv:3: CSV row longer than 64 bytes .*"
        r"the rest of the input was not read",
    ):
        next(items)


def test_csv_bad_line_inside_a_quoted_row_ends_the_input_with_an_error_raised(make_file):
    path = make_file("in.csv", b'id,text\na,first\nb,"two\n\xff\nlines"\nc,never\n')
    items = read_items(path)
    assert _described([next(items)]) == ["a=first"]
    with pytest.raises(DataError, match=r"in\.csv:4: not valid UTF-8 .*row of line 3"):
        next(items)


def test_csv_fields_up_to_the_line_limit_are_accepted(make_file):
    text = "oil " * 50_000  # 200 kB: over csv's own default field limit of 128 KiB
    (item,) = read_items(make_file("in.csv", f"text\n{text}\n"))
    assert isinstance(item, Item) and item.text == text


def test_csv_is_read_in_constant_memory(make_file):
    path = make_file(
        "in.csv", "id,text\n" + "".join(f"r{i},Oil prices rose.\n" for i in range(40_000))
    )

    def held(rows: int) -> int:
        """Bytes the reader (topictag's code and csv) holds after ``rows`` rows.

        Counted from a snapshot filtered to the reader's own frames, so that other threads of
        the test process (a Dask client's event loop, say) do not count.
        """
        items = read_items(path)
        tracemalloc.start(25)
        try:
            for _, _ in zip(range(rows), items, strict=False):
                pass
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(True, "*/topictag/*"), tracemalloc.Filter(True, "*/csv.py")]
            )
            return sum(stat.size for stat in snapshot.statistics("filename"))
        finally:
            tracemalloc.stop()
            items.close()

    # reading ten times as many rows holds no more memory (a list per row would: ~40 bytes each)
    assert held(20_000) < held(2_000) + 100_000


@pytest.mark.parametrize(
    ("row", "ident"), [('{"id": 5, "text": "x"}', "5"), ('{"id": "", "text": "x"}', "1")]
)
def test_ids_are_strings_and_missing_ids_are_line_numbers(make_file, row, ident):
    (item,) = read_items(make_file("in.jsonl", row + "\n"))
    assert isinstance(item, Item) and item.id == ident


@pytest.mark.parametrize("ident", ["[1]", "true", "1.5", '{"a": 1}'])
def test_unusable_ids_are_located_errors(make_file, ident):
    (error,) = read_items(make_file("in.jsonl", f'{{"id": {ident}, "text": "x"}}\n'))
    assert isinstance(error, DataError)
    assert str(error).endswith("in.jsonl:1: 'id' must be a string or an integer, got " + ident)


@PROPERTY
@given(
    data=JSONL | BYTES,
    input_format=st.sampled_from(["auto", "text", "jsonl", "csv"]),
    whole=st.booleans(),
)
def test_any_bytes_in_any_format_give_items_or_located_errors(
    tmp_path_factory, data, input_format, whole
):
    path = tmp_path_factory.mktemp("i") / "in.data"
    path.write_bytes(data)
    items = read_items(path, input_format=input_format, whole=whole, max_line_bytes=4096)
    try:
        for item in items:
            if isinstance(item, DataError):
                assert_located(item, str(path))
                continue
            assert isinstance(item, Item) and isinstance(item.id, str)
            assert isinstance(item.text, str)
            assert len(item.text.encode("utf-8")) <= 4096 + 1  # strict: no lone surrogate
            # what classify echoes is standard JSON (no NaN) in UTF-8
            json.dumps(item.fields, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except DataError as error:  # CSV that cannot be read on: raised, located too
        assert_located(error, str(path))
        assert "the rest of the input was not read" in str(error)


def test_header_errors_stay_one_line_whatever_the_column_names(make_file):
    # found by `make fuzz` (inputs): quoted line breaks in a header made a multi-line error
    names = ['"a\nb"', '"\u2028"', *[f"c{i}" for i in range(30)]]
    (error,) = read_items(make_file("in.csv", ",".join(names) + "\nx\n"), input_format="csv")
    message = str(error)
    assert len(message.splitlines()) == 1 and len(message) < 600
    assert "(columns: 'a\\nb', '\\u2028', 'c0'," in message and "(32 in all)" in message
