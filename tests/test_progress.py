"""Library functions report progress to a callback and return what they always returned."""

from __future__ import annotations

from tests.conftest import tiny_rows, write_jsonl
from topictag.data.importers import importer
from topictag.data.inputs import read_items
from topictag.data.validation import validate_corpus
from topictag.progress import Step
from topictag.train.recipe import TrainConfig
from topictag.train.training import train_model


def test_training_reports_trials_the_fit_and_folds(tiny_corpus):
    steps: list[Step] = []
    result = train_model([tiny_corpus], TrainConfig(), cv=2, tune_trials=2, progress=steps.append)
    tasks = [(s.task, s.done, s.total) for s in steps]
    assert ("tuning", 2, 2) in tasks
    assert tasks.index(("fitting", 0, 1)) < tasks.index(("fitting", 1, 1))
    assert [t for t in tasks if t[0] == "cross-validation"] == [
        ("cross-validation", 0, 2),
        ("cross-validation", 1, 2),
        ("cross-validation", 2, 2),
    ]
    assert "best score" in next(s.note for s in steps if s.task == "tuning")
    assert all(s.logged for s in steps if s.task == "cross-validation")
    assert result.cv is not None and result.cv["folds"] == 2


def test_reading_a_file_reports_bytes_of_its_size(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_text("".join(f"paragraph {i}\n" for i in range(3000)))
    steps: list[Step] = []
    items = list(read_items(path, progress=steps.append))
    assert len(items) == 3000
    size = path.stat().st_size
    assert [s.done for s in steps][-1] == size and all(s.total == size for s in steps)
    assert [s.done for s in steps] == sorted(s.done for s in steps) and len(steps) == 3


def test_validation_and_imports_report_their_steps(tmp_path):
    corpus = write_jsonl(tmp_path / "c.jsonl", tiny_rows())
    steps: list[Step] = []
    report = validate_corpus([corpus], progress=steps.append)
    assert report.rows == 18
    assert steps[-1].done == steps[-1].total == 5
    folder = tmp_path / "articles"
    folder.mkdir()
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text("First paragraph here.\n\nSecond one here.\n")
    steps.clear()
    records = importer("articles", progress=steps.append)(folder)
    assert len(records) == 6
    assert [(s.task, s.done, s.total, s.note) for s in steps] == [
        ("importing", 1, 3, "a.txt"),
        ("importing", 2, 3, "b.txt"),
        ("importing", 3, 3, "c.txt"),
    ]
