"""The HTTP service: a Starlette app that classifies with loaded models.

Routes are Starlette's; this module is glue. An outer ASGI layer
(:class:`topictag.serve.guard.Guard`) gives each request an id, checks the bearer token, turns
any unexpected failure into a JSON 500, counts the request and writes the access log line.
Classifying goes through the micro-batcher (:mod:`topictag.serve.batching`) to one scoring
thread, so the event loop only parses, checks and routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from topictag.errors import TopictagError
from topictag.model.explain import explain
from topictag.serve.batching import MicroBatcher, encode_json
from topictag.serve.guard import Guard, error_response, json_response
from topictag.serve.metrics import CONTENT_TYPE, Metrics
from topictag.serve.openapi import openapi_document
from topictag.serve.payloads import (
    Limits,
    RequestError,
    classify_request,
    explain_request,
    parse_body,
)
from topictag.serve.registry import ModelSet

log = logging.getLogger("topictag")

_PARSE_IN_THREAD = 256 << 10  # bodies larger than this are parsed off the event loop
_DISCARD_FACTOR = 4  # an oversized body is read and dropped up to this many times the limit
_DISCARD_MIN = 64 << 20  # ... and at least this many bytes, before the 413 is sent


@dataclass(frozen=True)
class Settings:
    """How one service process answers."""

    limits: Limits = field(default_factory=Limits)
    token_file: Path | None = None
    max_batch: int = 256
    max_wait_ms: float = 0.0
    scores: str = "all"
    watch_seconds: float = 1.0  # how often bundles are looked at on disk (0: never)
    multiprocess: bool = False  # metrics aggregated over worker processes


def read_token(path: Path) -> str:
    """Read a bearer token: the file's first line, without surrounding whitespace.

    Raises
    ------
    TopictagError
        If the file cannot be read or holds no token.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopictagError(f"{path}: cannot read the token file ({exc})") from None
    token = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not token:
        raise TopictagError(f"{path}: the token file is empty")
    return token


class Service:
    """One process's state: its models, scoring thread, batcher, metrics and token."""

    def __init__(self, models: ModelSet, settings: Settings):
        self.models = models
        self.settings = settings
        self.metrics = Metrics(multiprocess=settings.multiprocess)
        self.token = read_token(settings.token_file) if settings.token_file else None
        self.ready = False
        self._scoring = ThreadPoolExecutor(1, thread_name_prefix="topictag-score")
        self._loading = ThreadPoolExecutor(1, thread_name_prefix="topictag-reload")
        self.batcher = MicroBatcher(
            self._scoring,
            max_batch=settings.max_batch,
            max_wait=settings.max_wait_ms / 1000.0,
            on_batch=self.metrics.batch_done,
        )
        self._watcher: asyncio.Task[None] | None = None
        for served in models.all():
            self.metrics.model_loaded(served)

    async def start(self) -> None:
        """Start the batcher, the bundle watcher and the SIGHUP handler."""
        self.batcher.start()
        loop = asyncio.get_running_loop()
        if self.settings.watch_seconds > 0:
            self._watcher = loop.create_task(self._watch())
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        self.ready = True

    async def stop(self) -> None:
        """Answer what is queued, then stop the threads."""
        self.ready = False
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.batcher.close()
        self._scoring.shutdown(wait=True)
        self._loading.shutdown(wait=False)

    async def reload(self, *, force: bool) -> None:
        """Load changed bundles in a thread; log and count each outcome."""
        loop = asyncio.get_running_loop()
        events = await loop.run_in_executor(self._loading, lambda: self.models.refresh(force=force))
        for event in events:
            self.metrics.reload_seen(event)
            if event.outcome == "reloaded":
                self.metrics.model_loaded(self.models.get(event.name))
                log.info("reloaded model %s (%.0f ms)", event.name, event.seconds * 1000)
            else:
                message = "refused the new bundle of %s, still serving the old: %s"
                log.error(message, event.name, event.error)
        if force and self.settings.token_file is not None:
            try:
                self.token = read_token(self.settings.token_file)
            except TopictagError as error:
                log.error("kept the old token: %s", error)

    def _on_sighup(self) -> None:
        log.info("SIGHUP: reloading models")
        asyncio.get_running_loop().create_task(self.reload(force=True))

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.settings.watch_seconds)
            try:
                await self.reload(force=False)
            except Exception:  # a watcher that dies would stop reloads in silence
                log.exception("looking for changed bundles failed")

    async def run_scoring(self, func: Callable[[], Any]) -> Any:
        """Run a function in the scoring thread."""
        return await asyncio.get_running_loop().run_in_executor(self._scoring, func)


