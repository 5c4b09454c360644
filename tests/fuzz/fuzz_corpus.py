"""Fuzz the corpus reader: ``read_corpus`` on arbitrary bytes, then a write/read round trip."""

from __future__ import annotations

from tests.fuzz.harness import check_error, instrumented, main, scratch

with instrumented():
    from topictag.data.corpus import read_corpus, write_corpus


def test_one_input(data: bytes) -> None:
    path = scratch("corpus.jsonl", data)
    try:
        records = read_corpus(path, max_line_bytes=8192)
    except Exception as error:
        check_error(error, path)
        return
    copy = path.with_name("copy.jsonl")
    write_corpus(records, copy)
    if read_corpus(copy) != records:
        raise AssertionError("a corpus read back differs from the one written")


if __name__ == "__main__":
    main(test_one_input)
