"""Fuzz the importers: fastText, CSV, TSV, Reuters-21578 (plain and gzipped), articles."""

from __future__ import annotations

import gzip

from tests.fuzz.harness import check_error, instrumented, main, scratch

with instrumented():
    from topictag.data.importers import importer, write_fasttext

READERS = (
    ("fasttext", "in.txt"),
    ("csv", "in.csv"),
    ("tsv", "in.tsv"),
    ("reuters21578", "reut2-000.sgm"),
    ("reuters21578", "reut2-001.sgm.gz"),
    ("articles", "article.txt"),
)


def test_one_input(data: bytes) -> None:
    if not data:
        return
    (name, file), data = READERS[data[0] % len(READERS)], data[1:]
    path = scratch(file, gzip.compress(data, mtime=0) if file.endswith(".gz") else data)
    try:
        records = importer(name)(path)
    except Exception as error:
        check_error(error, path)
        return
    usable = [r for r in records if all(x.strip() for x in r.labels or ())]
    write_fasttext(usable, path.with_name("export.txt"))


if __name__ == "__main__":
    main(test_one_input)
