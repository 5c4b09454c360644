from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import DEFAULT_MODEL, TINY
from topictag.cli.application import app
from topictag.errors import DataError, TopictagError
from topictag.model.inference import load_model
from topictag.serve.archive import (
    BOOKKEEPING,
    ArchiveOptions,
    classify_archive,
    expand_inputs,
    output_name,
)


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def make_archive(root: Path) -> Path:
    """Four inputs of four formats: JSON Lines, gzipped JSON Lines, plain text, Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": f"r{i}", "text": text, "src": "wire"} for i, (_, text, _) in enumerate(TINY)]
    (root / "2024" / "05").mkdir(parents=True)
    (root / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:9]))
    with gzip.open(root / "2024" / "05" / "b.jsonl.gz", "wt") as handle:
        handle.writelines(json.dumps(r) + "\n" for r in rows[9:])
    (root / "2024" / "notes.txt").write_text("Oil prices rose.\n\nTalks resumed in Geneva.\n")
    pq.write_table(pa.Table.from_pylist(rows[:5]), root / "2024" / "c.parquet")
    (root / ".hidden.jsonl").write_text('{"text": "never read"}\n')
    (root / "README.md").write_text("not an input\n")
    return root


def outputs(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != BOOKKEEPING
    }


def test_output_names_keep_the_relative_path_and_drop_the_extension():
    assert output_name("2024/05/b.jsonl.gz", "jsonl") == "2024/05/b.jsonl"
    assert output_name("notes.txt", "parquet") == "notes.parquet"
    assert output_name("raw", "jsonl", "gzip") == "raw.jsonl.gz"


def test_a_folder_gives_its_known_files_and_a_glob_its_matches(tmp_path):
    make_archive(tmp_path / "in")
    root, files = expand_inputs(str(tmp_path / "in"))
    names = [f[len(root) + 1 :] for f in files]
    assert names == ["2024/05/b.jsonl.gz", "2024/c.parquet", "2024/notes.txt", "a.jsonl"]
    root, files = expand_inputs(str(tmp_path / "in" / "**" / "*.jsonl*"))
    assert root == str(tmp_path / "in")
    assert [f[len(root) + 1 :] for f in files] == ["2024/05/b.jsonl.gz", "a.jsonl"]


def test_each_file_gives_one_output_with_rows_in_order(model, tmp_path):
    make_archive(tmp_path / "in")
    summary = classify_archive(model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions())
    got = outputs(tmp_path / "out")
    assert sorted(got) == ["2024/05/b.jsonl", "2024/c.jsonl", "2024/notes.jsonl", "a.jsonl"]
    rows = [json.loads(line) for line in got["a.jsonl"].decode().splitlines()]
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(9)]
    assert rows[0]["src"] == "wire" and set(rows[0]["scores"]) == set(model.labels)
    assert rows[0]["labels"] == model.predict([TINY[0][1]])[0]
    notes = [json.loads(line) for line in got["2024/notes.jsonl"].decode().splitlines()]
    assert [r["id"] for r in notes] == ["1", "3"]  # line numbers of the plain text file
    assert summary.files == summary.written == 4 and summary.stats.paragraphs == 9 + 9 + 2 + 5


def test_output_matches_classify_of_the_same_file(model, tmp_path):
    make_archive(tmp_path / "in")
    classify_archive(model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions())
    result = CliRunner().invoke(
        app,
        [
            "classify",
            "-m",
            str(DEFAULT_MODEL),
            "-i",
            str(tmp_path / "in" / "a.jsonl"),
            "-f",
            "jsonl",
        ],
    )
    assert result.exit_code == 0
    assert result.stdout.encode() == (tmp_path / "out" / "a.jsonl").read_bytes()


def test_gzip_and_parquet_outputs(model, tmp_path):
    import pyarrow.parquet as pq

    make_archive(tmp_path / "in")
    classify_archive(model, str(tmp_path / "in"), tmp_path / "plain", ArchiveOptions())
    zipped = ArchiveOptions(compress="gzip")
    classify_archive(model, str(tmp_path / "in"), tmp_path / "gz", zipped)
    plain = (tmp_path / "plain" / "a.jsonl").read_bytes()
    assert gzip.decompress((tmp_path / "gz" / "a.jsonl.gz").read_bytes()) == plain
    again = tmp_path / "gz2"
    classify_archive(model, str(tmp_path / "in"), again, zipped)
    assert outputs(again) == outputs(tmp_path / "gz")  # no time stamps in the gzip header
    classify_archive(
        model, str(tmp_path / "in"), tmp_path / "pq", ArchiveOptions(output_format="parquet")
    )
    table = pq.read_table(tmp_path / "pq" / "a.parquet").to_pylist()
    expected = [json.loads(line) for line in plain.decode().splitlines()]
    assert [r["labels"] for r in table] == [r["labels"] for r in expected]
    assert [r["scores"] for r in table] == [r["scores"] for r in expected]


def test_a_non_empty_output_folder_is_refused_in_one_line(tmp_path):
    make_archive(tmp_path / "in")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("x")
    result = CliRunner().invoke(
        app,
        [
            "classify",
            "-m",
            str(DEFAULT_MODEL),
            "-i",
            str(tmp_path / "in"),
            "-o",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "output folder is not empty (use --resume" in lines[0]


def test_resume_skips_finished_files_and_removes_stale_temporaries(model, tmp_path):
    make_archive(tmp_path / "in")
    out = tmp_path / "out"
    classify_archive(model, str(tmp_path / "in"), out, ArchiveOptions())
    first = outputs(out)
    (out / "2024" / "c.jsonl").unlink()  # as if the run had been killed before this file
    (out / "2024" / ".c.jsonl.abc123.tmp").write_text('{"half": ')
    (out / "a.jsonl").write_bytes(b"kept as it was\n")  # a finished file is not rewritten
    summary = classify_archive(model, str(tmp_path / "in"), out, ArchiveOptions(), resume=True)
    assert (summary.written, summary.resumed) == (1, 3)
    assert [r.name for r in summary.results] == ["2024/c.parquet"]
    got = outputs(out)
    assert got["2024/c.jsonl"] == first["2024/c.jsonl"]
    assert got["a.jsonl"] == b"kept as it was\n"
    assert not list(out.rglob("*.tmp"))


def test_resume_with_other_options_is_refused(model, tmp_path):
    make_archive(tmp_path / "in")
    classify_archive(model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions())
    with pytest.raises(TopictagError, match="another model or other options"):
        classify_archive(
            model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions(top_k=1), resume=True
        )


def test_a_bad_row_fails_its_file_and_leaves_no_half_file(model, tmp_path):
    make_archive(tmp_path / "in")
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "Oil prices rose."}\n{"text": 5}\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: 'text' must be a string"):
        classify_archive(model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions())
    assert "a.jsonl" not in outputs(tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.tmp"))
    summary = classify_archive(
        model, str(tmp_path / "in"), tmp_path / "skip", ArchiveOptions(skip_invalid=True)
    )
    (result,) = [r for r in summary.results if r.name == "a.jsonl"]
    assert result.stats.skipped == 1 and "a.jsonl:2" in result.skipped[0]


@pytest.mark.parametrize(
    ("inputs", "pattern"),
    [
        ("nothing-here/*.jsonl", "no input files match"),
        ("{in}", "inside the input folder"),
    ],
)
def test_bad_archives(model, tmp_path, inputs, pattern):
    make_archive(tmp_path / "in")
    output = tmp_path / "in" / "out" if inputs == "{in}" else tmp_path / "out"
    source = inputs.format(**{"in": tmp_path / "in"})
    with pytest.raises(DataError, match=pattern):
        classify_archive(model, str(tmp_path / source), output, ArchiveOptions())


def test_two_inputs_with_one_output_name_are_refused(model, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "x.jsonl").write_text('{"text": "a"}\n')
    (tmp_path / "in" / "x.txt").write_text("a\n")
    with pytest.raises(DataError, match=r"x\.jsonl and x\.txt would both be written"):
        classify_archive(model, str(tmp_path / "in"), tmp_path / "out", ArchiveOptions())
