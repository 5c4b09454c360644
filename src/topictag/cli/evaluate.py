"""The ``evaluate`` and ``explain`` commands."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    AsJson,
    Format,
    MaxLineBytes,
    OutputFormat,
    Quiet,
    log,
    output_format,
    reports_errors,
)


class EvaluatedSplit(StrEnum):
    """The rows ``evaluate`` scores."""

    test = "test"
    train = "train"
    all = "all"


@reports_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Labeled JSON Lines file(s).")],
    split: Annotated[
        EvaluatedSplit,
        typer.Option(help="Rows of this split, or all rows (ignored when rows have no split)."),
    ] = EvaluatedSplit.test,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder for metrics.json, report.md and report.html [default: print].",
        ),
    ] = None,
    compare: Annotated[
        str | None, typer.Option(help="Another model to compare with, on the same data.")
    ] = None,
    quiet: Quiet = False,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
) -> None:
    """Score a model on labeled data: metrics.json, report.md and report.html."""
    from topictag.evaluate.evaluation import evaluate_model, report_replacement

    if output is not None:
        from topictag.data.folders import check_output_folder

        check_output_folder(output, report_replacement(output))
    result = evaluate_model(
        model, data, split=split.value, compare=compare, max_line_bytes=max_line_bytes
    )
    if output is None:
        typer.echo(result.markdown)
        return
    result.write(output)
    log.info("wrote metrics.json, report.md and report.html to %s", output)


@reports_errors
def explain(
    text: Annotated[str, typer.Argument(help="The paragraph to explain.")],
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    label: Annotated[
        list[str] | None, typer.Option("--label", "-l", help="Explain this label (repeatable).")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write the text with words highlighted.")
    ] = None,
    format: Format = OutputFormat.text,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Show how each n-gram adds to a label's score, and the calibrated probability."""
    from topictag.evaluate.explanations import explanation_html, format_explanation
    from topictag.model.explain import explain as explain_text
    from topictag.model.inference import load_model

    if html_file is not None:
        from topictag.data.files import check_output_file

        check_output_file(html_file)
    loaded = load_model(model)
    unknown = [x for x in label or [] if x not in loaded.labels]
    if unknown:
        raise typer.BadParameter(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(loaded.labels)})",
            param_hint="--label",
        )
    explanations = explain_text(loaded, text, labels=label or None)
    if output_format(format, as_json) == OutputFormat.json:
        typer.echo(json.dumps([e.to_json() for e in explanations], indent=2))
    else:
        typer.echo(format_explanation(explanations), nl=False)
    if html_file is not None:
        from topictag.data.files import atomic_write

        with atomic_write(html_file) as handle:
            handle.write(explanation_html(text, explanations, loaded))
        log.info("wrote %s", html_file)
