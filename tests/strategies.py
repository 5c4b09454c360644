"""Hypothesis strategies for hostile input: arbitrary bytes, arbitrary JSON, lines of both.

Used by the property tests of every reader. Each reader must return a value or raise a
:class:`~topictag.errors.DataError` / :class:`~topictag.errors.ModelError` that names its
source, never another exception.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from topictag.errors import TopictagError

# Bounded so that `make test` stays fast; `make fuzz` is the long campaign.
PROPERTY = settings(
    max_examples=120,
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(["id", "text", "labels", "article_id", "split", "body", "x"])
# Objects that look like rows: the known fields with values of any type, plus others.
ROWS = st.dictionaries(FIELD_NAMES | st.text(max_size=6), JSON_VALUES, max_size=6)

# Byte sequences that trip decoders and parsers: invalid UTF-8, encoded surrogates, BOMs,
# escapes of lone surrogates, NaN, huge numbers, deep nesting, CR LF.
NASTY = st.sampled_from(
    [
        b"\xff",
        b"\xc3",
        b"\xed\xa0\x80",
        b"\xef\xbb\xbf",
        b"\x00",
        b"\r",
        b"\r\n",
        b"\n",
        b'"\\ud800"',
        b"NaN",
        b"-Infinity",
        b"1e999",
        b"9" * 4400,
        b"[" * 1200,
        b"{" * 600,
        b'"',
        b",",
        b"__label__",
        b"<REUTERS",
        b"</REUTERS>",
        b'{"text": "x"}',
        b'{"id": 1, "text": "oil"}',
    ]
)
BYTES = st.lists(st.binary(max_size=40) | NASTY, max_size=12).map(b"".join)


def _line_of(value: Any) -> bytes:
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    except (ValueError, RecursionError):
        return b"{}"


# A file of lines, each arbitrary JSON (mostly row-like objects) or arbitrary bytes.
LINES = st.lists(ROWS.map(_line_of) | JSON_VALUES.map(_line_of) | BYTES, max_size=8)
JSONL = LINES.map(lambda lines: b"\n".join(lines) + b"\n")


def assert_located(error: Exception, source: str) -> None:
    """A reader's failure must be one of ours and name where it happened."""
    assert isinstance(error, TopictagError), repr(error)
    message = str(error)
    assert message.startswith(source), message
    assert len(message.splitlines()) == 1 and "Traceback" not in message, message
