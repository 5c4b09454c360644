"""The Dask engine of classify, on a real LocalCluster of two worker processes."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_MODEL, TINY
from tests.serve.test_archive import make_archive, outputs
from topictag.errors import DataError, TopictagError
from topictag.model.inference import load_model
from topictag.serve.archive import ArchiveOptions, classify_archive

WAIT = 30.0  # seconds any wait on the cluster may take


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def run_dask(model, inputs, output, options=None, **kwargs):
    return classify_archive(
        model,
        str(inputs),
        output,
        options or ArchiveOptions(),
        engine="dask",
        scheduler=kwargs.pop("scheduler"),
        **kwargs,
    )


def test_dask_gives_the_same_bytes_as_the_local_engine(model, dask_cluster, tmp_path):
    make_archive(tmp_path / "in")
    address = dask_cluster.scheduler_address
    for options in (ArchiveOptions(), ArchiveOptions(paragraphs=True, top_k=2, compress="gzip")):
        name = "gz" if options.compress else "plain"
        classify_archive(model, str(tmp_path / "in"), tmp_path / f"local-{name}", options)
        events = []
        summary = run_dask(
            model,
            tmp_path / "in",
            tmp_path / f"dask-{name}",
            options,
            scheduler=address,
            on_event=lambda kind, value, events=events: events.append(kind),
        )
        assert outputs(tmp_path / f"dask-{name}") == outputs(tmp_path / f"local-{name}")
        assert summary.written == 4 and events.count("file") == 4


def test_dask_resume_skips_finished_files(model, dask_cluster, tmp_path):
    make_archive(tmp_path / "in")
    out = tmp_path / "out"
    run_dask(model, tmp_path / "in", out, scheduler=dask_cluster.scheduler_address)
    (out / "a.jsonl").unlink()
    (out / "2024" / "notes.jsonl").write_bytes(b"untouched\n")
    summary = run_dask(
        model, tmp_path / "in", out, scheduler=dask_cluster.scheduler_address, resume=True
    )
    assert [r.name for r in summary.results] == ["a.jsonl"] and summary.resumed == 3
    assert (out / "2024" / "notes.jsonl").read_bytes() == b"untouched\n"


def test_a_bad_row_on_a_worker_is_the_same_one_line_error(model, dask_cluster, tmp_path):
    make_archive(tmp_path / "in")
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "fine"}\n{"id": 2}\n')
    with pytest.raises(DataError, match=r"a\.jsonl:2: missing 'text'$"):
        run_dask(model, tmp_path / "in", tmp_path / "out", scheduler=dask_cluster.scheduler_address)
    assert "a.jsonl" not in outputs(tmp_path / "out")
    assert not list((tmp_path / "out").rglob("*.tmp"))


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid, on_error="ignore")  # a worker that just died is left out


def wait_for_reader(client, fifo: Path) -> int:
    """Return the pid of the worker that has the named pipe open (it blocks there)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for pid in worker_pids(client).values():
            try:
                links = [
                    os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
                ]
            except OSError:
                continue
            if str(fifo) in links:
                return pid
        time.sleep(0.05)
    raise AssertionError("no worker opened the pipe in time")


