"""Shared fixtures: tiny corpora written to tmp_path, and one small trained model per session."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pytest

# The fuzz harnesses (tests/fuzz/fuzz_*.py) run under atheris in `make fuzz`, never in pytest.
collect_ignore = ["fuzz"]

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_CORPUS = ROOT / "datasets" / "news-paragraphs" / "paragraphs.jsonl"
DEFAULT_RECIPE = ROOT / "training" / "default.toml"
DEFAULT_MODEL = ROOT / "models" / "news-topics"
SHARED_DATA = ROOT.parent / "shared" / "data"

# A small corpus of our own: three labels, several articles, some paragraphs with no topic.
TINY = [
    ("a1", "Troops shelled the northern town overnight and fighting spread to the hills.", ["war"]),
    ("a1", "The ceasefire collapsed after artillery fire killed four soldiers.", ["war"]),
    ("a1", "Envoys met in Geneva to revive talks between the two governments.", ["talks"]),
    ("a2", "The ministers agreed to restore diplomatic ties and reopen embassies.", ["talks"]),
    ("a2", "Negotiators from both capitals held a second round of talks on Friday.", ["talks"]),
    ("a2", "By a staff reporter", []),
    ("a3", "Oil prices rose as the pipeline stayed shut and gas supplies dwindled.", ["energy"]),
    ("a3", "The energy ministry said fuel imports would double this winter.", ["energy"]),
    (
        "a3",
        "Talks on a gas pipeline deal ended without agreement, envoys said.",
        ["energy", "talks"],
    ),
    ("a4", "Rebels attacked an army convoy, killing eleven soldiers near the border.", ["war"]),
    ("a4", "Drone strikes hit fuel depots as the offensive widened.", ["war", "energy"]),
    ("a4", "Rain is expected across the region at the weekend.", []),
    ("a5", "The summit ended with a joint statement on cooperation and trade.", ["talks"]),
    ("a5", "Electricity prices doubled after the power plant went offline.", ["energy"]),
    ("a5", "Heavy fighting forced the army to withdraw from two villages.", ["war"]),
    ("a6", "The foreign minister flew to Ankara for talks with her counterpart.", ["talks"]),
    ("a6", "Crude output fell as refineries closed for maintenance.", ["energy"]),
    ("a6", "Artillery duels continued along the front line for a third day.", ["war"]),
]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows as JSON Lines and return the path."""
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def tiny_rows(*, test_articles: tuple[str, ...] = ("a6",)) -> list[dict[str, Any]]:
    """The tiny corpus as rows in topictag's format."""
    return [
        {
            "id": f"p{i}",
            "text": text,
            "labels": labels,
            "article_id": article,
            "split": "test" if article in test_articles else "train",
        }
        for i, (article, text, labels) in enumerate(TINY, start=1)
    ]


#: No-topic paragraphs (page furniture) for corpora that learn a no-topic head.
FURNITURE = [
    "Image caption, soldiers at the border crossing",
    "Share this story on social media",
    "All rights reserved by the agency",
    "Sign up for our morning newsletter",
    "Photograph by a staff photographer",
    "Read more: the week in pictures",
    "Follow us for the latest updates",
    "Copyright the news agency, all rights reserved",
    "Related topics: weather, sport",
    "Advertisement",
    "Image caption, crowds gathered at the summit venue",
    "Share this article by email",
]


def with_furniture(path: Path) -> Path:
    """Write the tiny corpus plus twelve no-topic training rows (enough for a no-topic head)."""
    rows = tiny_rows() + [
        {"id": f"f{i}", "text": text, "labels": [], "article_id": f"f{i}", "split": "train"}
        for i, text in enumerate(FURNITURE)
    ]
    return write_jsonl(path, rows)


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    """A small labeled corpus file with a train and a test split."""
    return write_jsonl(tmp_path / "tiny.jsonl", tiny_rows())


@pytest.fixture
def make_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file with the given name and content into tmp_path."""

    def make(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return make


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A model trained once per session on the bundled corpus, with its scikit-learn pipeline."""
    from topictag.train.recipe import load_config
    from topictag.train.saving import save_model as save_bundle
    from topictag.train.training import train_model

    result = train_model([BUNDLED_CORPUS], load_config(DEFAULT_RECIPE))
    path = tmp_path_factory.mktemp("models") / "news"
    save_bundle(result.data, path)
    result.path = path
    return result


class PipeLines:
    """The lines of a subprocess's output, read in a thread so that every read has a timeout.

    A regression that stops answering then fails the test instead of hanging it.
    """

    def __init__(self, stream: IO[str], *, timeout: float = 30.0):
        self.timeout = timeout
        self._lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            for line in stream:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def next(self) -> str:
        """Return the next line; fail after ``timeout`` seconds, or at end of output."""
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise AssertionError(f"no output line within {self.timeout} s") from None
        assert line is not None, "output ended"
        return line

    def rest(self) -> list[str]:
        """Return every line until the output ends; fail if it does not end in time."""
        lines = []
        while True:
            try:
                line = self._lines.get(timeout=self.timeout)
            except queue.Empty:
                raise AssertionError(f"output did not end within {self.timeout} s") from None
            if line is None:
                return lines
            lines.append(line)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained on the tiny corpus (three labels, multi-label), in a temp folder."""
    from topictag.train.recipe import TrainConfig
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

    folder = tmp_path_factory.mktemp("tiny-model")
    corpus = write_jsonl(folder / "tiny.jsonl", tiny_rows())
    result = train_model([corpus], TrainConfig())
    return save_model(result.data, folder / "model")


@pytest.fixture(scope="session")
def dask_cluster() -> Any:
    """A real dask.distributed LocalCluster of two worker processes, shared by the session.

    No dashboard (bokeh is not installed; its HTTP server takes a free port); every wait on it
    is bounded.
    """
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=50,
        timeout="30s",
    ) as cluster:
        yield cluster
