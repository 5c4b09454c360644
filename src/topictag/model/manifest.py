"""The bundle manifest (``model.json``): its JSON Schema, checked field by field, and its hash.

The schema ships in the package (``schemas/model.schema.json``). :func:`check_manifest`
follows it with standard-library code: the subset of JSON Schema keywords the schema uses
(``type``, ``const``, ``enum``, ``required``, ``properties``, ``additionalProperties``,
``items``, ``minItems``, ``maxItems``, ``uniqueItems``, ``minimum``, ``maximum``,
``minLength``, ``maxLength``, ``pattern``), without importing a validator library (importing
``jsonschema`` costs as much as numpy on the classify path). A test holds it to ``jsonschema``
on arbitrary manifests.

The whole manifest is covered by the integrity hash: ``integrity.sha256`` is the SHA-256 of the
canonical JSON of every other field (sorted keys, no spaces), and ``weights.sha256`` the hash of
``weights.npz``, so an edited label list, mode or view is refused as surely as edited weights.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from importlib import resources
from typing import Any

INTEGRITY_ALGORITHM = "sha256-of-canonical-manifest"
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


class ManifestProblem(ValueError):
    """A manifest that does not follow the schema: ``field`` is the JSON path, dotted."""

    def __init__(self, field: str, problem: str):
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}" if field else problem)


@functools.cache
def manifest_schema() -> dict[str, Any]:
    """Return the shipped JSON Schema of ``model.json`` (read once per process)."""
    text = resources.files("topictag").joinpath("schemas/model.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def check_manifest(manifest: Any) -> None:
    """Check a parsed ``model.json`` against the schema.

    Raises
    ------
    ManifestProblem
        At the first field that breaks the schema, naming the field (``views.0.analyzer``).
    """
    _check(manifest, manifest_schema(), "")


def canonical_bytes(manifest: dict[str, Any]) -> bytes:
    """Return the bytes the integrity hash covers: every field but ``integrity``, canonical."""
    body = {key: value for key, value in manifest.items() if key != "integrity"}
    return json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def integrity_of(manifest: dict[str, Any]) -> dict[str, str]:
    """Return the ``integrity`` field for a manifest (its other fields complete)."""
    digest = hashlib.sha256(canonical_bytes(manifest)).hexdigest()
    return {"algorithm": INTEGRITY_ALGORITHM, "sha256": digest}


def _check(value: Any, schema: dict[str, Any], where: str) -> None:
    if "const" in schema and not _same(value, schema["const"]):
        raise ManifestProblem(where, f"must be {_show(schema['const'])}, got {_show(value)}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        options = ", ".join(_show(option) for option in schema["enum"])
        raise ManifestProblem(where, f"must be one of {options}, got {_show(value)}")
    kind = schema.get("type")
    if kind is not None and not _is_type(value, kind):
        raise ManifestProblem(where, f"must be {_article(kind)}, got {_json_type(value)}")
    if isinstance(value, dict):
        _check_object(value, schema, where)
    elif isinstance(value, list):
        _check_array(value, schema, where)
    elif isinstance(value, str):
        _check_string(value, schema, where)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise ManifestProblem(where, f"must be at least {schema['minimum']}, got {value}")
        if "maximum" in schema and value > schema["maximum"]:
            raise ManifestProblem(where, f"must be at most {schema['maximum']}, got {value}")


def _check_object(value: dict[str, Any], schema: dict[str, Any], where: str) -> None:
    for key in schema.get("required", ()):
        if key not in value:
            raise ManifestProblem(_join(where, key), "missing")
    properties = schema.get("properties", {})
    for key, item in value.items():
        if key in properties:
            _check(item, properties[key], _join(where, key))
        elif schema.get("additionalProperties", True) is False:
            raise ManifestProblem(_join(where, key), "unknown field")


def _check_array(value: list[Any], schema: dict[str, Any], where: str) -> None:
    if "minItems" in schema and len(value) < schema["minItems"]:
        raise ManifestProblem(where, f"must have at least {schema['minItems']} items")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        raise ManifestProblem(where, f"must have at most {schema['maxItems']} items")
    if "items" in schema:
        for i, item in enumerate(value):
            _check(item, schema["items"], _join(where, str(i)))
    if schema.get("uniqueItems"):
        seen: set[str] = set()
        for i, item in enumerate(value):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                raise ManifestProblem(_join(where, str(i)), f"repeats {_show(item)}")
            seen.add(key)


def _check_string(value: str, schema: dict[str, Any], where: str) -> None:
    if "minLength" in schema and len(value) < schema["minLength"]:
        raise ManifestProblem(where, f"must have at least {schema['minLength']} characters")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        raise ManifestProblem(where, f"must have at most {schema['maxLength']} characters")
    if "pattern" in schema and re.search(schema["pattern"], value) is None:
        raise ManifestProblem(where, f"must match {schema['pattern']}, got {_show(value)}")


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[kind])


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _article(kind: str) -> str:
    return {"object": "an object", "array": "a list", "integer": "an integer"}.get(
        kind, f"a {kind}"
    )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {dict: "an object", list: "a list", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if _jsonable(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return False
    return True
