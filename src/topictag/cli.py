"""The ``topictag`` command line: thin wrappers that parse options and call the library.

This is the only module that imports typer and the only place that turns exceptions into exit
codes: 0 on success, 1 on a data or model error (one line on stderr), 2 on a usage error.
Results go to stdout or ``--output``; progress, warnings and errors go to stderr.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from topictag import __version__
from topictag.errors import DataError, TopictagError

DEFAULT_DATA = Path("datasets/news-paragraphs/paragraphs.jsonl")
DEFAULT_CONFIG = Path("training/default.toml")
DEFAULT_MODEL = "news-topics"

log = logging.getLogger("topictag")
app = typer.Typer(
    help="Train, evaluate and serve topic classifiers for news paragraphs.",
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
)
models_app = typer.Typer(
    help="List, inspect and export model bundles.", rich_markup_mode=None, no_args_is_help=True
)
data_app = typer.Typer(
    help="Validate, describe, split, import and export corpora.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(models_app, name="models")
app.add_typer(data_app, name="data")

F = TypeVar("F", bound=Callable[..., Any])


def _reports_errors(func: F) -> F:
    """Turn library errors into one line on stderr and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except TopictagError as error:
            typer.echo(f"topictag: error: {error}", err=True)
            raise typer.Exit(1) from None
        except BrokenPipeError:  # e.g. `topictag classify ... | head`
            _silence_stdout()
            raise typer.Exit(0) from None

    return wrapper  # type: ignore[return-value]


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _models_dir() -> Path:
    return Path(os.environ.get("TOPICTAG_MODELS", "models"))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"topictag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Hide progress messages.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Train, evaluate and serve topic classifiers for news paragraphs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("topictag: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


# --------------------------------------------------------------------------------------- train


@app.command()
@_reports_errors
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", "-d", help="Labeled JSON Lines file(s) [default: bundled corpus]."),
    ] = None,
    config: Annotated[
        Path, typer.Option("--config", "-c", help="Training recipe (TOML).")
    ] = DEFAULT_CONFIG,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Bundle folder to write [default: models/news-topics]."
        ),
    ] = None,
    labels: Annotated[
        Path | None,
        typer.Option(help="Restrict to these labels: one per line, or a TSV's first column."),
    ] = None,
    cv: Annotated[
        int | None,
        typer.Option(min=2, help="Also report grouped K-fold cross-validation on the train split."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Override the recipe's seed.")] = None,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Worker processes for fitting.")
    ] = 2,
    tune: Annotated[
        bool, typer.Option(help="Search for a better recipe on the train split first.")
    ] = False,
    budget: Annotated[
        float | None,
        typer.Option(
            min=1, help="With --tune: seconds for the whole run [default: 150]; not reproducible."
        ),
    ] = None,
    trials: Annotated[
        int | None,
        typer.Option(min=1, help="With --tune: number of trials, reproducible for a seed."),
    ] = None,
    save_recipe: Annotated[
        Path | None, typer.Option(help="Write the recipe that was trained (e.g. the winner) here.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing model.")
    ] = False,
) -> None:
    """Train a model on the train split and evaluate it on the test split."""
    from topictag.bundle import save_bundle
    from topictag.config import load_config, load_search_space
    from topictag.corpus import read_label_file
    from topictag.metrics import format_summary
    from topictag.training import train_model

    output = output or _models_dir() / DEFAULT_MODEL
    if output.exists() and not force:
        raise TopictagError(f"{output}: a model already exists there (use --force to replace it)")
    if (budget is not None or trials is not None) and not tune:
        raise typer.BadParameter("--budget and --trials go with --tune")
    if budget is not None and trials is not None:
        raise typer.BadParameter("give --budget or --trials, not both")
    recipe = load_config(config)
    if seed is not None:
        recipe = recipe.replace(seed=seed)
    keep = read_label_file(labels) if labels else None
    result = train_model(
        data or [DEFAULT_DATA],
        recipe,
        labels=keep,
        cv=cv,
        n_jobs=jobs,
        tune_budget=(budget or 150.0) if tune and trials is None else None,
        tune_trials=trials if tune else None,
        search_space=load_search_space(config) if tune else None,
    )
    save_bundle(result.data, output, force=force)
    log.info("saved %s", output)
    if save_recipe is not None:
        from topictag.config import dump_config
        from topictag.corpus import atomic_write

        with atomic_write(save_recipe) as handle:
            handle.write(dump_config(result.config))
        log.info("wrote the recipe to %s", save_recipe)
    if result.test_metrics:
        typer.echo("test split:")
        typer.echo(format_summary(result.test_metrics))
    if result.cv:
        typer.echo(
            f"cross-validation ({result.cv['folds']} folds): "
            f"micro F1 {result.cv['micro_f1']['mean']:.3f} ± {result.cv['micro_f1']['std']:.3f}, "
            f"macro F1 {result.cv['macro_f1']['mean']:.3f} ± {result.cv['macro_f1']['std']:.3f}"
        )
    typer.echo(f"model: {output}")


