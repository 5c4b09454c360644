"""The ``serve`` command: classify lines from stdin, or answer HTTP requests."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    SCORES_HELP,
    MaxLineBytes,
    Scores,
    log,
    reports_errors,
)


@reports_errors
def serve(
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            "-m",
            help="Model folder or name (repeatable with --http; the first is the default) "
            f"[default: {DEFAULT_MODEL}].",
        ),
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, help="Keep at most K labels per paragraph."),
    ] = None,
    http: Annotated[
        str | None,
        typer.Option(
            "--http",
            metavar="[HOST:]PORT",
            help="Serve HTTP on this address instead of stdin (host default 127.0.0.1).",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="Require 'Authorization: Bearer <token>' with the token in this file."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="HTTP worker processes.")] = 2,
    max_batch: Annotated[
        int, typer.Option(min=1, help="At most this many texts per scoring batch.")
    ] = 256,
    max_wait_ms: Annotated[
        float,
        typer.Option(min=0.0, help="Wait this long for more requests to batch with the first."),
    ] = 0.0,
    max_body_bytes: Annotated[
        int, typer.Option(min=1, help="Largest request body (HTTP 413 above).")
    ] = 10 << 20,
    max_texts: Annotated[
        int, typer.Option(min=1, help="Most texts (or items) in one request (HTTP 413 above).")
    ] = 1000,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
    scores: Annotated[Scores, typer.Option(help=SCORES_HELP)] = Scores.all,
    watch_interval: Annotated[
        float,
        typer.Option(
            min=0.0, help="Look for changed bundles this often, in seconds (0: only on SIGHUP)."
        ),
    ] = 1.0,
    access_quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No access log (the start-up lines stay; topictag -q hides them)."
        ),
    ] = False,
) -> None:
    """Answer requests on stdin, one JSON line out per line in, until EOF or Ctrl-C; or over HTTP.

    A request is a JSON object with "text" (and optionally "id"), or a plain line of text.
    Every line gets one answer, in order; a bad line gets {"id": ..., "error": ...}.
    With --http, POST /v1/classify answers {"texts": [...]} (see the README and /openapi.json).
    """
    models = model or [DEFAULT_MODEL]
    _setup_access_log(access_quiet)
    if http is not None:
        from topictag.serve.server import HttpConfig, parse_address, run_http

        try:
            host, port = parse_address(http)
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--http") from None
        run_http(
            HttpConfig(
                host=host,
                port=port,
                models=models,
                token_file=token_file,
                jobs=jobs,
                max_batch=max_batch,
                max_wait_ms=max_wait_ms,
                max_body_bytes=max_body_bytes,
                max_texts=max_texts,
                max_text_bytes=max_line_bytes,
                scores=scores.value,
                watch_seconds=watch_interval,
            )
        )
        return
    if len(models) > 1:
        raise typer.BadParameter("several models need --http", param_hint="--model")
    _serve_stdin(models[0], top_k, scores.value, max_line_bytes)


def _setup_access_log(quiet: bool) -> None:
    """JSON access lines go to stderr as they are (no prefix); --quiet turns them off."""
    access = logging.getLogger("topictag.access")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.handlers[:] = [handler]
    access.propagate = False
    access.setLevel(logging.WARNING if quiet else logging.INFO)


def _serve_stdin(model: str, top_k: int | None, scores: str, max_line_bytes: int) -> None:
    import signal

    from topictag.model.inference import load_model
    from topictag.serve.protocol import ServeStats, serve_lines
    from topictag.serve.stream import Options

    loaded = load_model(model)
    log.info("serving %s: one request per line on stdin", model)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stats = ServeStats()
    out = sys.stdout.buffer
    try:
        for answer in serve_lines(
            loaded,
            sys.stdin.buffer,
            Options(top_k=top_k, scores=scores),
            max_line_bytes=max_line_bytes,
            stats=stats,
        ):
            out.write(answer)
            out.flush()
    except KeyboardInterrupt:
        pass
    log.info(
        "served %d request(s)%s",
        stats.answered + stats.refused,
        f", {stats.refused} answered with an error" if stats.refused else "",
    )
