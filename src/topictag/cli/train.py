"""The ``train`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA,
    DEFAULT_MODEL,
    MAX_LINE_BYTES,
    MaxLineBytes,
    Quiet,
    log,
    models_dir,
    reports_errors,
)
from topictag.cli.progress import progress_display
from topictag.errors import TopictagError


@reports_errors
def train(
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            "-d",
            help=f"Labeled JSON Lines file(s) [default: {DEFAULT_DATA}, in the repository].",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help=f"Training recipe (TOML) [default: {DEFAULT_CONFIG}, else the packaged one].",
        ),
    ] = None,
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
        int,
        typer.Option(
            "--jobs", "-j", min=1, help="Worker processes for fitting (or of the Dask cluster)."
        ),
    ] = 2,
    engine: Annotated[
        str,
        typer.Option(help="local, or dask: read, featurize, fit and tune as Dask tasks."),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="With --engine dask: an existing scheduler (tcp://HOST:PORT)."),
    ] = None,
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
    streaming: Annotated[
        bool,
        typer.Option(help="Train out of core in passes over the files (data larger than memory)."),
    ] = False,
    passes: Annotated[
        int, typer.Option(min=1, help="With --streaming: fit passes over the data.")
    ] = 5,
    save_recipe: Annotated[
        Path | None, typer.Option(help="Write the recipe that was trained (e.g. the winner) here.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", "-f", help="Replace an existing model.")
    ] = False,
    quiet: Quiet = False,
    max_line_bytes: MaxLineBytes = MAX_LINE_BYTES,
) -> None:
    """Train a model on the train split and evaluate it on the test split."""
    from topictag.data.corpus import read_label_file
    from topictag.evaluate.metrics import format_summary
    from topictag.train.engines import ENGINES, open_engine
    from topictag.train.recipe import default_recipe, load_config, load_search_space
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

    output = output or models_dir() / DEFAULT_MODEL
    if (budget is not None or trials is not None) and not tune:
        raise typer.BadParameter("--budget and --trials go with --tune")
    if budget is not None and trials is not None:
        raise typer.BadParameter("give --budget or --trials, not both")
    if engine not in ENGINES:
        raise typer.BadParameter(f"must be one of {', '.join(ENGINES)}", param_hint="--engine")
    if scheduler is not None and engine != "dask":
        raise typer.BadParameter("--scheduler goes with --engine dask")
    if streaming and (tune or cv):
        raise typer.BadParameter("--tune and --cv do not stream: tune or cross-validate in memory")
    from topictag.data.files import check_output_file
    from topictag.model.writing import check_bundle_target
    from topictag.train.bridge import check_recipe

    check_bundle_target(output, force=force)  # before fitting, not after
    if save_recipe is not None:
        check_output_file(save_recipe)
    if data is None and not DEFAULT_DATA.is_file():
        raise TopictagError(
            f"no --data given and the bundled corpus ({DEFAULT_DATA}) is not here (it ships "
            "with the repository, not the package): give --data FILE.jsonl"
        )
    if config is None:
        config = DEFAULT_CONFIG if DEFAULT_CONFIG.is_file() else default_recipe()
    recipe = load_config(config)
    if seed is not None:
        recipe = recipe.replace(seed=seed)
    space = load_search_space(config) if tune else None
    check_recipe(recipe, source=str(config), space=space)
    keep = read_label_file(labels) if labels else None
    with (
        progress_display() as progress,
        open_engine(engine, jobs=jobs, scheduler=scheduler) as runner,
    ):
        if streaming:
            from topictag.train.streaming import StreamingOptions
            from topictag.train.streaming_run import train_streaming

            result = train_streaming(
                data or [DEFAULT_DATA],
                recipe,
                labels=keep,
                options=StreamingOptions(passes=passes),
                client=getattr(runner, "client", None),
            )
        else:
            result = train_model(
                data or [DEFAULT_DATA],
                recipe,
                labels=keep,
                cv=cv,
                n_jobs=jobs,
                tune_budget=(budget or 150.0) if tune and trials is None else None,
                tune_trials=trials if tune else None,
                search_space=space,
                progress=progress,
                max_line_bytes=max_line_bytes,
                engine=runner,
            )
    save_model(result.data, output, force=force)
    log.info("saved %s", output)
    if save_recipe is not None:
        from topictag.data.files import atomic_write
        from topictag.train.recipe import dump_config

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
