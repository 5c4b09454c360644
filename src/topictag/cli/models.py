"""The ``models`` commands: list, show, export and prune bundles."""

from __future__ import annotations

import json
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    AsJson,
    Format,
    OutputFormat,
    Quiet,
    log,
    models_dir,
    output_format,
    reports_errors,
)
from topictag.errors import TopictagError


class ModelFileFormat(StrEnum):
    """The file types ``models export`` writes."""

    joblib = "joblib"


@reports_errors
def models_list(
    format: Format = OutputFormat.text,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """List the model bundles in the models folder ($TOPICTAG_MODELS, default ./models)."""
    from topictag.model.catalog import list_bundles

    bundles = list_bundles(models_dir())
    if not bundles:
        raise TopictagError(f"{models_dir()}: no model bundles there")
    if output_format(format, as_json) == OutputFormat.json:
        entries = [asdict(b) | {"path": str(b.path)} for b in bundles]
        typer.echo(json.dumps(entries, indent=2))
        return
    rows = [("name", "mode", "labels", "test micro F1", "test macro F1")]
    for b in bundles:
        name = b.name + (" (packaged)" if b.packaged else "")
        if b.problem:
            rows.append((name, b.problem, "", "", ""))
            continue
        micro = "-" if b.test_micro_f1 is None else f"{b.test_micro_f1:.3f}"
        macro = "-" if b.test_macro_f1 is None else f"{b.test_macro_f1:.3f}"
        rows.append((name, b.mode or "?", str(b.labels), micro, macro))
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@reports_errors
def models_show(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    format: Format = OutputFormat.text,
    as_json: AsJson = False,
    quiet: Quiet = False,
) -> None:
    """Show a model's labels, thresholds, training data, metrics and versions (json: model.json)."""
    from topictag.model.summary import describe_model

    summary = describe_model(model)
    if output_format(format, as_json) == OutputFormat.json:
        typer.echo(json.dumps(summary.manifest, indent=2))
        return
    lines = [
        f"model: {summary.path}",
        f"mode: {summary.mode}" + ("  (at least one label)" if summary.at_least_one else ""),
        f"features: {summary.n_features}",
        f"training data: {', '.join(summary.training_files)} (sha256 {summary.training_sha256}), "
        f"{summary.train_rows} train / {summary.test_rows} test rows",
        "labels and thresholds:",
        *[f"  {label:<24} {t:.3f}" for label, t in summary.thresholds.items()],
    ]
    if summary.test:
        lines.append(
            f"test: micro F1 {summary.test['micro_f1']:.3f}, "
            f"macro F1 {summary.test['macro_f1']:.3f}, "
            f"subset accuracy {summary.test['subset_accuracy']:.3f}"
        )
    lines.append("versions: " + ", ".join(f"{k} {v}" for k, v in summary.versions.items()))
    typer.echo("\n".join(lines))


@reports_errors
def models_export(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[
        ModelFileFormat, typer.Option("--format", help="The file type to write.")
    ] = ModelFileFormat.joblib,
    quiet: Quiet = False,
) -> None:
    """Export the equivalent scikit-learn Pipeline (a pickle: load it only from trusted sources)."""
    import joblib

    from topictag.data.files import atomic_write, check_output_file
    from topictag.model.inference import load_model
    from topictag.train.bridge import to_sklearn

    check_output_file(output)
    pipeline = to_sklearn(load_model(model))
    with atomic_write(output, "wb") as handle:
        joblib.dump(pipeline, handle)
    log.info("wrote %s (a pickle: load it only if you trust its source)", output)


@reports_errors
def models_prune(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Bundle folder to write.")],
    max_features: Annotated[
        int | None, typer.Option(min=1, help="Keep the N features with the largest weights.")
    ] = None,
    min_weight: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Drop features whose largest |weight| (labels and no-topic head) is below.",
        ),
    ] = None,
    float16: Annotated[bool, typer.Option(help="Store weights as 16-bit floats.")] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing model.")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Write a smaller copy of a model: fewer features and/or 16-bit weights."""
    from topictag.model.bundle import load_bundle
    from topictag.model.catalog import resolve_model
    from topictag.model.pruning import prune_model
    from topictag.model.writing import check_bundle_target
    from topictag.train.saving import save_model

    check_bundle_target(output, force=force)
    data = load_bundle(resolve_model(model))
    pruned = prune_model(data, max_features=max_features, min_weight=min_weight, float16=float16)
    save_model(pruned, output, force=force)
    info = pruned.manifest["pruning"]
    log.info(
        "wrote %s: %d of %d features%s",
        output,
        info["features_after"],
        info["features_before"],
        ", float16 weights" if float16 else "",
    )


@reports_errors
def models_verify(
    model: Annotated[str, typer.Argument(help="Model folder or name to audit.")],
    quiet: Quiet = False,
) -> None:
    """Audit a bundle you were handed: schema, hashes, archive members, token patterns."""
    from topictag.model.audit import verify_bundle
    from topictag.model.catalog import resolve_model

    typer.echo(verify_bundle(resolve_model(model)).text(), nl=False)


@reports_errors
def models_upgrade(
    folder: Annotated[Path, typer.Argument(help="A bundle folder of format version 1.")],
    quiet: Quiet = False,
) -> None:
    """Convert a bundle written by topictag 0.1 (format version 1) to the current format."""
    from topictag.model.audit import upgrade_bundle

    upgrade_bundle(folder)
    log.info("upgraded %s to bundle format version 2", folder)