# ------------------------------------------------------------------------------------ evaluate


@app.command()
@_reports_errors
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
) -> None:
    """Score a model on labeled data: metrics.json, report.md and report.html."""
    from topictag.corpus import atomic_write, file_sha256, read_corpus
    from topictag.evaluation import compare_predictions, intervals_of, metrics_of, predict_records
    from topictag.inference import load_model
    from topictag.metrics import SCHEMA_VERSION
    from topictag.report import comparison_markdown, metrics_markdown

    loaded = load_model(model)
    other = load_model(compare) if compare else None
    records = read_corpus(data)
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
    from topictag.report_html import render_report

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


@app.command()
@_reports_errors
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
    from topictag.explain import explain as explain_text
    from topictag.explain import explanation_html, format_explanation
    from topictag.inference import load_model

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
        from topictag.corpus import atomic_write

        with atomic_write(html_file) as handle:
            handle.write(explanation_html(text, explanations, loaded))
        log.info("wrote %s", html_file)


# ------------------------------------------------------------------------------------ classify


def _parse_thresholds(values: list[str] | None) -> tuple[float | None, dict[str, float]]:
    """Split ``--threshold`` values into one for every label and per-label overrides."""
    overall: float | None = None
    per_label: dict[str, float] = {}
    for value in values or []:
        label, _, number = value.rpartition("=")
        try:
            x = float(number)
        except ValueError:
            raise typer.BadParameter(
                f"expected X or LABEL=X with X a number, got {value!r}", param_hint="--threshold"
            ) from None
        if not 0.0 <= x <= 1.0:
            raise typer.BadParameter(
                f"a threshold is a probability between 0 and 1, got {x:g}", param_hint="--threshold"
            )
        if label:
            per_label[label] = x
        else:
            overall = x
    return overall, per_label


