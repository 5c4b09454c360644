"""The local labeling page: Starlette behind uvicorn, on 127.0.0.1 only (the ``http`` extra).

The page answers only itself. Every request must name the page's own address in its ``Host``
header (``127.0.0.1:PORT`` or ``localhost:PORT``), which defeats DNS rebinding; every API call
must carry the per-run token that is written into the page (``X-Topictag-Token``), which another
web page in the same browser cannot read; a cross-site ``Origin`` is refused; and the page may
not be framed. Every request gets an answer: a bad one is a 4xx with a one-line JSON error.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from topictag.errors import TopictagError
from topictag.label.session import LabelSession

MAX_BODY = 1 << 20  # bytes of one request body
HTTP_EXTRA = "the labeling page needs the http extra: pip install 'topictag[http]'"
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
}


def require_http() -> None:
    """Raise a one-line error when uvicorn or Starlette is missing."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise TopictagError(HTTP_EXTRA) from None


def create_app(session: LabelSession, *, token: str, port: int) -> Any:
    """Return the Starlette application of the page, for a server listening on ``port``."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, Response
    from starlette.routing import Route

    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}
    origins = {f"http://{host}" for host in hosts}
    page = resources.files("topictag.label").joinpath("page.html").read_text(encoding="utf-8")
    page = page.replace("__TOKEN__", token)

    def refuse(request: Request, *, api: bool) -> Response | None:
        if request.headers.get("host") not in hosts:
            return JSONResponse({"error": "wrong Host header"}, 403, headers=_HEADERS)
        origin = request.headers.get("origin")
        if origin is not None and origin not in origins:
            return JSONResponse({"error": "cross-origin request"}, 403, headers=_HEADERS)
        given = request.headers.get("x-topictag-token", "")
        if api and not hmac.compare_digest(given.encode(), token.encode()):
            return JSONResponse({"error": "missing or wrong token"}, 403, headers=_HEADERS)
        return None

    def index(request: Request) -> Response:
        return refuse(request, api=False) or HTMLResponse(page, headers=_HEADERS)

    def state(request: Request) -> Response:
        return refuse(request, api=True) or _answer(session.state)

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise ValueError("request body too large")
        data = json.loads(raw or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    async def accept(request: Request) -> Response:
        if denied := refuse(request, api=True):
            return denied
        try:
            data = await body(request)
            ident, labels = data["id"], data["labels"]
            if not isinstance(ident, str) or not isinstance(labels, list):
                raise ValueError("'id' must be a string and 'labels' a list")
            if not all(isinstance(x, str) for x in labels):
                raise ValueError("'labels' must be a list of strings")
        except (ValueError, KeyError) as error:
            return _bad(error)
        return await _in_thread(lambda: session.accept(ident, labels))

    async def skip(request: Request) -> Response:
        if denied := refuse(request, api=True):
            return denied
        try:
            ident = (await body(request))["id"]
            if not isinstance(ident, str):
                raise ValueError("'id' must be a string")
        except (ValueError, KeyError) as error:
            return _bad(error)
        return await _in_thread(lambda: session.skip(ident))

    async def undo(request: Request) -> Response:
        return refuse(request, api=True) or await _in_thread(session.undo)

    def _answer(call: Callable[[], dict[str, Any]]) -> Response:
        try:
            return JSONResponse(call(), headers=_HEADERS)
        except TopictagError as error:
            return JSONResponse({"error": str(error)}, 409, headers=_HEADERS)

    async def _in_thread(call: Callable[[], dict[str, Any]]) -> Response:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(_answer, call)

    def _bad(error: Exception) -> Response:
        message = f"missing field {error}" if isinstance(error, KeyError) else str(error)
        return JSONResponse({"error": f"bad request: {message}"}, 400, headers=_HEADERS)

    return Starlette(
        routes=[
            Route("/", index),
            Route("/api/state", state),
            Route("/api/accept", accept, methods=["POST"]),
            Route("/api/skip", skip, methods=["POST"]),
            Route("/api/undo", undo, methods=["POST"]),
        ]
    )


def serve_page(
    session: LabelSession,
    *,
    port: int = 8765,
    open_browser: bool = True,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the page on ``127.0.0.1:port`` (0 picks a free port) until interrupted.

    ``on_ready(url)`` is called once the socket listens, before the browser opens.

    Raises
    ------
    TopictagError
        Without the ``http`` extra, or when the port is taken.
    """
    require_http()
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as exc:
        listener.close()
        raise TopictagError(f"127.0.0.1:{port}: cannot listen ({exc.strerror})") from None
    listener.listen(64)
    actual = listener.getsockname()[1]
    url = f"http://127.0.0.1:{actual}/"
    app = create_app(session, token=secrets.token_urlsafe(24), port=actual)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    )
    if on_ready is not None:
        on_ready(url)
    if open_browser:
        threading.Timer(0.5, webbrowser.open, args=(url,)).start()
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()


def label_pool(
    pool: str | Path,
    output: str | Path,
    *,
    labels: str | Path | None = None,
    model: str | Path | None = None,
    port: int = 8765,
    open_browser: bool = True,
    retrain_every: int | None = None,
    retrain_to: str | Path | None = None,
    force: bool = False,
    seed: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the labeling page over a pool until interrupted; return the final progress.

    Parameters are those of ``topictag label`` (see :class:`LabelSession` and
    :func:`serve_page`); ``labels`` is a codebook file, ``model`` a bundle folder or name.
    """
    require_http()
    from topictag.label.session import read_codebook
    from topictag.model.inference import load_model

    session = LabelSession(
        pool,
        output,
        codebook=read_codebook(labels) if labels is not None else None,
        model=load_model(model) if model is not None else None,
        retrain_every=retrain_every,
        retrain_to=retrain_to,
        force=force,
        seed=seed,
    )
    serve_page(session, port=port, open_browser=open_browser, on_ready=on_ready)
    session.wait_for_retraining(timeout=60)
    progress: dict[str, Any] = session.state()["progress"]
    return progress
