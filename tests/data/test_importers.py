from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import SHARED_DATA
from tests.strategies import BYTES, JSONL, PROPERTY, assert_located
from topictag.cli.application import app
from topictag.data.corpus import Record, read_corpus
from topictag.data.importers import (
    importer,
    read_20newsgroups,
    read_articles,
    read_delimited,
    read_fasttext,
    read_reuters21578,
    write_fasttext,
)
from topictag.errors import DataError

runner = CliRunner()

SGML = """<!DOCTYPE lewis SYSTEM "lewis.dtd">
<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="1">
<DATE>26-FEB-1987</DATE>
<TOPICS><D>cocoa</D><D>trade</D><D>cocoa</D></TOPICS>
<TEXT>&#2;
<TITLE>COCOA TALKS RESUME</TITLE>
<BODY>Producers &amp; consumers met again.
    Prices held steady.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="TEST" CGISPLIT="TRAINING-SET" OLDID="2" NEWID="2">
<TOPICS></TOPICS>
<TEXT>&#2;
<TITLE>SHARE PRICES MIXED</TITLE>
<BODY>Trading was quiet.</BODY></TEXT>
</REUTERS>
<REUTERS TOPICS="NO" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="3" NEWID="3">
<TOPICS></TOPICS>
<TEXT><TITLE>OUTSIDE MODAPTE</TITLE></TEXT>
</REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="NOT-USED" CGISPLIT="TRAINING-SET" OLDID="4" NEWID="4">
<TOPICS><D>grain</D></TOPICS>
<TEXT><TITLE>ALSO OUTSIDE</TITLE></TEXT>
</REUTERS>
<REUTERS TOPICS="YES" LEWISSPLIT="TEST" CGISPLIT="TRAINING-SET" OLDID="5" NEWID="5">
<TOPICS><D>earn</D></TOPICS>
<TEXT TYPE="UNPROC">&#2; unprocessed text only &#3;</TEXT>
</REUTERS>
"""


def test_fasttext_round_trip(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("__label__war __label__talks Fighting and talks.\n\nNo label here.\n")
    records = read_fasttext(source)
    assert records == [
        Record("1", "Fighting and talks.", ("war", "talks")),
        Record("3", "No label here.", None),
    ]
    out = tmp_path / "out.txt"
    write_fasttext([Record("a", "two\nlines", ("human rights",)), Record("b", "none", ())], out)
    assert out.read_text() == "__label__human_rights two lines\nnone\n"
    with pytest.raises(DataError, match=r"in\.txt:1: empty label"):
        source.write_text("__label__ text\n")
        read_fasttext(source)


def test_fasttext_export_escapes_words_that_fastText_would_read_as_labels(tmp_path):
    out = tmp_path / "out.txt"
    text = "Tags like __label__spam and \\__label__x, not label__y or a__label__z."
    write_fasttext([Record("a", text, ("talks",)), Record("b", "__label__war", None)], out)
    first, second = out.read_text().splitlines()
    assert first == (
        "__label__talks Tags like \\__label__spam and \\\\__label__x, not label__y or a__label__z."
    )
    assert second == "\\__label__war"
    # every token fastText would take as a label (any word with the prefix) is a real label
    assert [w for w in first.split() if w.startswith("__label__")] == ["__label__talks"]
    assert not any(w.startswith("__label__") for w in second.split())
    back = read_fasttext(out)
    assert [(r.text, r.labels) for r in back] == [(text, ("talks",)), ("__label__war", None)]
    with pytest.raises(DataError, match="record 'c' has an empty label"):
        write_fasttext([Record("c", "x", ("ok", " "))], tmp_path / "bad.txt")
    assert not (tmp_path / "bad.txt").exists()


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(
        st.text(st.sampled_from("_\\lab:eé"), min_size=1, max_size=14)
        | st.sampled_from(["__label__", "__label__x", "\\__label__", "\\\\__label__y"]),
        max_size=8,
    ),
    labels=st.lists(st.text(st.sampled_from("ab c_"), min_size=1, max_size=5), max_size=3),
)
def test_fasttext_round_trip_of_any_words(tmp_path_factory, words, labels):
    labels = [x for x in labels if x.strip()]
    text = " ".join(words)
    out = tmp_path_factory.mktemp("ft") / "out.txt"
    write_fasttext([Record("1", text, tuple(labels) or None)], out)
    line = out.read_text()
    written = ["__label__" + "_".join(x.split()) for x in labels]
    assert [w for w in line.split() if w.startswith("__label__")] == written
    if not words and not labels:
        return  # an empty line: nothing to read back
    (record,) = read_fasttext(out)
    assert record.text == " ".join(text.split())
    assert record.labels == (
        tuple(dict.fromkeys(x.removeprefix("__label__") for x in written)) or None
    )


