"""Reading lines and JSON objects from untrusted bytes: bounded, decoded, checked.

Every reader of topictag goes through these: a line longer than ``max_line_bytes`` is refused
without being held in memory, bytes that are not UTF-8 are named with their line, and a JSON
object must be an object of finite numbers with no lone surrogates. Problems are
:class:`~topictag.errors.DataError` values (or exceptions) that name the file and line.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from topictag.errors import DataError
from topictag.progress import Progress, report

STDIN = "-"
# The longest line (or HTTP text) any reader accepts, in bytes: a 1 MiB paragraph is already
# a whole book; a limit keeps memory bounded whatever the input. ``--max-line-bytes`` changes it.
MAX_LINE_BYTES = 1 << 20


def iter_lines(
    source: str | Path,
    stream: IO[bytes] | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: Progress | None = None,
) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` for each line of a UTF-8 file, without the line ending.

    Parameters
    ----------
    source : str or Path
        A file path, or ``"-"`` for standard input.
    stream : binary file, optional
        Read from this stream instead of opening ``source`` (``source`` still names it in errors).
    max_line_bytes : int
        The longest line accepted, in bytes without its line ending. Longer lines are never held
        in memory whole.
    progress : callable, optional
        Called with a ``"reading"`` :class:`~topictag.progress.Step` of bytes read (of the
        file's size, for a regular file) every 1,024 lines and at the end.

    Raises
    ------
    DataError
        If the file cannot be opened, or at the first line that is not valid UTF-8 or is longer
        than ``max_line_bytes``.
    """
    lines = iter_line_results(source, stream, max_line_bytes=max_line_bytes, progress=progress)
    for number, line in lines:
        if isinstance(line, DataError):
            raise line
        yield number, line


