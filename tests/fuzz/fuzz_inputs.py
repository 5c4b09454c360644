"""Fuzz the classify inputs: ``read_items`` in every format, per line and whole."""

from __future__ import annotations

import json

from tests.fuzz.harness import check_error, instrumented, main, scratch

with instrumented():
    from topictag.data.inputs import Item, read_items
    from topictag.errors import DataError

FORMATS = ("auto", "text", "jsonl", "csv")


def test_one_input(data: bytes) -> None:
    if not data:
        return
    mode, data = data[0], data[1:]
    path = scratch("input.data", data)
    items = read_items(
        path, input_format=FORMATS[mode % 4], whole=bool(mode & 4), max_line_bytes=8192
    )
    try:
        for item in items:
            if isinstance(item, DataError):
                check_error(item, path)
                continue
            if not isinstance(item, Item) or not isinstance(item.id, str):
                raise AssertionError(f"not an item: {item!r}")
            item.text.encode("utf-8")  # no lone surrogates
            json.dumps(item.fields, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except DataError as error:  # opening the file
        check_error(error, path)


if __name__ == "__main__":
    main(test_one_input)
