"""Training engines: where the expensive parts of :func:`topictag.train.train_model` run.

An engine reads the corpus, fits a recipe's pipeline on a set of rows, and runs a ``--tune``
search. :class:`LocalEngine` does it in this process (with ``n_jobs`` forked workers for the
label fits); :class:`topictag.train.dask_engine.DaskEngine` does it as Dask tasks and gives the
same bundle (labels and vocabulary identical, arrays within 1e-6). Streaming training, for data
larger than memory, is :mod:`topictag.train.streaming`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from topictag.data.corpus import Record, group_keys, read_corpus
from topictag.evaluate.metrics import indicator_matrix
from topictag.train.recipe import TrainConfig

ENGINES = ("local", "dask")


class Engine(Protocol):
    """What :func:`topictag.train.train_model` asks of an engine."""

    def read(self, paths: Sequence[str | Path]) -> list[Record]:
        """Read and validate every row of the corpus files, in file order."""
        ...

    def fit(
        self,
        train: Sequence[Record],
        labels: Sequence[str],
        config: TrainConfig,
        *,
        mode: str,
        at_least_one: bool,
    ) -> Any:
        """Return the fitted scikit-learn pipeline (features, classifier) of a recipe."""
        ...

    def tune(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        groups: Sequence[str],
        base: TrainConfig,
        **options: Any,
    ) -> tuple[TrainConfig, list[Any]]:
        """Run :func:`topictag.train.tuning.tune`; return the best recipe and the trials."""
        ...

    def describe(self) -> dict[str, Any] | None:
        """The manifest's ``engine`` object (None for the local engine, which is the default)."""
        ...


class LocalEngine:
    """This process, with ``n_jobs`` forked workers for the (fold x label) fits."""

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = n_jobs

    def read(self, paths: Sequence[str | Path]) -> list[Record]:
        """Read the corpus files (:func:`topictag.data.corpus.read_corpus`)."""
        return read_corpus(paths)

    def fit(
        self,
        train: Sequence[Record],
        labels: Sequence[str],
        config: TrainConfig,
        *,
        mode: str,
        at_least_one: bool,
    ) -> Any:
        """Fit the recipe's pipeline on the rows (grouped by article for the folds)."""
        from topictag.train.bridge import build_pipeline

        pipeline = build_pipeline(config, mode=mode, at_least_one=at_least_one, n_jobs=self.n_jobs)
        Y = indicator_matrix([r.labels or () for r in train], labels)
        pipeline.fit([r.text for r in train], Y, classifier__groups=group_keys(train))
        return pipeline

    def tune(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        groups: Sequence[str],
        base: TrainConfig,
        **options: Any,
    ) -> tuple[TrainConfig, list[Any]]:
        """Search in this process (see :func:`topictag.train.tuning.tune`)."""
        from topictag.train.tuning import tune

        return tune(texts, Y, groups, base, n_jobs=self.n_jobs, **options)

    def describe(self) -> dict[str, Any] | None:
        """None: the local engine is the default, and leaves no mark in the manifest."""
        return None


@contextmanager
def open_engine(
    name: str = "local", *, jobs: int = 1, scheduler: str | None = None
) -> Iterator[Engine]:
    """Yield an engine by name; a Dask engine's local cluster is closed on exit.

    Parameters
    ----------
    name : {"local", "dask"}
    jobs : int
        Worker processes: forked fit workers (local), or the local cluster's workers (dask,
        without ``scheduler``).
    scheduler : str, optional
        With ``"dask"``: the address of an existing scheduler.
    """
    if name == "local":
        yield LocalEngine(jobs)
        return
    if name != "dask":
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")
    from topictag.serve.dask import open_client
    from topictag.train.dask_engine import DaskEngine

    with open_client(scheduler=scheduler, jobs=jobs) as client:
        yield DaskEngine(client)