def test_delimited_header_errors_stay_one_line(tmp_path):
    # found by `make fuzz` (importers): a line break inside a quoted column name
    path = tmp_path / "in.tsv"
    path.write_text('"li\nne"\tid\nx\t1\n')
    with pytest.raises(DataError) as caught:
        read_delimited(path, delimiter="\t")
    assert len(str(caught.value).splitlines()) == 1
    assert str(caught.value).endswith("no column 'text' in the header (columns: 'li\\nne', 'id')")


def test_csv_and_tsv(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text('id,text,labels,source\nr1,"Oil, gas",energy;trade,wire\nr2,Nothing,,blog\n')
    first, second = read_delimited(path)
    assert first == Record("r1", "Oil, gas", ("energy", "trade"), extra={"source": "wire"})
    assert first.extra == {"source": "wire"}
    assert second.labels == ()  # an empty cell means "no topic"
    tsv = tmp_path / "in.tsv"
    tsv.write_text("body\ttopics\nTalks resumed.\ttalks|war\n")
    (row,) = read_delimited(
        tsv, delimiter="\t", text_column="body", labels_column="topics", label_separator="|"
    )
    assert row == Record("2", "Talks resumed.", ("talks", "war"))


def test_csv_without_labels_column_is_unlabeled(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("text\nHello.\n")
    assert read_delimited(path)[0].labels is None


def test_csv_in_cp1252(tmp_path):
    path = tmp_path / "in.csv"
    path.write_bytes("text,labels\nCaf\u00e9 talks \u2013 day two,talks\n".encode("cp1252"))
    with pytest.raises(
        DataError, match=r"in\.csv:2: not valid utf-8 \(byte 0xe9\); try --encoding"
    ):
        read_delimited(path)
    assert read_delimited(path, encoding="cp1252")[0].text == "Caf\u00e9 talks \u2013 day two"


def test_csv_bad_input(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("body,labels\nx,y\n")
    with pytest.raises(DataError, match=r"in\.csv:1: no column 'text' in the header"):
        read_delimited(path)
    path.write_text("text,labels\nx,y,z\n")
    with pytest.raises(DataError, match=r"in\.csv:2: row has more fields"):
        read_delimited(path)
    path.write_text("")
    with pytest.raises(DataError, match="file is empty"):
        read_delimited(path)


def test_reuters_modapte_from_sgml(tmp_path):
    (tmp_path / "reut2-000.sgm").write_text(SGML, encoding="latin-1")
    records = read_reuters21578(tmp_path)
    assert [(r.id, r.labels, r.split) for r in records] == [
        ("1", ("cocoa", "trade"), "train"),
        ("2", (), "test"),
        ("5", ("earn",), "test"),
    ]
    assert records[0].text == (
        "COCOA TALKS RESUME\nProducers & consumers met again.\n    Prices held steady.\n Reuter"
    )
    assert records[2].text == "unprocessed text only"


def test_reuters_gzip_and_bad_sgml(tmp_path):
    (tmp_path / "reut2-001.sgm.gz").write_bytes(gzip.compress(SGML.encode("latin-1")))
    assert len(read_reuters21578(tmp_path)) == 3
    broken = tmp_path / "broken"
    broken.mkdir()
    lines = SGML.splitlines(keepends=True)
    del lines[10]  # the first </REUTERS>
    (broken / "reut2-000.sgm").write_text("".join(lines), encoding="latin-1")
    with pytest.raises(DataError, match=r"reut2-000\.sgm:2: malformed SGML"):
        read_reuters21578(broken)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no reut2-"):
        read_reuters21578(empty)


@pytest.mark.skipif(
    not (SHARED_DATA / "reuters21578" / "raw").is_dir(), reason="../shared/data/reuters21578 absent"
)
def test_reuters_import_matches_the_reference_conversion():
    ours = read_reuters21578(SHARED_DATA / "reuters21578" / "raw")
    reference = read_corpus(SHARED_DATA / "reuters21578" / "reuters21578-modapte-all.jsonl")
    assert [(r.id, r.labels, r.split) for r in ours] == [
        (r.id, r.labels, r.split) for r in reference
    ]
    assert sum(r.labels == () for r in ours) == 2108


def test_20newsgroups_layout(tmp_path):
    for split, group, name, data in [
        ("20news-bydate-train", "sci.space", "1001", b"From: a\n\nOrbit talk."),
        ("20news-bydate-test", "rec.autos", "2002", b"From: b\n\nCaf\xe9 engines."),
    ]:
        folder = tmp_path / split / group
        folder.mkdir(parents=True)
        (folder / name).write_bytes(data)
    records = read_20newsgroups(tmp_path)
    assert [(r.id, r.labels, r.split) for r in records] == [
        ("test/rec.autos/2002", ("rec.autos",), "test"),
        ("train/sci.space/1001", ("sci.space",), "train"),
    ]
    assert "Café" in records[0].text
    with pytest.raises(DataError, match="no messages found"):
        read_20newsgroups(tmp_path / "20news-bydate-test" / "rec.autos")


def test_articles_folder(tmp_path):
    (tmp_path / "one.txt").write_text("By Ana Ruiz\n\nFirst para.\n\nSecond para.\n")
    (tmp_path / "two.txt").write_text("Only line.\n")
    records = read_articles(tmp_path)
    assert [(r.id, r.text, r.article_id, r.labels) for r in records] == [
        ("one-1", "First para.", "one", None),
        ("one-2", "Second para.", "one", None),
        ("two-1", "Only line.", "two", None),
    ]


def test_cli_import_export_and_errors(tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("__label__war Fighting.\n__label__talks Talks.\n")
    out = tmp_path / "out.jsonl"
    result = runner.invoke(app, ["data", "import", "fasttext", str(source), "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0] == {"id": "1", "text": "Fighting.", "labels": ["war"]}
    back = tmp_path / "back.txt"
    result = runner.invoke(app, ["data", "export", "fasttext", str(out), "-o", str(back)])
    assert result.exit_code == 0 and back.read_text() == source.read_text()

    bad = tmp_path / "bad.csv"
    bad.write_text("body\nx\n")
    target = tmp_path / "never.jsonl"
    result = runner.invoke(app, ["data", "import", "csv", str(bad), "-o", str(target)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"topictag: error: {bad}:1: no column 'text' in the header (columns: 'body')"
    ]
    assert not target.exists()
    usage = runner.invoke(app, ["data", "import", "xml", str(bad), "-o", str(target)])
    assert usage.exit_code == 2


def test_train_refuses_imported_unlabeled_rows(tmp_path):
    (tmp_path / "a.txt").write_text("First.\n\nSecond.\n")
    out = tmp_path / "a.jsonl"
    runner.invoke(app, ["data", "import", "articles", str(tmp_path / "a.txt"), "-o", str(out)])
    result = runner.invoke(app, ["train", "-d", str(out), "-o", str(tmp_path / "m")])
    assert result.exit_code == 1 and "has no 'labels' field" in result.stderr


@PROPERTY
@given(
    data=BYTES | JSONL,
    reader=st.sampled_from(["fasttext", "csv", "tsv", "reuters21578", "reuters-gz", "articles"]),
)
def test_any_bytes_give_records_or_a_located_error(tmp_path_factory, data, reader):
    folder = tmp_path_factory.mktemp("imp")
    name = {"reuters21578": "reut2-000.sgm", "reuters-gz": "reut2-001.sgm.gz"}.get(reader, "in.txt")
    path = folder / name
    path.write_bytes(gzip.compress(data, mtime=0) if reader == "reuters-gz" else data)
    read = importer("reuters21578" if reader == "reuters-gz" else reader)
    try:
        records = read(path)
    except Exception as error:
        assert_located(error, str(path))
        return
    assert all(isinstance(r.text, str) and isinstance(r.id, str) for r in records)
    out = folder / "out.txt"  # whatever was read exports to fastText's format
    write_fasttext([r for r in records if all((x or "").strip() for x in r.labels or ())], out)


@PROPERTY
@given(files=st.lists(st.tuples(st.sampled_from(["train", "test", "x"]), BYTES), max_size=4))
def test_any_newsgroup_files_give_records_or_a_located_error(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("news")
    for k, (split, data) in enumerate(files):
        group = root / f"20news-{split}" / f"group{k % 2}"
        group.mkdir(parents=True, exist_ok=True)
        (group / str(k)).write_bytes(data)
    try:
        records = read_20newsgroups(root)
    except Exception as error:
        assert_located(error, str(root))
        return
    assert len(records) == sum(split != "x" for split, _ in files)
