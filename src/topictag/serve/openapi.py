"""The OpenAPI 3.1 description of the HTTP service, served at ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from topictag._version import __version__
from topictag.serve.payloads import Limits


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    reasons = {
        400: "Malformed JSON, or a field of the wrong type or value.",
        401: "Missing or wrong bearer token (only when the service has a token file).",
        404: "Unknown model.",
        413: "The body, the number of texts or one text is over the limits.",
        500: "Unexpected failure (logged on the server; the message is short).",
        503: "Starting or shutting down.",
    }
    return {str(s): _json_body(_ref("Error"), reasons[s]) for s in statuses}


def openapi_document(limits: Limits) -> dict[str, Any]:
    """Return the OpenAPI document, with the service's limits in the descriptions."""
    scores = {
        "type": "string",
        "enum": ["all", "labels", "none"],
        "description": "all: every label's probability; labels: only the predicted labels'; "
        "none: no scores key. The default is the service's --scores.",
    }
    threshold = {
        "oneOf": [
            {"type": "number", "minimum": 0, "maximum": 1},
            {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        ],
        "description": "One probability threshold for every label, or {label: threshold} for "
        "some labels (the others keep the model's).",
    }
    row = {
        "type": "object",
        "description": "Exactly the object `topictag classify` writes for the same input: "
        "id, paragraph/article (article mode), the item's other fields, labels (most probable "
        "first), scores, then text (paragraph rows), paragraphs (article rows), known_terms.",
        "required": ["id", "labels"],
        "properties": {
            "id": {"type": "string"},
            "labels": {"type": "array", "items": {"type": "string"}},
            "scores": {"type": "object", "additionalProperties": {"type": "number"}},
            "known_terms": {"type": "integer"},
            "paragraph": {"type": "integer"},
            "article": {"type": "boolean"},
            "paragraphs": {"type": "integer"},
            "text": {"type": "string"},
        },
        "additionalProperties": True,
    }
    classify_request = {
        "type": "object",
        "description": f"Give texts or items, at most {limits.max_texts} of them, each at most "
        f"{limits.max_text_bytes} bytes; the body at most {limits.max_body_bytes} bytes.",
        "properties": {
            "texts": {"type": "array", "items": {"type": "string"}},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text"],
                    "properties": {
                        "id": {"type": ["string", "integer"]},
                        "text": {"type": "string"},
                    },
                    "additionalProperties": True,
                },
                "description": "Other fields are carried to the result; 'labels' becomes "
                "'gold_labels'.",
            },
            "model": {"type": "string", "description": "A served model [default: the first]."},
            "top_k": {"type": "integer", "minimum": 1},
            "threshold": threshold,
            "paragraphs": {
                "type": "boolean",
                "description": "Each text is an article: split it into paragraphs.",
            },
            "scores": scores,
        },
        "additionalProperties": False,
    }
    model_brief: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "mode": {"type": "string", "enum": ["multi-label", "single-label"]},
            "labels": {"type": "array", "items": {"type": "string"}},
            "features": {"type": "integer"},
            "default": {"type": "boolean"},
        },
    }
    model_detail = {
        "type": "object",
        "properties": {
            **model_brief["properties"],
            "thresholds": {"type": "object", "additionalProperties": {"type": "number"}},
            "at_least_one": {"type": "boolean"},
            "views": {"type": "array", "items": {"type": "object"}},
            "training_data": {"type": "object"},
            "metrics": {"type": "object"},
            "format": {"type": "string"},
            "format_version": {"type": "integer"},
            "topictag_version": {"type": "string"},
            "weights_sha256": {"type": "string"},
            "loaded_at": {"type": "number", "description": "Unix time of the (re)load."},
        },
    }
    explanation = {
        "type": "object",
        "properties": {
            "label": {"type": "string"},
            "predicted": {"type": "boolean"},
            "probability": {"type": "number"},
            "calibrated": {"type": "number"},
            "score": {"type": "number"},
            "intercept": {"type": "number"},
            "contributions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "term": {"type": "string"},
                        "tfidf": {"type": "number"},
                        "contribution": {"type": "number"},
                    },
                },
            },
        },
    }
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    plain_ok = {"200": _json_body({"type": "object"}, "OK")}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "topictag",
            "version": __version__,
            "description": "Topic labels for news paragraphs from saved topictag models.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string"}},
                },
                "ClassifyRequest": classify_request,
                "Result": row,
                "Explanation": explanation,
                "ModelBrief": model_brief,
                "ModelDetail": model_detail,
            },
        },
        "paths": {
            "/v1/classify": {
                "post": {
                    "summary": "Classify paragraphs (or articles) with a served model.",
                    "security": secured,
                    "requestBody": _json_body(_ref("ClassifyRequest"), "What to classify."),
                    "responses": {
                        "200": _json_body(
                            {
                                "type": "object",
                                "properties": {
                                    "model": {"type": "string"},
                                    "results": {"type": "array", "items": _ref("Result")},
                                },
                            },
                            "One result per text, in order (article mode: each paragraph, "
                            "then the article).",
                        ),
                        **_errors(400, 401, 404, 413, 500),
                    },
                }
            },
            "/v1/explain": {
                "post": {
                    "summary": "Take the predicted (or given) labels' scores apart by n-gram.",
                    "security": secured,
                    "requestBody": _json_body(
                        {
                            "type": "object",
                            "required": ["text"],
                            "properties": {
                                "text": {"type": "string"},
                                "model": {"type": "string"},
                                "labels": {"type": "array", "items": {"type": "string"}},
                            },
                            "additionalProperties": False,
                        },
                        "The paragraph to explain.",
                    ),
                    "responses": {
                        "200": _json_body(
                            {
                                "type": "object",
                                "properties": {
                                    "model": {"type": "string"},
                                    "explanations": {
                                        "type": "array",
                                        "items": _ref("Explanation"),
                                    },
                                },
                            },
                            "What `topictag explain --json` prints.",
                        ),
                        **_errors(400, 401, 404, 413, 500),
                    },
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "The served models.",
                    "security": secured,
                    "responses": {
                        "200": _json_body(
                            {
                                "type": "object",
                                "properties": {
                                    "default": {"type": "string"},
                                    "models": {"type": "array", "items": _ref("ModelBrief")},
                                },
                            },
                            "The served models, the default first.",
                        ),
                        **_errors(401),
                    },
                }
            },
            "/v1/models/{name}": {
                "get": {
                    "summary": "One served model: labels, thresholds, training data, metrics.",
                    "security": secured,
                    "parameters": [
                        {
                            "name": "name",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": _json_body(_ref("ModelDetail"), "The model."),
                        **_errors(401, 404),
                    },
                }
            },
            "/healthz": {"get": {"summary": "The process is alive.", "responses": plain_ok}},
            "/readyz": {
                "get": {
                    "summary": "Every model is loaded and requests are answered.",
                    "responses": {**plain_ok, **_errors(503)},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics (text format), aggregated over workers.",
                    "security": secured,
                    "responses": {
                        "200": {"description": "OK", "content": {"text/plain": {}}},
                        **_errors(401),
                    },
                }
            },
            "/openapi.json": {"get": {"summary": "This document.", "responses": plain_ok}},
        },
    }
