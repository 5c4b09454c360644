"""Running the HTTP service: uvicorn on a socket bound once, in one or several processes.

With ``jobs`` > 1 the parent binds the socket and loads the models, then forks the workers
(which share the loaded arrays until they reload), forwards SIGHUP and SIGTERM to them,
replaces one that dies, and exits when they have all drained. Each worker is a whole uvicorn
server with its own event loop, micro-batcher and scoring thread; the kernel spreads
connections over them. Metrics are aggregated over workers through prometheus_client's
multiprocess mode (a temporary folder, removed at exit).

:func:`run_http` takes over the process until a signal stops it: it installs signal
handlers, and with several workers it sets ``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from topictag.errors import TopictagError
from topictag.serve.payloads import MAX_BODY_BYTES, MAX_TEXT_BYTES, MAX_TEXTS, Limits
from topictag.serve.registry import ModelSet

log = logging.getLogger("topictag")

DEFAULT_JOBS = 2  # worker processes: what meets the targets on a 2-core machine
DEFAULT_MAX_BATCH = 256  # texts per scoring batch
DEFAULT_MAX_WAIT_MS = 0.0  # the queue fills while a batch is scored; no need to wait longer
GRACEFUL_SECONDS = 30  # in-flight requests get this long to finish after SIGTERM
_MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


@dataclass(frozen=True)
class HttpConfig:
    """Everything ``serve --http`` is told."""

    host: str
    port: int
    models: list[str] = field(default_factory=lambda: ["news-topics"])
    token_file: Path | None = None
    jobs: int = DEFAULT_JOBS
    max_batch: int = DEFAULT_MAX_BATCH
    max_wait_ms: float = DEFAULT_MAX_WAIT_MS
    max_body_bytes: int = MAX_BODY_BYTES
    max_texts: int = MAX_TEXTS
    max_text_bytes: int = MAX_TEXT_BYTES
    scores: str = "all"
    watch_seconds: float = 1.0


def parse_address(text: str) -> tuple[str, int]:
    """Parse ``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPV6]:PORT``; the host defaults to 127.0.0.1.

    Port 0 asks the system for a free port (the log line "serving ... on" names it).

    Raises
    ------
    ValueError
        With a one-line message, for anything else or a port outside 1-65535.

    Examples
    --------
    >>> parse_address("8000"), parse_address("0.0.0.0:80"), parse_address("[::1]:8080")
    (('127.0.0.1', 8000), ('0.0.0.0', 80), ('::1', 8080))
    """
    host, port = "", text
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ValueError(f"expected [IPV6]:PORT, got {text!r}")
        host, port = inner, rest[1:]
    elif ":" in text:
        host, _, port = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"write an IPv6 host in brackets, as [::1]:8000; got {text!r}")
    if not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"expected PORT, :PORT or HOST:PORT with a port 0-65535, got {text!r}")
    return host or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """Return True for a host that only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_http(config: HttpConfig) -> None:
    """Serve until SIGTERM or SIGINT, then finish the requests in flight and return.

    Raises
    ------
    TopictagError
        If a model does not load, the token file is unusable or the address cannot be bound.
    """
    folder = None
    if config.jobs > 1 and "prometheus_client" not in sys.modules:
        # prometheus_client picks its multiprocess mode from this variable when first imported
        folder = tempfile.mkdtemp(prefix="topictag-metrics-")
        os.environ[_MULTIPROCESS_ENV] = folder
    try:
        _run(config, folder)
    finally:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
            os.environ.pop(_MULTIPROCESS_ENV, None)


def _run(config: HttpConfig, folder: str | None) -> None:
    from topictag.serve.http import Settings, read_token

    models = ModelSet(config.models)
    if config.token_file is not None:
        read_token(config.token_file)
    elif not is_loopback(config.host):
        log.warning(
            "listening on %s without --token-file: anyone who can reach it can use it",
            config.host,
        )
    sock = _listen(config.host, config.port)
    settings = Settings(
        limits=Limits(config.max_body_bytes, config.max_texts, config.max_text_bytes),
        token_file=config.token_file,
        max_batch=config.max_batch,
        max_wait_ms=config.max_wait_ms,
        scores=config.scores,
        watch_seconds=config.watch_seconds,
        multiprocess=folder is not None,
    )
    shown = f"[{config.host}]" if ":" in config.host else config.host
    log.info(
        "serving %s on http://%s:%d with %d worker process(es)",
        ", ".join(models.names()),
        shown,
        sock.getsockname()[1],
        config.jobs,
    )
    try:
        if config.jobs <= 1:
            _serve(sock, models, settings)
        else:
            _supervise(sock, models, settings, config.jobs, folder)
    finally:
        sock.close()
    log.info("stopped")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise TopictagError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def _serve(sock: socket.socket, models: ModelSet, settings: Any) -> None:
    """Run one uvicorn server on the bound socket until a signal drains it."""
    import uvicorn

    from topictag.serve.http import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(models, settings),
            lifespan="on",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )

    def stop(signum: int, frame: Any) -> None:
        # Before uvicorn takes the signals over, and after it hands them back (it re-raises
        # the one that stopped it): mark the server stopped instead of dying of the signal.
        server.should_exit = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.run(sockets=[sock])


def _supervise(
    sock: socket.socket, models: ModelSet, settings: Any, jobs: int, folder: str | None
) -> None:
    """Fork ``jobs`` workers, keep them running, forward signals, wait for them to drain."""

    workers: dict[int, int] = {}  # pid -> slot
    stopping = {"since": 0.0}

    def forward(signum: int) -> None:
        for pid in list(workers):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def on_stop(signum: int, frame: Any) -> None:
        if not stopping["since"]:
            stopping["since"] = time.monotonic()
            log.info("draining: finishing the requests in flight")
        forward(signal.SIGTERM)

    def on_hup(signum: int, frame: Any) -> None:
        forward(signal.SIGHUP)

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            workers.clear()
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until _serve sets its own
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)  # until its event loop takes it
                _serve(sock, models, settings)
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                code = 1
            finally:
                os._exit(code)
        workers[pid] = slot

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    try:
        for slot in range(jobs):
            spawn(slot)
        while workers:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                if stopping["since"] and time.monotonic() - stopping["since"] > (
                    GRACEFUL_SECONDS + 10
                ):
                    forward(signal.SIGKILL)
                time.sleep(0.05)
                continue
            slot = workers.pop(pid, -1)
            if folder is not None:
                from prometheus_client import multiprocess

                multiprocess.mark_process_dead(pid, folder)
            if slot >= 0 and not stopping["since"]:
                log.error("worker %d stopped (status %d); starting another", pid, status)
                time.sleep(0.5)
                spawn(slot)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
