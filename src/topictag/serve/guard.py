"""The HTTP service's outer ASGI layer: request id, token, catch-all 500, metrics, access log.

No exception gets past it to uvicorn: an unexpected failure is logged with its traceback and
answered ``{"error": "internal error (logged on the server)"}`` with status 500.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topictag.serve.batching import encode_json
from topictag.serve.metrics import Metrics

log = logging.getLogger("topictag")
access_log = logging.getLogger("topictag.access")

_PUBLIC = ("/healthz", "/readyz", "/openapi.json")  # never need the token


def json_response(status: int, obj: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    return Response(encode_json(obj), status, headers, media_type="application/json")


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error answer: ``{"error": message}``."""
    return json_response(status, {"error": message}, headers)


class Guard:
    """The outer ASGI layer: request id, bearer token, catch-all 500, metrics, access log."""

    def __init__(self, app: ASGIApp, *, token: Callable[[], str | None], metrics: Metrics):
        self.app = app
        self.token = token  # the current token (it changes on SIGHUP), or None for no auth
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path: str = scope["path"]
        rid = _request_id(scope)
        status, started = 500, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid)]
            await send(message)

        state = scope.setdefault("state", {})
        try:
            token = self.token()
            if token is not None and not path.startswith(_PUBLIC) and not _authorized(scope, token):
                answer = error_response(
                    401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
                )
                await answer(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("request %s %s %s failed", rid.decode(), scope["method"], path)
            if not started:
                answer = error_response(500, "internal error (logged on the server)")
                await answer(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            self.metrics.request_done(_endpoint(path), status, seconds)
            if access_log.isEnabledFor(logging.INFO):
                _log_access(rid, scope, status, seconds, state)


def _authorized(scope: Scope, token: str) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, given = value.partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(
                given.strip(), token.encode("utf-8")
            )
    return False


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id":  # kept when it is short, printable ASCII
            if 0 < len(value) <= 128 and all(33 <= c < 127 and c not in b'"\\' for c in value):
                return bytes(value)
            break
    return os.urandom(8).hex().encode()


_ENDPOINTS = {
    "/v1/classify",
    "/v1/explain",
    "/v1/models",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
}


def _endpoint(path: str) -> str:
    if path in _ENDPOINTS:
        return path
    if path.startswith("/v1/models/"):
        return "/v1/models/{name}"
    return "other"


def _log_access(rid: bytes, scope: Scope, status: int, seconds: float, state: Any) -> None:
    line: dict[str, Any] = {
        "time": round(time.time(), 3),
        "request_id": rid.decode(),
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "latency_ms": round(seconds * 1000, 3),
        "pid": os.getpid(),
    }
    batch = state.get("batch") if isinstance(state, dict) else None
    if batch is not None:
        line["batch_size"], line["batch_requests"] = batch
    model = state.get("model") if isinstance(state, dict) else None
    if model is not None:
        line["model"] = model
    access_log.info(json.dumps(line, ensure_ascii=True))
