"""The ``serve`` protocol: one JSON request per line in, one JSON answer per line out."""

from __future__ import annotations

from typing import Any

from topictag.data.corpus import parse_json_object
from topictag.data.inputs import Item, item_from
from topictag.errors import DataError
from topictag.model.inference import Model
from topictag.serve.stream import Options, classify_batch


def answer_request(model: Model, line: str, number: int, options: Options) -> dict[str, Any]:
    """Answer one ``serve`` request line: a JSON object with ``text``, or a plain text line.

    A bad request is answered with ``{"id": ..., "error": "..."}`` instead of raising.
    """
    ident: Any = str(number)
    try:
        if line.lstrip().startswith("{"):
            obj = parse_json_object(line, source="request", line=number)
            ident = obj.get("id", ident)
            item = item_from(obj, number, "request", "text", "id")
        else:
            item = Item(id=ident, text=line)
        (row,), _ = classify_batch(model, [item], options)
        return row
    except DataError as error:
        message = str(error).removeprefix(f"request:{number}: ")
        return {"id": ident if isinstance(ident, str | int) else str(ident), "error": message}
