"""The ``serve`` protocol: one JSON request per line in, one JSON answer per line out.

Whatever arrives, every input line gets exactly one answer line, in order: a result, or
``{"id": "...", "error": "..."}``. Ids are always strings; a request without a usable id is
answered under its line number. Answers are always standard JSON encoded as UTF-8 (no ``NaN``,
no lone surrogates), so a client reading line by line never waits for an answer that does not
come and never receives one it cannot parse.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from topictag.data.corpus import MAX_LINE_BYTES, iter_line_results, parse_json_object
from topictag.data.inputs import Item, item_from
from topictag.errors import DataError
from topictag.model.inference import Model
from topictag.serve.stream import Options, classify_batch

log = logging.getLogger("topictag")
SOURCE = "request"
EMPTY = "empty request"
# Characters that some line splitters (str.splitlines, JavaScript) treat as line breaks but
# JSON may leave raw inside strings: escaped, so that one answer is one line for every reader.
_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass
class ServeStats:
    """Counts of a ``serve`` session, for the summary on stderr."""

    answered: int = 0  # lines answered with a result
    refused: int = 0  # lines answered with an error


def answer_request(model: Model, line: str, number: int, options: Options) -> dict[str, Any]:
    """Answer one ``serve`` request line: a JSON object with ``text``, or a plain text line.

    A bad request is answered with ``{"id": "...", "error": "..."}`` instead of raising; its
    id is the request's own when that is a string or an integer, else the line number.
    """
    ident = str(number)
    if not line.strip():
        return {"id": ident, "error": EMPTY}
    try:
        if line.lstrip().startswith("{"):
            obj = parse_json_object(line, source=SOURCE, line=number)
            given = obj.get("id")
            if isinstance(given, str | int) and not isinstance(given, bool) and given != "":
                ident = str(given)
            item = item_from(obj, number, SOURCE, "text", "id")
        else:
            item = Item(id=ident, text=line)
        (row,), _ = classify_batch(model, [item], options)
        return row
    except DataError as error:
        return _refusal(ident, error, number)


def serve_lines(
    model: Model,
    stream: IO[bytes],
    options: Options,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    stats: ServeStats | None = None,
) -> Iterator[bytes]:
    """Answer every line of a byte stream; yield one encoded answer line per input line.

    Lines are split on ``\\n`` in the bytes and decoded one by one, so a line that is not
    UTF-8, or is longer than ``max_line_bytes`` (never read into memory whole), is answered
    with an error and the next line is read as usual. Nothing a request holds ends the
    iteration: an unexpected failure is logged and answered as an internal error.
    """
    stats = ServeStats() if stats is None else stats
    for number, line in iter_line_results(SOURCE, stream, max_line_bytes=max_line_bytes):
        try:
            if isinstance(line, DataError):
                reply = _refusal(str(number), line, number)
            else:
                reply = answer_request(model, line, number, options)
        except Exception as error:  # a bug, not a bad request: keep serving, say so
            log.error("request %d: internal error: %r", number, error)
            reply = {"id": str(number), "error": f"internal error ({type(error).__name__})"}
        if "error" in reply:
            stats.refused += 1
        else:
            stats.answered += 1
        yield render_answer(reply, number)


def render_answer(reply: dict[str, Any], number: int) -> bytes:
    """Encode one answer as a line of standard JSON in UTF-8.

    Should the answer hold something JSON cannot (``NaN``, a lone surrogate, nesting deeper
    than the encoder's recursion limit), an error answer under the line number is sent instead.
    """
    try:
        text = json.dumps(reply, ensure_ascii=False, allow_nan=False)
        for char, escape in _LINE_BREAKS.items():
            if char in text:
                text = text.replace(char, escape)
        return (text + "\n").encode("utf-8")
    except (ValueError, TypeError, RecursionError, UnicodeEncodeError):
        ident = reply.get("id")
        ident = ident if isinstance(ident, str) else str(number)
        fallback = {"id": ident, "error": "the answer cannot be written as JSON"}
        return (json.dumps(fallback) + "\n").encode("utf-8")


def _refusal(ident: str, error: DataError, number: int) -> dict[str, Any]:
    message = str(error).removeprefix(f"{SOURCE}:{number}: ")
    return {"id": ident, "error": message}
