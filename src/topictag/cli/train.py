"""The ``train`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from topictag.cli.common import (
    DEFAULT_CONFIG,
    DEFAULT_DATA,
    DEFAULT_MODEL,
    log,
    models_dir,
    reports_errors,
)
from topictag.errors import TopictagError


@reports_errors
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
) -> None:
    """Train a model on the train split and evaluate it on the test split."""
    from topictag.data.corpus import read_label_file
    from topictag.evaluate.metrics import format_summary
    from topictag.train.engines import ENGINES, open_engine
    from topictag.train.recipe import load_config, load_search_space
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

    output = output or models_dir() / DEFAULT_MODEL
    if output.exists() and not force:
        raise TopictagError(f"{output}: a model already exists there (use --force to replace it)")
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
    recipe = load_config(config)
    if seed is not None:
        recipe = recipe.replace(seed=seed)
    keep = read_label_file(labels) if labels else None
    with open_engine(engine, jobs=jobs, scheduler=scheduler) as runner:
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
                search_space=load_search_space(config) if tune else None,
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
