"""Reading HTTP request bodies: JSON checked whole, before anything is classified.

Every problem is a :class:`RequestError` with the HTTP status it is answered with and a one-line
message that names the field: 400 for malformed JSON or wrong types, 404 for an unknown model,
413 for a body, a text count or a text over the limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from topictag.data.inputs import Item, item_from
from topictag.errors import DataError
from topictag.serve.registry import ModelSet, Served
from topictag.serve.stream import SCORES, Options

MAX_TEXT_BYTES = 1 << 20  # per text: the stdin protocol's --max-line-bytes default (1 MiB)
MAX_BODY_BYTES = 10 << 20  # --max-body-bytes default: 10 MiB
MAX_TEXTS = 1000  # --max-texts default: texts (or items) in one request


class RequestError(Exception):
    """A request that is answered with an error status and ``{"error": message}``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_body_bytes: int = MAX_BODY_BYTES
    max_texts: int = MAX_TEXTS
    max_text_bytes: int = MAX_TEXT_BYTES


@dataclass(frozen=True)
class ClassifyRequest:
    """A checked ``POST /v1/classify`` body."""

    served: Served
    items: list[Item]
    options: Options


def parse_body(body: bytes) -> dict[str, Any]:
    """Parse a request body as one JSON object.

    Raises
    ------
    RequestError
        400 for anything but a UTF-8 JSON object (NaN and Infinity are not JSON).
    """
    try:
        obj = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError as exc:
        raise RequestError(400, f"the body is not UTF-8 (byte {exc.start})") from None
    except RecursionError:
        raise RequestError(400, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise RequestError(400, f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise RequestError(400, f"the body must be a JSON object, got {type(obj).__name__}")
    return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def classify_request(
    obj: Mapping[str, Any], models: ModelSet, limits: Limits, *, scores: str = "all"
) -> ClassifyRequest:
    """Check a classify body: ``texts`` or ``items``, and ``model``, ``top_k``, ``threshold``,
    ``paragraphs`` and ``scores`` (``scores`` is the default for the last).

    Raises
    ------
    RequestError
    """
    _known_fields(obj, ("texts", "items", "model", "top_k", "threshold", "paragraphs", "scores"))
    served = _model(obj, models)
    items = _items(obj, limits)
    top_k = obj.get("top_k")
    if top_k is not None and (not _is_int(top_k) or top_k < 1):
        raise RequestError(400, f"'top_k' must be a positive integer, got {_show(top_k)}")
    paragraphs = obj.get("paragraphs", False)
    if not isinstance(paragraphs, bool):
        raise RequestError(400, f"'paragraphs' must be true or false, got {_show(paragraphs)}")
    keep = obj.get("scores", scores)
    if keep not in SCORES:
        raise RequestError(400, f"'scores' must be one of {', '.join(SCORES)}, got {_show(keep)}")
    options = Options(_thresholds(obj.get("threshold"), served), top_k, paragraphs, keep)
    return ClassifyRequest(served, items, options)


def explain_request(
    obj: Mapping[str, Any], models: ModelSet, limits: Limits
) -> tuple[Served, str, list[str] | None]:
    """Check an explain body: ``text``, and optional ``model`` and ``labels``.

    Raises
    ------
    RequestError
    """
    _known_fields(obj, ("text", "model", "labels"))
    served = _model(obj, models)
    text = obj.get("text")
    if not isinstance(text, str):
        raise RequestError(400, f"'text' must be a string, got {_show(text)}")
    _check_size(text, "'text'", limits)
    labels = obj.get("labels")
    if labels is not None:
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise RequestError(400, f"'labels' must be a list of strings, got {_show(labels)}")
        unknown = [x for x in labels if x not in served.model.labels]
        if unknown:
            raise RequestError(400, _unknown_label(unknown[0], served))
    return served, text, labels


def _known_fields(obj: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    extra = [key for key in obj if key not in allowed]
    if extra:
        raise RequestError(
            400, f"unknown field {extra[0]!r} (a request may have: {', '.join(allowed)})"
        )


def _model(obj: Mapping[str, Any], models: ModelSet) -> Served:
    name = obj.get("model")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, f"'model' must be a string, got {_show(name)}")
    try:
        return models.get(name)
    except KeyError:
        raise RequestError(
            404, f"no model named {name!r} (serving: {', '.join(models.names())})"
        ) from None


def _items(obj: Mapping[str, Any], limits: Limits) -> list[Item]:
    if ("texts" in obj) == ("items" in obj):
        raise RequestError(400, "give either 'texts' (a list of strings) or 'items' (objects)")
    field = "texts" if "texts" in obj else "items"
    values = obj[field]
    if not isinstance(values, list):
        raise RequestError(400, f"{field!r} must be a list, got {_show(values)}")
    if len(values) > limits.max_texts:
        raise RequestError(
            413, f"{len(values)} {field} in one request; the limit is {limits.max_texts}"
        )
    items = []
    for position, value in enumerate(values):
        where = f"{field}[{position}]"
        if field == "texts":
            if not isinstance(value, str):
                raise RequestError(400, f"{where} must be a string, got {_show(value)}")
            item = Item(id=str(position + 1), text=value)
        else:
            if not isinstance(value, dict):
                raise RequestError(400, f"{where} must be an object, got {_show(value)}")
            try:
                item = item_from(value, position + 1, "request", "text", "id")
            except DataError as error:
                message = str(error).removeprefix(f"request:{position + 1}: ")
                raise RequestError(400, f"{where}: {message}") from None
        _check_size(item.text, where, limits)
        items.append(item)
    return items


def _check_size(text: str, where: str, limits: Limits) -> None:
    if len(text) * 4 > limits.max_text_bytes and len(text.encode("utf-8", "surrogatepass")) > (
        limits.max_text_bytes
    ):
        raise RequestError(
            413, f"{where} is over the limit of {limits.max_text_bytes} bytes per text"
        )


def _thresholds(value: Any, served: Served) -> float | dict[str, float] | None:
    if value is None:
        return None
    if isinstance(value, dict):
        for label, x in value.items():
            if label not in served.model.labels:
                raise RequestError(400, _unknown_label(label, served))
            _check_probability(x, f"'threshold' for {label!r}")
        return {label: float(x) for label, x in value.items()}
    _check_probability(value, "'threshold'")
    return float(value)


def _check_probability(value: Any, what: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0.0 <= value <= 1.0  # false for NaN too
    ):
        raise RequestError(
            400,
            f"{what} must be a probability between 0 and 1 (or an object of them), "
            f"got {_show(value)}",
        )


def _unknown_label(label: str, served: Served) -> str:
    return f"unknown label {label!r} (the model's labels: {', '.join(served.model.labels)})"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 40 else text[:37] + "..."
