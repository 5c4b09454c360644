"""The ``suggest``, ``label`` and ``drift`` commands: label less, know when to retrain."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.classify import InputFormat
from topictag.cli.common import DEFAULT_MODEL, AsJson, Quiet, log, reports_errors


class Strategy(StrEnum):
    """How ``suggest`` ranks the pool (see the README)."""

    uncertainty = "uncertainty"
    margin = "margin"
    random = "random"


class DriftFormat(StrEnum):
    """What ``drift`` writes: text for people, one JSON object, or an HTML report."""

    text = "text"
    json = "json"
    html = "html"


@reports_errors
def suggest(
    input: Annotated[
        str, typer.Option("--input", "-i", help="The pool: paragraphs to choose from, or -.")
    ],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    n: Annotated[int, typer.Option("-n", min=1, help="How many paragraphs to suggest.")] = 50,
    strategy: Annotated[
        Strategy, typer.Option(help="How to rank the pool (see the README).")
    ] = Strategy.uncertainty,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same picks.")] = 0,
    exclude: Annotated[
        list[Path] | None,
        typer.Option(help="Already labeled paragraphs to skip (by id or text); repeatable."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write JSON Lines here (atomically) [default: stdout]."
        ),
    ] = None,
    input_format: Annotated[
        InputFormat, typer.Option(help="auto, text (one paragraph per line), jsonl or csv.")
    ] = InputFormat.auto,
    quiet: Quiet = False,
) -> None:
    """Write the N unlabeled paragraphs most worth labeling next, as JSON Lines."""
    from itertools import chain

    from topictag.data.inputs import read_items
    from topictag.label.suggest import suggest as suggest_paragraphs
    from topictag.model.inference import load_model

    loaded = load_model(model)
    picks = suggest_paragraphs(
        loaded,
        read_items(input, input_format=input_format.value),
        n=n,
        strategy=strategy.value,
        seed=seed,
        exclude=chain.from_iterable(read_items(path) for path in exclude or []),
    )
    text = "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in picks)
    if output is not None:
        from topictag.data.files import atomic_write

        with atomic_write(output) as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    if len(picks) < n:
        log.warning("the pool has only %d distinct candidate paragraph(s)", len(picks))
    log.info("suggested %d paragraph(s) by %s", len(picks), strategy.value)


@reports_errors
def drift(
    input: Annotated[str, typer.Option("--input", "-i", help="New paragraphs, or - for stdin.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    reference: Annotated[
        Path | None,
        typer.Option(help="Compare with this data instead of the statistics stored in the bundle."),
    ] = None,
    format: Annotated[
        DriftFormat, typer.Option("--format", help="text, json or html.")
    ] = DriftFormat.text,
    as_json: AsJson = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the report here [default: stdout].")
    ] = None,
    fail_on: Annotated[
        float | None,
        typer.Option(help="Exit 3 when drift exceeds this (for cron jobs; errors exit 1)."),
    ] = None,
    input_format: Annotated[
        InputFormat, typer.Option(help="auto, text (one paragraph per line), jsonl or csv.")
    ] = InputFormat.auto,
    quiet: Quiet = False,
) -> None:
    """Compare new text with what the model was trained on; 0 means no drift."""
    from topictag.data.inputs import read_items
    from topictag.errors import TopictagError
    from topictag.model.drift import reference_from_items
    from topictag.model.inference import load_model
    from topictag.model.shift import measure_drift

    format = DriftFormat.json if as_json else format
    loaded = load_model(model)
    stats = None if reference is None else reference_from_items(loaded, read_items(reference))
    items = read_items(input, input_format=input_format.value)
    report = measure_drift(loaded, items, reference=stats)
    if format == "json":
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
    elif format == "html":
        from topictag.evaluate.drift_report import render_drift_html

        text = render_drift_html(report, title=f"Drift of {Path(str(input)).name} for {model}")
    else:
        from topictag.evaluate.drift_report import format_drift

        text = format_drift(report) + "\n"
    if output is not None:
        from topictag.data.files import atomic_write

        with atomic_write(output) as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    if fail_on is not None:
        if report["drift"] is None:
            raise TopictagError(f"--fail-on: cannot compute drift ({'; '.join(report['missing'])})")
        if report["drift"] > fail_on:
            log.warning("drift %.3f exceeds --fail-on %g", report["drift"], fail_on)
            raise typer.Exit(3)


@reports_errors
def label(
    input: Annotated[Path, typer.Option("--input", "-i", help="The pool: paragraphs to label.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The labeled corpus (resumed when it exists).")
    ],
    labels: Annotated[
        Path | None,
        typer.Option(help="Codebook: one label<TAB>definition per line [default: the model's]."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Order paragraphs by suggest and pre-check labels."),
    ] = None,
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any).")] = 8765,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open a browser.")
    ] = False,
    retrain_every: Annotated[
        int | None,
        typer.Option(min=1, help="Retrain in the background after every N accepted paragraphs."),
    ] = None,
    retrain_to: Annotated[
        Path | None,
        typer.Option(help="Folder of retrained models [default: <output stem>-model]."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Let retraining replace the --model folder.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the suggestions.")] = 0,
    quiet: Quiet = False,
) -> None:
    """Label paragraphs one at a time on a local page (keyboard first)."""
    from topictag.label.page import label_pool

    if labels is None and model is None:
        raise typer.BadParameter("give --labels FILE or --model M (the labels to offer)")

    def ready(url: str) -> None:
        typer.echo(f"topictag: labeling page at {url} (Ctrl-C to stop)", err=True)

    progress = label_pool(
        input,
        output,
        labels=labels,
        model=model,
        port=port,
        open_browser=not no_browser,
        retrain_every=retrain_every,
        retrain_to=retrain_to,
        force=force,
        seed=seed,
        on_ready=ready,
    )
    log.info(
        "%d accepted, %d skipped; labels in %s", progress["accepted"], progress["skipped"], output
    )
