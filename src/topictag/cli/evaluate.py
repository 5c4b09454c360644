"""The ``evaluate`` and ``explain`` commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    MaxLineBytes,
    log,
    reports_errors,
)
from topictag.errors import DataError


@reports_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Labeled JSON Lines file(s).")],
    split: Annotated[
        str, typer.Option(help="Rows of this split ('all' for every row; ignored without splits).")
    ] = "test",
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
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
) -> None:
    """Score a model on labeled data: metrics.json, report.md and report.html."""
    from topictag.data.corpus import read_corpus
    from topictag.data.files import atomic_write, file_sha256
    from topictag.evaluate.evaluation import (
        compare_predictions,
        intervals_of,
        metrics_of,
        predict_records,
    )
    from topictag.evaluate.metrics import SCHEMA_VERSION
    from topictag.evaluate.report import comparison_markdown, metrics_markdown
    from topictag.model.inference import load_model

    loaded = load_model(model)
    other = load_model(compare) if compare else None
    records = read_corpus(data, max_line_bytes=max_line_bytes)
    if split != "all" and any(r.split is not None for r in records):
        records = [r for r in records if r.split == split]
        if not records:
            raise DataError(f"no rows with split {split!r} in {', '.join(map(str, data))}")
    name = Path(str(model)).name
    log.info("evaluating %s on %d paragraphs", name, len(records))
    predictions = predict_records(loaded, records)
    metrics = metrics_of(loaded, predictions)
    intervals = intervals_of(predictions)
    comparison = None
    if other is not None:
        comparison = compare_predictions(
            predictions,
            predict_records(other, records),
            names=(name, Path(str(compare)).name),
            mode=loaded.mode,
        )
    document = {
        "schema_version": SCHEMA_VERSION,
        "model": {"name": name, "sha256": loaded.manifest["weights"]["sha256"]},
        "data": {"files": [p.name for p in data], "sha256": file_sha256(data), "split": split},
        "metrics": metrics,
        "intervals": intervals,
        **({"comparison": comparison} if comparison else {}),
    }
    markdown = metrics_markdown(metrics, title=f"Evaluation of {name}", intervals=intervals)
    if comparison:
        markdown += comparison_markdown(comparison)
    if output is None:
        typer.echo(markdown)
        return
    from topictag.evaluate.report_html import render_report

    log.info("rendering report.html")
    page = render_report(loaded, name, predictions, metrics, intervals, comparison=comparison)
    for file, text in (
        ("metrics.json", json.dumps(document, indent=2) + "\n"),
        ("report.md", markdown),
        ("report.html", page),
    ):
        with atomic_write(output / file) as handle:
            handle.write(text)
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
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show how each n-gram adds to a label's score, and the calibrated probability."""
    from topictag.evaluate.explanations import explanation_html, format_explanation
    from topictag.model.explain import explain as explain_text
    from topictag.model.inference import load_model

    loaded = load_model(model)
    unknown = [x for x in label or [] if x not in loaded.labels]
    if unknown:
        raise typer.BadParameter(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(loaded.labels)})",
            param_hint="--label",
        )
    explanations = explain_text(loaded, text, labels=label or None)
    if as_json:
        typer.echo(json.dumps([e.to_json() for e in explanations], indent=2))
    else:
        typer.echo(format_explanation(explanations), nl=False)
    if html_file is not None:
        from topictag.data.files import atomic_write

        with atomic_write(html_file) as handle:
            handle.write(explanation_html(text, explanations, loaded))
        log.info("wrote %s", html_file)