@app.command()
@_reports_errors
def classify(
    text: Annotated[list[str] | None, typer.Argument(help="Paragraph(s) to classify.")] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    input: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Read paragraphs from a file, or - for stdin."),
    ] = None,
    input_format: Annotated[
        str, typer.Option(help="auto, text (one paragraph per line), jsonl or csv.")
    ] = "auto",
    text_field: Annotated[
        str, typer.Option(help="JSON field or CSV column with the text.")
    ] = "text",
    id_field: Annotated[str, typer.Option(help="JSON field or CSV column with the id.")] = "id",
    format: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table or jsonl [default: table on a terminal]."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write results to this file (atomically).")
    ] = None,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, help="Keep at most K labels per paragraph."),
    ] = None,
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            "--threshold", "-t", help="X for every label, or LABEL=X for one (repeatable)."
        ),
    ] = None,
    paragraphs: Annotated[
        bool, typer.Option("--paragraphs", "-p", help="Each input is an article: split it.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="Report bad input lines on stderr and go on.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Paragraphs per batch.")] = 256,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs", "-j", min=0, help="Worker processes [default 0: 2 for files and stdin]."
        ),
    ] = 0,
) -> None:
    """Tag paragraphs with topics: from arguments, a file, or stdin."""
    from topictag.classify import (
        FORMATS,
        ClassifyStats,
        Options,
        classify_stream,
        items_from_texts,
        read_items,
        render_jsonl,
    )
    from topictag.inference import load_model

    if input_format not in FORMATS:
        raise typer.BadParameter(
            f"must be one of {', '.join(FORMATS)}", param_hint="--input-format"
        )
    if format not in (None, "table", "jsonl"):
        raise typer.BadParameter("must be table or jsonl", param_hint="--format")
    if text and input:
        raise typer.BadParameter("give paragraphs as arguments or --input, not both")
    overall, per_label = _parse_thresholds(threshold)
    loaded = load_model(model)
    unknown = [label for label in per_label if label not in loaded.labels]
    if unknown:
        raise typer.BadParameter(
            f"unknown label {unknown[0]!r} (the model's labels: {', '.join(loaded.labels)})",
            param_hint="--threshold",
        )
    cuts: float | dict[str, float] | None = overall
    if per_label:
        cuts = (
            per_label
            if overall is None
            else {label: per_label.get(label, overall) for label in loaded.labels}
        )
    items: Iterable[Any] = (
        items_from_texts(text)
        if text
        else read_items(
            input or "-",
            input_format=input_format,
            text_field=text_field,
            id_field=id_field,
            whole=paragraphs,
        )
    )
    stats = ClassifyStats()
    table = format == "table" or (format is None and output is None and sys.stdout.isatty())
    chunks = classify_stream(
        loaded,
        items,
        render=_table if table else render_jsonl,
        stats=stats,
        options=Options(cuts, top_k, paragraphs),
        batch_size=batch_size,
        jobs=jobs if jobs else (1 if text else 2),
        skip_invalid=skip_invalid,
        on_skip=lambda error: log.warning("skipped %s", error),
    )
    if output is not None:
        from topictag.corpus import atomic_write

        with atomic_write(output) as handle:
            for chunk in chunks:
                handle.write(chunk)
    else:
        for chunk in chunks:
            sys.stdout.write(chunk)
            sys.stdout.flush()
    if stats.unknown:
        log.warning(
            "%d paragraph(s) had no n-gram the model knows (known_terms 0): no labels given",
            stats.unknown,
        )
    if stats.skipped or stats.inputs > 1:
        log.info(
            "classified %d paragraph(s)%s",
            stats.paragraphs,
            f", skipped {stats.skipped} invalid line(s)" if stats.skipped else "",
        )


