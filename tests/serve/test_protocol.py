"""The ``serve`` protocol: one answer line per input line, whatever the line holds."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given

from tests.conftest import DEFAULT_MODEL
from tests.strategies import BYTES, JSONL, PROPERTY
from topictag.model.inference import load_model
from topictag.serve.protocol import ServeStats, render_answer, serve_lines
from topictag.serve.stream import Options

HOSTILE = [
    (b'{"id": 5, "text": "Oil prices rose."}', "5", None),
    (b"", "2", "empty request"),
    (b"   \t", "3", "empty request"),
    (b'{"text": ' + b"[" * 3000 + b"}", "4", "JSON nested too deeply"),
    (b'{"id": "n", "text": "x", "n": ' + b"9" * 5000 + b"}", "5", "too many digits"),
    (b'{"id": "s", "text": "oil", "echo": "\\ud800"}', "6", "lone surrogate"),
    (b'{"text": "oil", "\\udfff": 1}', "7", "lone surrogate"),
    (b"\xff\xfe not UTF-8", "8", "not valid UTF-8"),
    (b"caf\xc3", "9", "not valid UTF-8"),
    (b"\xed\xa0\x80 an encoded surrogate", "10", "not valid UTF-8"),
    (b'{"text": "oil", "v": NaN}', "11", "NaN is not a JSON value"),
    (b'{"text": "oil", "v": -Infinity}', "12", "-Infinity is not a JSON value"),
    (b'{"text": "oil", "v": 1e400}', "13", "out of range"),
    (b'{"id": [1], "text": "x"}', "14", "'id' must be a string or an integer"),
    (b'{"id": true, "text": "x"}', "15", "'id' must be a string or an integer"),
    (b'{"id": {"a": 1}, "text": 3}', "16", "'text' must be a string"),
    (b'{"id": "", "text": 3}', "17", "'text' must be a string"),
    (b"{not json", "18", "malformed JSON"),
    (b'{"id": 7}', "7", "missing 'text'"),
    (b"plain text about the elections", "20", None),
    (b'{"id": "w", "text": "oil", "k": "a\\u2028b\\u0085c"}', "w", None),
    (b"x" * 9000, "22", "line longer than 8192 bytes"),
    (b'{"id": "\\ud83d\\ude00", "text": "a valid surrogate pair"}', "\U0001f600", None),
]


@pytest.fixture(scope="module")
def model():
    return load_model(DEFAULT_MODEL)


def _serve(model, data: bytes, **options):
    stats = ServeStats()
    out = list(serve_lines(model, io.BytesIO(data), Options(), stats=stats, **options))
    return out, stats


def test_every_hostile_line_gets_exactly_one_answer_in_order(model):
    data = b"\n".join(line for line, _, _ in HOSTILE) + b"\n"
    out, stats = _serve(model, data, max_line_bytes=8192)
    assert len(out) == len(HOSTILE)
    for raw, (line, ident, error) in zip(out, HOSTILE, strict=True):
        assert raw.endswith(b"\n") and raw.count(b"\n") == 1
        text = raw.decode("utf-8")  # strict: no lone surrogate can be encoded
        assert len(text.splitlines()) == 1, text  # no U+2028, U+0085 left raw
        reply = json.loads(text, parse_constant=lambda name: pytest.fail(name))
        assert reply["id"] == ident, line[:60]
        if error is None:
            assert "error" not in reply and set(reply["scores"]) == set(model.labels)
        else:
            assert error in reply["error"], (line[:60], reply)
    assert stats.answered == 4 and stats.refused == len(HOSTILE) - 4


def test_the_last_line_needs_no_line_break_and_crlf_is_one_break(model):
    out, _ = _serve(model, b'{"id": "a", "text": "Oil."}\r\n{"id": "b", "text": "Gas."}')
    assert [json.loads(x)["id"] for x in out] == ["a", "b"]


def test_an_over_long_line_is_drained_not_kept(model):
    # 3 MB of one line under a 1 KiB limit: refused, and the next line is read as usual
    data = b'{"text": "' + b"oil " * 750_000 + b'"}\n{"id": "next", "text": "Gas prices."}\n'
    out, stats = _serve(model, data, max_line_bytes=1024)
    first, second = (json.loads(x) for x in out)
    assert first == {
        "id": "1",
        "error": "line longer than 1024 bytes (raise --max-line-bytes to accept it)",
    }
    assert second["id"] == "next" and "energy" in second["labels"]
    assert stats.refused == 1


def test_an_unexpected_failure_is_answered_and_serving_goes_on(model, monkeypatch):
    import topictag.serve.protocol as protocol

    calls = []

    def broken(*args):
        calls.append(args)
        if len(calls) == 1:
            raise ZeroDivisionError("a bug")
        return real(*args)

    real = protocol.classify_batch
    monkeypatch.setattr(protocol, "classify_batch", broken)
    out, stats = _serve(model, b"first\nsecond\n")
    assert json.loads(out[0]) == {"id": "1", "error": "internal error (ZeroDivisionError)"}
    assert json.loads(out[1])["id"] == "2" and "labels" in json.loads(out[1])
    assert stats.refused == 1 and stats.answered == 1


@pytest.mark.parametrize(
    "reply",
    [
        {"id": "x", "v": float("nan")},
        {"id": "x", "v": float("inf")},
        {"id": "x", "v": "\ud800"},
        {"id": "x", "v": object()},
    ],
)
def test_an_answer_json_cannot_hold_becomes_an_error_line(reply):
    line = render_answer(reply, 3)
    assert json.loads(line.decode("utf-8")) == {
        "id": "x",
        "error": "the answer cannot be written as JSON",
    }


def test_deep_nesting_in_an_answer_becomes_an_error_line():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert json.loads(render_answer({"id": "d", "v": deep}, 9))["error"].startswith("the answer")


@PROPERTY
@given(data=JSONL | BYTES)
def test_any_bytes_get_one_valid_answer_per_line(model, data):
    out, stats = _serve(model, data, max_line_bytes=2048)
    lines = data.split(b"\n")
    expected = len(lines) - (lines[-1] == b"")  # a last line needs no line break
    assert len(out) == expected == stats.answered + stats.refused
    for number, raw in enumerate(out, start=1):
        text = raw.decode("utf-8")
        assert text.endswith("\n") and len(text.splitlines()) == 1
        reply = json.loads(text, parse_constant=lambda name: pytest.fail(name))
        assert isinstance(reply["id"], str)
        assert "internal error" not in reply.get("error", "")
        assert ("error" in reply) != ("scores" in reply)
        if "error" in reply and not lines[number - 1].lstrip().startswith(b"{"):
            assert reply["id"] == str(number)  # plain lines are answered under their number
