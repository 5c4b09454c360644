"""The scale options of classify and train through typer's CliRunner."""

from __future__ import annotations

from typer.testing import CliRunner

from tests.cli.test_cli import assert_one_line_error
from tests.conftest import DEFAULT_MODEL
from tests.serve.test_archive import make_archive, outputs
from topictag.cli.application import app

runner = CliRunner()


def test_classify_engine_dask_writes_one_file_per_input(dask_cluster, tmp_path):
    make_archive(tmp_path / "in")
    args = ["classify", "-m", str(DEFAULT_MODEL), "--engine", "dask"]
    args += ["--scheduler", dask_cluster.scheduler_address, "-i", str(tmp_path / "in")]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "[4/4]" in result.stderr and "in 4 file(s)" in result.stderr
    assert sorted(outputs(tmp_path / "out")) == [
        "2024/05/b.jsonl",
        "2024/c.jsonl",
        "2024/notes.jsonl",
        "a.jsonl",
    ]
    again = runner.invoke(app, [*args, "-o", str(tmp_path / "out")])
    assert_one_line_error(again, r"output folder is not empty \(use --resume")
    resumed = runner.invoke(app, [*args, "-o", str(tmp_path / "out"), "--resume"])
    assert resumed.exit_code == 0 and "4 already done" in resumed.stderr


def test_classify_engine_dask_needs_an_input_and_an_output_folder(tmp_path):
    result = runner.invoke(app, ["classify", "--engine", "dask", "-i", str(tmp_path)])
    assert result.exit_code == 2 and "--output DIR" in result.output
    result = runner.invoke(app, ["classify", "--resume", "some text"])
    assert result.exit_code == 2 and "go with a folder output" in result.output


def test_train_engine_dask_writes_the_bundle_with_its_engine(dask_cluster, tiny_corpus, tmp_path):
    import json

    out = tmp_path / "model"
    args = ["train", "-d", str(tiny_corpus), "-o", str(out), "--engine", "dask"]
    result = runner.invoke(app, [*args, "--scheduler", dask_cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "model.json").read_text())
    assert manifest["engine"] == {"name": "dask", "workers": 2}
    args = ["train", "-d", str(tiny_corpus), "-o", str(tmp_path / "m2"), "--scheduler", "tcp://x:1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--scheduler goes with --engine dask" in result.output


def test_train_streaming_writes_a_bundle_that_says_so(tiny_corpus, tmp_path):
    out = tmp_path / "streamed"
    args = ["train", "-d", str(tiny_corpus), "-o", str(out), "--streaming", "--passes", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "**streaming** (out of core)" in (out / "MODEL_CARD.md").read_text()
    classified = runner.invoke(
        app, ["classify", "-m", str(out), "-f", "jsonl", "Troops shelled it."]
    )
    assert classified.exit_code == 0 and '"labels"' in classified.stdout
    refused = runner.invoke(app, [*args[:-2], "--tune", "-o", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "--tune and --cv do not stream" in refused.output


def test_a_killed_cli_leaves_no_worker_behind(tmp_path):
    """The local cluster's worker processes end with a CLI killed by SIGKILL."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    make_archive(tmp_path / "in")
    fifo = tmp_path / "in" / "pipe.jsonl"
    os.mkfifo(fifo)
    ours = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # the worker that opens it waits in read
    command = [sys.executable, "-m", "topictag", "classify", "-m", str(DEFAULT_MODEL)]
    command += ["--engine", "dask", "--jobs", "2", "-i", str(tmp_path / "in")]
    cli = subprocess.Popen([*command, "-o", str(tmp_path / "out")], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and not workers:
            children = _children(cli.pid)
            for pid in map(int, children):
                try:
                    links = [
                        os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")
                    ]
                except OSError:
                    continue
                if str(fifo) in links:
                    workers = [int(p) for p in children]
            time.sleep(0.1)
        assert workers, "no worker opened the pipe in time"
        os.kill(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
        deadline = time.monotonic() + 30
        alive = workers
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = [pid for pid in workers if Path(f"/proc/{pid}").exists() and _running(pid)]
        assert not alive, f"processes outlived the CLI: {alive}"
    finally:
        os.close(ours)
        if cli.poll() is None:
            cli.kill()


def _running(pid: int) -> bool:
    from pathlib import Path

    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> list[str]:
    """Every thread's children: the nannies start the workers from the cluster's own thread."""
    from pathlib import Path

    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += (task / "children").read_text().split()
        except OSError:  # a thread that just ended
            continue
    return found