def start_run(model, address, inputs, output):
    """Classify in a thread; return (thread, outcome dict)."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["summary"] = run_dask(model, inputs, output, scheduler=address)
        except Exception as error:  # handed to the test
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def archive_with_a_pipe(root: Path) -> tuple[Path, int]:
    """An archive whose file ``pipe.jsonl`` is a named pipe: its reader blocks until we write.

    Returns the pipe and our descriptor on it (read-write, so that a worker's open returns at
    once and the worker then waits in read, with the pipe among its open files).
    """
    make_archive(root)
    fifo = root / "pipe.jsonl"
    os.mkfifo(fifo)
    return fifo, os.open(fifo, os.O_RDWR | os.O_NONBLOCK)


PIPE_ROWS = "".join(
    json.dumps({"id": f"q{i}", "text": t}) + "\n" for i, (_, t, _) in enumerate(TINY)
)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the worker")
def test_a_worker_killed_mid_file_is_retried_and_the_job_completes(model, dask_cluster, tmp_path):
    from distributed import Client

    fifo, ours = archive_with_a_pipe(tmp_path / "in")
    with Client(dask_cluster.scheduler_address, timeout="30s") as client:
        thread, outcome = start_run(
            model, dask_cluster.scheduler_address, tmp_path / "in", tmp_path / "out"
        )
        victim = wait_for_reader(client, fifo)
        os.kill(victim, signal.SIGKILL)  # the worker dies while it reads pipe.jsonl
        survivor = wait_for_reader(client, fifo)  # the scheduler gave the file to another worker
        assert survivor != victim
        os.write(ours, PIPE_ROWS.encode())
        os.close(ours)  # the last writer closes: the worker reads the rows, then the end
        thread.join(WAIT)
        client.wait_for_workers(2, timeout=WAIT)  # the nanny restarted the killed worker
    assert "error" not in outcome, outcome
    (tmp_path / "plain.jsonl").write_text(PIPE_ROWS)
    classify_archive(model, str(tmp_path / "plain.jsonl"), tmp_path / "expected", ArchiveOptions())
    got = outputs(tmp_path / "out")
    assert got["pipe.jsonl"] == outputs(tmp_path / "expected")["plain.jsonl"]
    assert len(got) == 5 and not list((tmp_path / "out").rglob("*.tmp"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to find the worker")
def test_a_worker_death_past_the_retries_fails_in_one_line(model, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    fifo, ours = archive_with_a_pipe(tmp_path / "in")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=50,
        ) as cluster,
        Client(cluster, timeout="30s") as client,
    ):
        thread, outcome = start_run(
            model, cluster.scheduler_address, tmp_path / "in", tmp_path / "out"
        )
        os.kill(wait_for_reader(client, fifo), signal.SIGKILL)
        thread.join(WAIT)
    os.close(ours)
    error = outcome.get("error")
    assert isinstance(error, TopictagError), outcome
    message = str(error)
    assert "\n" not in message and "pipe.jsonl: Dask workers died" in message
    assert "rerun with --resume" in message
    written = outputs(tmp_path / "out")
    assert "pipe.jsonl" not in written
    for name, data in written.items():  # whatever was written is whole
        assert data.endswith(b"\n") and all(json.loads(line) for line in data.splitlines()), name


def test_classify_partition_of_a_dask_dataframe(model, dask_cluster):
    import dask.dataframe as dd
    import pandas as pd
    from distributed import Client

    from topictag.serve.dask import classify_partition, partition_meta

    texts = [text for _, text, _ in TINY]
    frame = dd.from_pandas(pd.DataFrame({"text": texts}), npartitions=3)
    with Client(dask_cluster.scheduler_address, timeout="30s"):
        tagged = frame.map_partitions(
            classify_partition, model=str(DEFAULT_MODEL), meta=partition_meta()
        ).compute()
    assert tagged["labels"].tolist() == model.predict(texts)
    proba = model.predict_proba(texts)
    for row, expected in zip(tagged["scores"], proba, strict=True):
        assert [row[label] for label in model.labels] == pytest.approx(expected, abs=1e-6)


def test_classify_rows_of_a_dask_bag(model, dask_cluster):
    import dask.bag as db
    from distributed import Client

    from topictag.serve.dask import classify_rows

    rows = [{"id": f"x{i}", "text": text, "src": "w"} for i, (_, text, _) in enumerate(TINY)]
    with Client(dask_cluster.scheduler_address, timeout="30s"):
        out = (
            db.from_sequence(rows, npartitions=4)
            .map_partitions(classify_rows, model=str(DEFAULT_MODEL))
            .compute()
        )
    assert [r["id"] for r in out] == [r["id"] for r in rows]
    assert [r["labels"] for r in out] == model.predict([r["text"] for r in rows])
    assert all(r["src"] == "w" and "known_terms" in r for r in out)