Handler = Callable[[Request], Awaitable[Response]]


def _answers_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except RequestError as error:
            return error_response(error.status, error.message, error.headers)

    return wrapped


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body, at most ``limit`` bytes of it.

    Raises
    ------
    RequestError
        413 for a longer body, after the rest of it was read and dropped (up to a hard cap),
        so that a client that sends all before it reads gets the answer.
    """
    cap = max(limit * _DISCARD_FACTOR, _DISCARD_MIN)
    declared = request.headers.get("content-length", "")
    message = f"the request body is over the limit of {limit} bytes"
    if declared.isdigit() and int(declared) > cap:  # not worth reading: close the connection
        raise RequestError(413, message, {"Connection": "close"})
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            elif size > cap:
                raise RequestError(413, message, {"Connection": "close"})
    except ClientDisconnect:
        raise RequestError(400, "the client went away before the body was read") from None
    if size > limit:
        raise RequestError(413, message)
    return b"".join(chunks)


def create_app(models: ModelSet, settings: Settings) -> ASGIApp:
    """Return the service's ASGI app (Starlette routes inside a :class:`Guard`)."""
    service = Service(models, settings)

    async def json_body(request: Request) -> dict[str, Any]:
        body = await read_body(request, settings.limits.max_body_bytes)
        if len(body) > _PARSE_IN_THREAD:
            return await asyncio.get_running_loop().run_in_executor(None, parse_body, body)
        return parse_body(body)

    @_answers_errors
    async def classify(request: Request) -> Response:
        checked = classify_request(
            await json_body(request), service.models, settings.limits, scores=settings.scores
        )
        outcome = await service.batcher.classify(checked.served, checked.items, checked.options)
        request.state.batch = (outcome.batch_texts, outcome.batch_requests)
        request.state.model = checked.served.name
        service.metrics.classified(checked.served.name, outcome.paragraphs, outcome.labels)
        return Response(outcome.body, media_type="application/json")

    @_answers_errors
    async def explain_text(request: Request) -> Response:
        served, text, labels = explain_request(
            await json_body(request), service.models, settings.limits
        )
        found = await service.run_scoring(lambda: explain(served.model, text, labels=labels))
        request.state.model = served.name
        return json_response(
            200, {"model": served.name, "explanations": [e.to_json() for e in found]}
        )

    async def list_models(request: Request) -> Response:
        listed = []
        for served in service.models.all():
            info = served.describe()
            listed.append({k: info[k] for k in ("name", "mode", "labels", "features")})
            listed[-1]["default"] = served.name == service.models.default
        return json_response(200, {"default": service.models.default, "models": listed})

    async def show_model(request: Request) -> Response:
        name = request.path_params["name"]
        try:
            served = service.models.get(name)
        except KeyError:
            return error_response(
                404, f"no model named {name!r} (serving: {', '.join(models.names())})"
            )
        return json_response(200, served.describe() | {"default": name == service.models.default})

    async def healthz(request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    async def readyz(request: Request) -> Response:
        if not service.ready:
            return error_response(503, "not ready: starting or shutting down")
        return json_response(200, {"status": "ready", "models": service.models.names()})

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    document = encode_json(openapi_document(settings.limits))

    async def openapi(request: Request) -> Response:
        return Response(document, media_type="application/json")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(404, f"no such path: {request.url.path}")
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            return error_response(
                405,
                f"{request.method} is not allowed on {request.url.path} (allowed: {allowed})",
                {"Allow": allowed},
            )
        return error_response(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal error (logged on the server)")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=[
            Route("/v1/classify", classify, methods=["POST"]),
            Route("/v1/explain", explain_text, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/models/{name}", show_model, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    return Guard(app, token=lambda: service.token, metrics=service.metrics)
