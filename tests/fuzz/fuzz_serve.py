"""Fuzz the ``serve`` protocol: any bytes on stdin get one valid JSON answer per line."""

from __future__ import annotations

import io
import json

from tests.fuzz.harness import instrumented, main

with instrumented():
    from topictag.model.inference import load_model
    from topictag.serve.protocol import serve_lines
    from topictag.serve.stream import Options

from tests.conftest import DEFAULT_MODEL

MODEL = load_model(DEFAULT_MODEL)


def _no_constant(name: str) -> None:
    raise AssertionError(f"{name} in an answer")


def test_one_input(data: bytes) -> None:
    lines = data.split(b"\n")
    expected = len(lines) - (lines[-1] == b"")
    answers = list(serve_lines(MODEL, io.BytesIO(data), Options(), max_line_bytes=8192))
    if len(answers) != expected:
        raise AssertionError(f"{len(answers)} answers to {expected} lines")
    for answer in answers:
        text = answer.decode("utf-8")
        if len(text.splitlines()) != 1:
            raise AssertionError(f"an answer spans lines: {text!r}")
        reply = json.loads(text, parse_constant=_no_constant)
        if not isinstance(reply.get("id"), str):
            raise AssertionError(f"id is not a string: {text!r}")
        if "internal error" in reply.get("error", ""):
            raise AssertionError(f"internal error: {text!r}")


if __name__ == "__main__":
    main(test_one_input)
