"""What every fuzz harness shares: coverage of topictag's own code, scratch files, the oracle.

A harness is ``tests/fuzz/fuzz_<target>.py``: run by ``make fuzz`` (atheris, coverage-guided),
never collected by pytest. Each feeds the fuzzer's bytes to one reader and lets the input pass
when the reader returns a value or raises one of our one-line errors naming its source; any
other exception, a hang or a memory blow-up is a finding, to be turned into a regression test.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import atheris

SCRATCH = Path(
    tempfile.mkdtemp(prefix="topictag-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
)


def instrumented() -> atheris.instrument_imports:
    """Instrument topictag (and the pure-Python parsers it relies on) for coverage."""
    return atheris.instrument_imports(include=["topictag", "tomllib", "csv", "json"])


def scratch(name: str, data: bytes) -> Path:
    """Write ``data`` to a scratch file (in memory when /dev/shm exists) and return its path."""
    path = SCRATCH / name
    path.write_bytes(data)
    return path


def check_error(error: BaseException, source: object) -> None:
    """Re-raise unless ``error`` is one of ours, one line, naming ``source``."""
    from topictag.errors import TopictagError

    message = str(error)
    if not isinstance(error, TopictagError):
        raise error
    if not message.startswith(str(source)) or len(message.splitlines()) != 1:
        raise AssertionError(f"error does not name {source} in one line: {message!r}")


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Run the fuzzer on ``test_one_input`` with the command line's libFuzzer options."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
