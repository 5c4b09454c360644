"""Starting the real HTTP service in a subprocess on a free loopback port, for the tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 30.0
_LISTENING = re.compile(r"serving .* on http://(\S+):(\d+) with")


@dataclass
class Running:
    """A server subprocess, its address and what it wrote to stderr so far."""

    process: subprocess.Popen[bytes]
    url: str
    lines: list[str] = field(default_factory=list)

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=20.0, headers=headers)

    def log(self) -> str:
        return "\n".join(self.lines)

    def wait_for_log(self, pattern: str, seconds: float = 15.0) -> str:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r} in:\n{self.log()}")

    def stop(self, seconds: float = 30.0) -> int:
        """SIGTERM, then wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
            raise AssertionError(f"the server did not stop in {seconds} s:\n{self.log()}") from None


def server_command(
    *args: str, prelude: str | None = None, address: str = "127.0.0.1:0"
) -> list[str]:
    """The command that starts ``topictag serve --http ADDRESS ARGS``."""
    if prelude is None:
        head = [sys.executable, "-m", "topictag"]
    else:  # run some Python first (to inject a fault), then the CLI
        head = [sys.executable, "-c", f"{prelude}\nfrom topictag.cli import main\nmain()"]
    return [*head, "serve", "--http", address, *args]


@contextmanager
def running(
    *args: str, prelude: str | None = None, address: str = "127.0.0.1:0", ready: bool = True
) -> Iterator[Running]:
    """Run the service until the block ends; SIGTERM it then (and kill it if it hangs)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        server_command(*args, prelude=prelude, address=address),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stderr is not None
        for raw in process.stderr:
            lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + START_SECONDS
        url = None
        while url is None:
            if process.poll() is not None or time.monotonic() > deadline:
                reader.join(timeout=2)
                raise AssertionError("the server did not start:\n" + "\n".join(lines))
            found = [m for m in map(_LISTENING.search, list(lines)) if m]
            if found:
                host = found[0].group(1).replace("0.0.0.0", "127.0.0.1")  # talk on loopback only
                url = f"http://{host}:{found[0].group(2)}"
            time.sleep(0.05)
        server = Running(process, url, lines)
        if ready:
            _wait_ready(server, deadline)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        reader.join(timeout=5)


def _wait_ready(server: Running, deadline: float) -> None:
    with httpx.Client(base_url=server.url, timeout=2.0) as client:
        while True:
            try:
                if client.get("/readyz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.process.poll() is not None:
                raise AssertionError("the server never got ready:\n" + server.log())
            time.sleep(0.05)