@app.command()
@_reports_errors
def serve(
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model folder or name.")
    ] = DEFAULT_MODEL,
    top_k: Annotated[
        int | None,
        typer.Option("--top-k", "-k", min=1, help="Keep at most K labels per paragraph."),
    ] = None,
) -> None:
    """Answer requests on stdin, one JSON line out per line in, until EOF or Ctrl-C.

    A request is a JSON object with "text" (and optionally "id"), or a plain line of text.
    """
    import signal

    from topictag.classify import Options, answer_request
    from topictag.corpus import iter_lines
    from topictag.inference import load_model

    loaded = load_model(model)
    options = Options(top_k=top_k)
    log.info("serving %s: one request per line on stdin", model)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    count = 0
    try:
        for number, line in iter_lines("-"):
            if not line.strip():
                continue
            reply = answer_request(loaded, line, number, options)
            sys.stdout.write(json.dumps(reply, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            count += 1
    except KeyboardInterrupt:
        pass
    except DataError as error:  # bytes that are not UTF-8: answer, then stop reading
        sys.stdout.write(json.dumps({"id": None, "error": str(error)}) + "\n")
        raise
    log.info("served %d request(s)", count)


def _table(rows: list[dict[str, Any]]) -> str:
    cells = []
    for row in rows:
        ident = row["id"] + (f" ¶{row['paragraph']}" if "paragraph" in row else "")
        ident += " (article)" if row.get("article") else ""
        top = sorted(row["scores"].items(), key=lambda kv: -kv[1])[:3]
        cells.append(
            (
                ident,
                ", ".join(row["labels"]) or "-",
                "  ".join(f"{label} {p:.2f}" for label, p in top),
            )
        )
    widths = [max(len(c[k]) for c in cells) for k in range(2)]
    return "".join(f"{a.ljust(widths[0])}  {b.ljust(widths[1])}  {c}\n" for a, b, c in cells)


# -------------------------------------------------------------------------------------- models


@models_app.command("list")
@_reports_errors
def models_list() -> None:
    """List the model bundles in the models folder ($TOPICTAG_MODELS, default ./models)."""
    from topictag.bundle import MANIFEST

    folder = _models_dir()
    found = sorted(p.parent for p in folder.glob(f"*/{MANIFEST}")) if folder.is_dir() else []
    if not found:
        raise TopictagError(f"{folder}: no model bundles there")
    rows = [("name", "mode", "labels", "test micro F1", "test macro F1")]
    for path in found:
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
            test = (manifest.get("metrics") or {}).get("test") or {}
            rows.append(
                (
                    path.name,
                    manifest.get("mode", "?"),
                    str(len(manifest.get("labels", []))),
                    f"{test['micro']['f1']:.3f}" if test else "-",
                    f"{test['macro']['f1']:.3f}" if test else "-",
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            rows.append((path.name, "unreadable manifest", "", "", ""))
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@models_app.command("show")
@_reports_errors
def models_show(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole manifest.")] = False,
) -> None:
    """Show a model's labels, thresholds, training data, metrics and versions."""
    from topictag.inference import load_model

    loaded = load_model(model)
    manifest = loaded.manifest
    if as_json:
        typer.echo(json.dumps(manifest, indent=2))
        return
    training = manifest["training_data"]
    test = (manifest.get("metrics") or {}).get("test")
    lines = [
        f"model: {loaded.path}",
        f"mode: {manifest['mode']}"
        + ("  (at least one label)" if manifest["at_least_one"] else ""),
        f"features: {manifest['weights']['n_features']}",
        f"training data: {', '.join(f['name'] for f in training['files'])} "
        f"(sha256 {training['sha256']}), {training['train_rows']} train / "
        f"{training['test_rows']} test rows",
        "labels and thresholds:",
        *[f"  {label:<24} {t:.3f}" for label, t in manifest["thresholds"].items()],
    ]
    if test:
        lines.append(
            f"test: micro F1 {test['micro']['f1']:.3f}, macro F1 {test['macro']['f1']:.3f}, "
            f"subset accuracy {test['subset_accuracy']:.3f}"
        )
    lines.append(
        "versions: "
        + ", ".join(f"{k} {v}" for k, v in manifest["versions"].items())
        + f", topictag {manifest['topictag_version']}"
    )
    typer.echo("\n".join(lines))


@models_app.command("export")
@_reports_errors
def models_export(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="Export format: joblib.")] = "joblib",
) -> None:
    """Export the equivalent scikit-learn Pipeline (a pickle: load it only from trusted sources)."""
    import joblib

    from topictag.corpus import atomic_write
    from topictag.inference import load_model

    if format != "joblib":
        raise typer.BadParameter("the only export format is joblib", param_hint="--format")
    pipeline = load_model(model).to_sklearn()
    with atomic_write(output, "wb") as handle:
        joblib.dump(pipeline, handle)
    log.info("wrote %s (a pickle: load it only if you trust its source)", output)


@models_app.command("prune")
@_reports_errors
def models_prune(
    model: Annotated[str, typer.Argument(help="Model folder or name.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Bundle folder to write.")],
    max_features: Annotated[
        int | None, typer.Option(min=1, help="Keep the N features with the largest weights.")
    ] = None,
    min_weight: Annotated[
        float | None, typer.Option(min=0.0, help="Drop features whose largest |weight| is below.")
    ] = None,
    float16: Annotated[bool, typer.Option(help="Store weights as 16-bit floats.")] = False,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing model.")
    ] = False,
) -> None:
    """Write a smaller copy of a model: fewer features and/or 16-bit weights."""
    from topictag.bundle import load_bundle, resolve_model, save_bundle
    from topictag.pruning import prune_model

    data = load_bundle(resolve_model(model))
    pruned = prune_model(data, max_features=max_features, min_weight=min_weight, float16=float16)
    save_bundle(pruned, output, force=force)
    info = pruned.manifest["pruning"]
    log.info(
        "wrote %s: %d of %d features%s",
        output,
        info["features_after"],
        info["features_before"],
        ", float16 weights" if float16 else "",
    )


# ---------------------------------------------------------------------------------------- data


@data_app.command("validate")
@_reports_errors
def data_validate(
    path: Annotated[list[Path], typer.Argument(help="JSON Lines corpus file(s).")],
    strict: Annotated[bool, typer.Option(help="Warnings fail too (exit 1).")] = False,
    min_examples: Annotated[
        int, typer.Option(min=1, help="Warn about labels with fewer examples.")
    ] = 5,
    format: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
) -> None:
    """Check a corpus for schema errors, split leaks, duplicates and label problems."""
    from topictag.dataset import format_report, validate_corpus

    if format not in ("text", "json"):
        raise typer.BadParameter("must be text or json", param_hint="--format")
    report = validate_corpus(path, min_examples=min_examples)
    typer.echo(
        json.dumps(report.to_json(), indent=2) if format == "json" else format_report(report)
    )
    if report.errors or (strict and report.warnings):
        raise typer.Exit(1)


@data_app.command("stats")
@_reports_errors
def data_stats(
    path: Annotated[list[Path], typer.Argument(help="JSON Lines corpus file(s).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Describe a corpus: labels by split, co-occurrence, lengths, articles."""
    from topictag.corpus import read_corpus
    from topictag.dataset import corpus_stats, format_stats

    stats = corpus_stats(read_corpus(path))
    typer.echo(json.dumps(stats, indent=2) if as_json else format_stats(stats))


@data_app.command("split")
@_reports_errors
def data_split(
    path: Annotated[Path, typer.Argument(help="JSON Lines corpus file.")],
    test_size: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of paragraphs for the test split.")
    ] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed for tie-breaking.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here [default: stdout].")
    ] = None,
) -> None:
    """Assign train/test splits: grouped by article, stratified over labels, deterministic."""
    from topictag.corpus import read_corpus, write_corpus
    from topictag.dataset import split_corpus

    records = split_corpus(read_corpus(path), test_size=test_size, seed=seed)
    if output is None:
        for record in records:
            typer.echo(json.dumps(record.to_json(), ensure_ascii=False))
    else:
        write_corpus(records, output)
        test = sum(r.split == "test" for r in records)
        log.info("wrote %s: %d train, %d test", output, len(records) - test, test)


@data_app.command("import")
@_reports_errors
def data_import(
    format: Annotated[
        str, typer.Argument(help="fasttext, csv, tsv, reuters21578, 20newsgroups or articles.")
    ],
    source: Annotated[Path, typer.Argument(help="The file or folder to read.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON Lines file to write.")],
    text_column: Annotated[str, typer.Option(help="CSV/TSV: the text column.")] = "text",
    labels_column: Annotated[str, typer.Option(help="CSV/TSV: the labels column.")] = "labels",
    id_column: Annotated[str, typer.Option(help="CSV/TSV: the id column.")] = "id",
    label_separator: Annotated[
        str, typer.Option(help="CSV/TSV: separator between labels in one cell.")
    ] = ";",
    encoding: Annotated[str, typer.Option(help="CSV/TSV: file encoding, e.g. cp1252.")] = "utf-8",
    label_prefix: Annotated[str, typer.Option(help="fastText: the label prefix.")] = "__label__",
) -> None:
    """Convert a corpus from another format to topictag's JSON Lines."""
    from topictag.corpus import write_corpus
    from topictag.importers import FORMATS, importer

    if format not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="FORMAT")
    if format == "fasttext":
        options: dict[str, object] = {"prefix": label_prefix}
    elif format in ("csv", "tsv"):
        options = {
            "text_column": text_column,
            "labels_column": labels_column,
            "id_column": id_column,
            "label_separator": label_separator,
            "encoding": encoding,
        }
    else:
        options = {}
    records = importer(format, **options)(source)
    count = write_corpus(records, output)
    labeled = sum(r.labels is not None for r in records)
    log.info("wrote %s: %d rows (%d labeled)", output, count, labeled)


@data_app.command("export")
@_reports_errors
def data_export(
    format: Annotated[str, typer.Argument(help="Export format: fasttext.")],
    path: Annotated[Path, typer.Argument(help="JSON Lines corpus file.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write.")],
    split: Annotated[
        str | None, typer.Option(help="Only rows of this split (train or test).")
    ] = None,
    label_prefix: Annotated[str, typer.Option(help="The label prefix.")] = "__label__",
) -> None:
    """Convert a topictag corpus to fastText's supervised format."""
    from topictag.corpus import read_corpus
    from topictag.importers import write_fasttext

    if format != "fasttext":
        raise typer.BadParameter("the only export format is fasttext", param_hint="FORMAT")
    records = [r for r in read_corpus(path) if split is None or r.split == split]
    count = write_fasttext(records, output, prefix=label_prefix)
    log.info("wrote %s: %d rows", output, count)


def main() -> None:
    """Run the command line (the ``topictag`` console script)."""
    app()
