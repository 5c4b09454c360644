"""The ``topictag`` Typer application: the command groups registered on one app."""

from __future__ import annotations

from typing import Annotated

import typer

from topictag._version import __version__
from topictag.cli import classify, data, evaluate, label, models, serve, train
from topictag.cli.common import Command
from topictag.cli.logs import setup_logging

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
    setup_logging(quiet=quiet)


app.command(cls=Command)(train.train)
app.command(cls=Command)(evaluate.evaluate)
app.command(cls=Command)(evaluate.explain)
app.command(cls=Command)(classify.classify)
app.command(cls=Command)(serve.serve)
app.command(cls=Command)(label.suggest)
app.command(cls=Command)(label.drift)
app.command(cls=Command)(label.label)
models_app.command("list", cls=Command)(models.models_list)
models_app.command("show", cls=Command)(models.models_show)
models_app.command("export", cls=Command)(models.models_export)
models_app.command("prune", cls=Command)(models.models_prune)
models_app.command("verify", cls=Command)(models.models_verify)
models_app.command("upgrade", cls=Command)(models.models_upgrade)
data_app.command("validate", cls=Command)(data.data_validate)
data_app.command("stats", cls=Command)(data.data_stats)
data_app.command("split", cls=Command)(data.data_split)
data_app.command("import", cls=Command)(data.data_import)
data_app.command("export", cls=Command)(data.data_export)