def iter_line_results(
    source: str | Path,
    stream: IO[bytes] | None = None,
    *,
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: Progress | None = None,
) -> Iterator[tuple[int, str | DataError]]:
    """Like :func:`iter_lines`, but a bad line is yielded as a DataError value in its place.

    Lines are split on ``\\n`` in the bytes, so a line that is not UTF-8 or is too long spoils
    only itself: reading goes on with the next line.

    Raises
    ------
    DataError
        If the file cannot be opened.
    """
    name = str(source)
    if stream is None:
        if name == STDIN:
            stream = open_stdin()
        else:
            try:
                stream = open(name, "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise DataError(f"cannot read file: {exc.strerror}", source=name) from None
            with stream:
                yield from _decode_lines(name, stream, max_line_bytes, progress)
            return
    yield from _decode_lines(name, stream, max_line_bytes, progress)


def open_stdin(buffering: int = -1) -> IO[bytes]:
    """Return standard input as a binary stream of its own (``sys.stdin.buffer`` if it has no
    descriptor, as under a test runner).

    A thread blocked reading ``sys.stdin.buffer`` holds its lock, and an interpreter that exits
    meanwhile (an error, Ctrl-C) then aborts with a fatal error; a stream of its own is never
    touched at exit.
    """
    try:
        return open(sys.stdin.fileno(), "rb", buffering=buffering, closefd=False)
    except (AttributeError, OSError, ValueError):
        return sys.stdin.buffer


def _decode_lines(
    name: str, stream: IO[bytes], limit: int, progress: Progress | None = None
) -> Iterator[tuple[int, str | DataError]]:
    number, read = 0, 0
    size = _size(stream) if progress is not None else None
    while True:
        # At most the limit, a CR and an LF: a longer line is drained in chunks of that size.
        raw = stream.readline(limit + 2)
        if not raw:
            if progress is not None:
                report(progress, "reading", read, size if size is not None else read, note=name)
            return
        number += 1
        read += len(raw)
        if progress is not None and number % 1024 == 0:
            report(progress, "reading", read, size, note=name)
        content = raw.rstrip(b"\r\n") if raw.endswith(b"\n") else raw
        if len(raw) == limit + 2 and not raw.endswith(b"\n"):  # drain the rest of the line
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(limit + 2)
                read += len(raw)
        if len(content) > limit:
            message = f"line longer than {limit} bytes (raise --max-line-bytes to accept it)"
            yield number, DataError(message, source=name, line=number)
            continue
        try:
            line = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"byte 0x{content[exc.start]:02x} at column {exc.start + 1}"
            yield number, DataError(f"not valid UTF-8 ({where})", source=name, line=number)
            continue
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        yield number, line


def _size(stream: IO[bytes]) -> float | None:
    """Return the size of a regular file's stream, or None (a pipe, an in-memory stream)."""
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return float(info.st_size) if stat.S_ISREG(info.st_mode) else None


def iter_json_objects(
    source: str | Path, stream: IO[bytes] | None = None, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line of a JSON Lines file.

    ``stream``, if given, is read instead of opening ``source`` (see :func:`iter_lines`).

    Raises
    ------
    DataError
        On a malformed, over-long or non-UTF-8 line, a line that is not a JSON object, or a
        file with no rows.
    """
    seen = False
    for number, line in iter_lines(source, stream, max_line_bytes=max_line_bytes):
        if not line.strip():
            continue
        seen = True
        yield number, parse_json_object(line, source=str(source), line=number)
    if not seen:
        raise DataError("file is empty (expected one JSON object per line)", source=str(source))


def parse_json_object(text: str, *, source: str, line: int) -> dict[str, Any]:
    """Parse one JSON Lines row, which must be an object of standard JSON.

    Python's ``json`` accepts more than JSON and fails on some of it in ways other than
    ``JSONDecodeError``; every such case becomes a DataError here: ``NaN`` and ``Infinity``,
    numbers out of float range, integers too long to convert, nesting deeper than the
    interpreter's recursion limit, and ``\\ud800``-style escapes of lone surrogates (which no
    UTF-8 output can hold).

    Raises
    ------
    DataError
        Naming the source, line and problem.
    """
    try:
        if text.startswith("\ufeff"):  # as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        obj = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"malformed JSON: {exc.msg} at column {exc.colno}", source=source, line=line
        ) from None
    except _NotJSON as exc:
        raise DataError(str(exc), source=source, line=line) from None
    except RecursionError:
        raise DataError("JSON nested too deeply", source=source, line=line) from None
    except ValueError:  # an integer longer than sys.get_int_max_str_digits() digits
        raise DataError("JSON number with too many digits", source=source, line=line) from None
    if not isinstance(obj, dict):
        raise DataError(f"expected a JSON object, got {json_type(obj)}", source=source, line=line)
    if _SURROGATE_ESCAPE.search(text):
        surrogate = _lone_surrogate(obj)
        if surrogate is not None:
            message = f"string holds a lone surrogate (\\u{ord(surrogate):04x}), not Unicode text"
            raise DataError(message, source=source, line=line)
    return obj


class _NotJSON(ValueError):
    """Something Python's json parser accepts that JSON does not."""


def _refuse_constant(name: str) -> Any:
    raise _NotJSON(f"{name} is not a JSON value")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if math.isinf(value):
        raise _NotJSON(f"number {literal[:20]}{'...' if len(literal) > 20 else ''} is out of range")
    return value


# json.loads(text, parse_constant=..., parse_float=...) without building a decoder per line
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value: Any) -> str | None:
    """Return the first lone surrogate in any string or key inside ``value``, if any."""
    stack = [value]
    while stack:  # no recursion: the value may be nested as deep as json allows
        item = stack.pop()
        if isinstance(item, dict):
            stack += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            stack += item
        elif isinstance(item, str) and (match := _SURROGATE.search(item)):
            return match.group()
    return None


def describe(value: Any, width: int = 40) -> str:
    """Show a JSON value in an error message: its first ``width`` characters of JSON.

    Characters that are not printable (control characters, line and paragraph separators)
    are escaped, so the message stays one line for every line splitter.
    """
    try:
        text = json.dumps(value, ensure_ascii=False)[:width]
    except (RecursionError, ValueError):
        return json_type(value)
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def describe_names(names: Iterable[str], limit: int = 10) -> str:
    """List column names in an error message: quoted, escaped, at most ``limit`` of them."""
    names = list(names)
    shown = ", ".join(repr(name[:40]) for name in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


_UNPRINTABLE = re.compile(r"[^\S ]|[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def json_type(value: object) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
