"""Running the service: addresses, start-up errors, hot reload, SIGHUP, SIGTERM, batching."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import DEFAULT_MODEL
from tests.serve.running import ROOT, running
from topictag.model.bundle import load_bundle
from topictag.model.writing import save_bundle
from topictag.serve.server import is_loopback, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8000", ("127.0.0.1", 8000)),
        (":8000", ("127.0.0.1", 8000)),
        ("0.0.0.0:80", ("0.0.0.0", 80)),
        ("localhost:1", ("localhost", 1)),
        ("[::1]:8080", ("::1", 8080)),
        ("0", ("127.0.0.1", 0)),
    ],
)
def test_addresses(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "http", "1:2:3", "[::1]", "[::1]8000", "host:70000", ":"])
def test_bad_addresses(text):
    with pytest.raises(ValueError, match=r"expected|brackets"):
        parse_address(text)


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    assert not is_loopback("example.org")


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "topictag", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_start_up_errors_are_one_line():
    bad = _run_cli("--http", "nowhere:port")
    assert bad.returncode == 2 and "--http" in bad.stderr
    missing = _run_cli("--http", "127.0.0.1:0", "--model", "/nonexistent/model")
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines()[-1].startswith("topictag: error: /nonexistent")
    token = _run_cli("--http", "127.0.0.1:0", "--token-file", "/nonexistent/token")
    assert token.returncode == 1 and "cannot read the token file" in token.stderr
    several = _run_cli("--model", "a", "--model", "b")
    assert several.returncode == 2 and "several models need --http" in several.stderr


def test_a_port_in_use_is_an_error():
    with running("--model", str(DEFAULT_MODEL), "--jobs", "1") as server:
        port = server.url.rsplit(":", 1)[1]
        taken = _run_cli("--http", f"127.0.0.1:{port}", "--model", str(DEFAULT_MODEL))
        assert taken.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr


def test_a_public_address_without_token_warns_and_quiet_hides_the_access_log():
    args = ("--model", str(DEFAULT_MODEL), "--jobs", "1", "--quiet")
    with running(*args, address="0.0.0.0:0") as server:
        server.wait_for_log("without --token-file: anyone who can reach it can use it")
        with server.client() as client:
            assert client.post("/v1/classify", json={"texts": ["x"]}).status_code == 200
        assert server.stop() == 0
    assert not [line for line in server.lines if line.startswith("{")]
    assert "serving news-topics" in server.log()  # progress stays: only the access log goes


def _bundle_copy(folder: Path) -> Path:
    path = folder / "models" / "live"
    shutil.copytree(DEFAULT_MODEL, path)
    return path


def _retrain(path: Path, threshold: float) -> None:
    """Swap a different bundle in atomically, as ``train --force`` does."""
    data = load_bundle(path)
    data.thresholds = np.full(len(data.labels), threshold)
    save_bundle(data, path, force=True)


def _break(path: Path) -> None:
    """Swap in a bundle whose weights do not match its manifest."""
    staging = path.with_name("broken")
    shutil.copytree(path, staging)
    (staging / "weights.npz").write_bytes(b"not a zip")
    shutil.rmtree(path)
    staging.rename(path)


def _thresholds_seen(server, times: int = 6) -> set[float]:
    seen = set()
    for _ in range(times):
        with server.client() as fresh:  # new connections reach both workers
            seen.add(fresh.get("/v1/models/live").json()["thresholds"]["energy"])
    return seen


def _wait_for(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


class Looping:
    """A client that classifies in a loop on one keep-alive connection, counting statuses."""

    def __init__(self, server):
        self.server = server
        self.statuses: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.server.client() as client:
            deadline = time.monotonic() + 60
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    answer = client.post("/v1/classify", json={"texts": ["Oil prices rose."]})
                    self.statuses.append(answer.status_code)
                except httpx.HTTPError as error:
                    self.failures.append(repr(error))

    def __enter__(self) -> Looping:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def test_a_changed_bundle_is_reloaded_and_a_broken_one_refused_while_a_client_loops(tmp_path):
    path = _bundle_copy(tmp_path)
    with running("--model", str(path), "--watch-interval", "0.2") as server:
        with Looping(server) as loop:
            assert _thresholds_seen(server) != {0.9}
            _retrain(path, 0.9)
            _wait_for(lambda: _thresholds_seen(server) == {0.9})
            server.wait_for_log("reloaded model live")
            _break(path)
            server.wait_for_log("refused the new bundle of live")
            time.sleep(0.5)
            assert _thresholds_seen(server) == {0.9}  # the last good model keeps answering
            good = tmp_path / "good"
            shutil.copytree(DEFAULT_MODEL, good)
            _retrain(good, 0.8)
            shutil.rmtree(path)
            good.rename(path)
            _wait_for(lambda: _thresholds_seen(server) == {0.8})
        with server.client() as client:
            metrics = client.get("/metrics").text
    assert loop.failures == [] and len(loop.statuses) > 20
    assert set(loop.statuses) == {200}
    assert 'topictag_model_reloads_total{model="live",outcome="refused"}' in metrics
    assert 'topictag_model_reloads_total{model="live",outcome="reloaded"}' in metrics


def test_sighup_reloads_and_is_the_only_trigger_with_watching_off(tmp_path):
    path = _bundle_copy(tmp_path)
    with running("--model", str(path), "--watch-interval", "0", "--jobs", "2") as server:
        before = _thresholds_seen(server)
        _retrain(path, 0.95)
        time.sleep(1.5)
        assert _thresholds_seen(server) == before  # not watched: nothing changed yet
        server.process.send_signal(signal.SIGHUP)
        _wait_for(lambda: _thresholds_seen(server) == {0.95})
        assert server.process.poll() is None
        assert server.stop() == 0


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_finishes_requests_in_flight_then_exits_0(jobs):
    # Each request waits 600 ms in the batcher, so all are in flight when SIGTERM comes.
    with running("--model", str(DEFAULT_MODEL), "--jobs", jobs, "--max-wait-ms", "600") as server:
        started = threading.Barrier(9)

        def one(i: int) -> int:
            with server.client() as client:
                client.get("/healthz")  # connected before the signal
                started.wait(timeout=10)
                return client.post("/v1/classify", json={"texts": [f"Oil {i}"]}).status_code

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(one, i) for i in range(8)]
            started.wait(timeout=10)
            time.sleep(0.25)
            server.process.send_signal(signal.SIGTERM)
            statuses = [f.result(timeout=30) for f in futures]
        assert statuses == [200] * 8
        assert server.process.wait(timeout=30) == 0
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=2) as late:
        late.get(server.url + "/healthz")


def test_concurrent_requests_are_coalesced_into_one_batch():
    with running("--model", str(DEFAULT_MODEL), "--jobs", "1", "--max-wait-ms", "50") as server:
        barrier = threading.Barrier(16)

        def one(i: int) -> dict:
            with server.client() as client:
                client.get("/healthz")
                barrier.wait(timeout=10)
                answer = client.post("/v1/classify", json={"texts": [f"Oil {i}", "Talks"]})
                return {"status": answer.status_code, "id": answer.headers["x-request-id"]}

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(one, range(16)))
        assert {a["status"] for a in answers} == {200}
        lines = [json.loads(server.wait_for_log(a["id"])) for a in answers]
        assert max(line["batch_requests"] for line in lines) > 1
        assert max(line["batch_size"] for line in lines) >= 4


def test_classify_imports_none_of_the_http_stack():
    code = (
        "import sys\n"
        "from topictag.cli import main\n"
        "sys.argv = ['topictag', 'classify', '-m', sys.argv[1], 'Oil prices rose.']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = ('uvicorn', 'starlette', 'prometheus_client', 'anyio', 'pydantic', 'httptools')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(DEFAULT_MODEL)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert json.loads(done.stdout)["labels"]
    assert done.stderr.strip().splitlines()[-1] == "[]"


def test_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    with running("--model", str(DEFAULT_MODEL), "--jobs", "1", address="[::1]:0") as server:
        assert server.url.startswith("http://[::1]:")
        with server.client() as client:
            assert client.post("/v1/classify", json={"texts": ["Oil"]}).status_code == 200
