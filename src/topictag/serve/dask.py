"""Classifying with Dask (dask.distributed): archives as tasks, and functions for your own graphs.

Needs the ``dask`` extra (``pip install 'topictag[dask]'``). Three entry points:

- :func:`classify_files`, the ``--engine dask`` of ``topictag classify``: one task per input
  file, the model sent once to every worker (a worker plugin), never with each task;
- :func:`classify_partition`, for ``map_partitions`` on a Dask DataFrame of texts;
- :func:`classify_rows`, for ``map_partitions`` on a ``dask.bag`` of JSON-like rows.

Workers import topictag, so they need it installed (the same version as the client).

Examples
--------
>>> import dask.dataframe as dd                                          # doctest: +SKIP
>>> from topictag.serve.dask import classify_partition, partition_meta  # doctest: +SKIP
>>> texts = dd.read_parquet("archive/*.parquet", columns=["id", "text"])  # doctest: +SKIP
>>> tagged = texts.map_partitions(
...     classify_partition, model="news-topics", meta=partition_meta()
... )                                                                      # doctest: +SKIP
>>> tagged.to_parquet("tagged/")                                         # doctest: +SKIP

>>> import dask.bag as db                                                # doctest: +SKIP
>>> from topictag.serve.dask import classify_rows                        # doctest: +SKIP
>>> rows = db.read_text("archive/*.jsonl.gz").map(json.loads)           # doctest: +SKIP
>>> rows.map_partitions(classify_rows, model="news-topics").map(json.dumps).to_textfiles(
...     "tagged/*.jsonl"
... )                                                                      # doctest: +SKIP
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from distributed import Client, KilledWorker, LocalCluster, WorkerPlugin, as_completed, get_worker

from topictag.data.inputs import Item
from topictag.errors import TopictagError
from topictag.model.bundle import ModelData
from topictag.model.inference import Model, load_model
from topictag.serve.filejobs import ArchiveOptions, FileJob, FileResult, classify_file
from topictag.serve.stream import Options, classify_batch

log = logging.getLogger("topictag")
CONNECT_TIMEOUT = "30s"  # connecting to a scheduler, or starting a local cluster


@contextmanager
def open_client(*, scheduler: str | None = None, jobs: int = 1) -> Iterator[Client]:
    """Yield a Dask client: of an existing scheduler, or of a local cluster started for it.

    The local cluster has ``jobs`` worker processes of one thread each and is closed on exit;
    its worker processes end with this one, even when it is killed (distributed's nannies
    watch their parent).

    Raises
    ------
    TopictagError
        If the scheduler cannot be reached in time.
    """
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise TopictagError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        with client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            # the scheduler's HTTP server (health, metrics; the dashboard when bokeh is
            # installed) on a free port, so that clusters side by side do not collide
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster, timeout=CONNECT_TIMEOUT) as client,
    ):
        yield client


def dashboard_of(client: Client) -> str | None:
    """Return the cluster's dashboard link, or None when it has no dashboard."""
    services = client.scheduler_info().get("services", {})
    if "dashboard" not in services or not _has_dashboard():
        return None  # without bokeh the HTTP server answers health checks, not pages
    return str(client.dashboard_link)


class ModelPlugin(WorkerPlugin):
    """Loads a model once in every worker (also in workers that join or restart later)."""

    def __init__(self, data: ModelData, name: str):
        self.data = data
        self.name = name
        self.model: Model | None = None

    def setup(self, worker: Any) -> None:
        """Build the model in the worker."""
        self.model = Model(self.data)

    def teardown(self, worker: Any) -> None:
        """Free the model."""
        self.model = None


@contextmanager
def model_on_workers(client: Client, model: Model) -> Iterator[str]:
    """Send a model to every worker once; yield the plugin name tasks find it under."""
    name = f"topictag-model-{uuid.uuid4().hex[:12]}"
    client.register_plugin(ModelPlugin(model.data, name), name=name)
    try:
        yield name
    finally:
        with suppress(ValueError, OSError, TimeoutError):  # the cluster may be going away
            client.unregister_worker_plugin(name)


def worker_model(name: str) -> Model:
    """Return the model a :class:`ModelPlugin` loaded in this worker."""
    plugin = get_worker().plugins[name]
    assert isinstance(plugin, ModelPlugin) and plugin.model is not None
    return plugin.model


def classify_files(
    model: Model,
    files: list[FileJob],
    options: ArchiveOptions,
    *,
    jobs: int = 1,
    scheduler: str | None = None,
    on_done: Callable[[FileResult], None],
    notify: Callable[[str, Any], None],
) -> None:
    """Classify files as Dask tasks, one per file; call ``on_done`` as each one completes.

    A task whose worker dies is run again on another worker (Dask retries it up to
    ``distributed.scheduler.allowed-failures`` times); past that, or on a bad row, no new file
    is started, the ones running finish, and the error is raised.

    Raises
    ------
    TopictagError
        When a worker died too often on a file, naming it; a file's own DataError otherwise.
    """
    with open_client(scheduler=scheduler, jobs=jobs) as client:
        link = dashboard_of(client)
        if link:
            notify("dashboard", link)
        if not files:
            return
        with model_on_workers(client, model) as name:
            _run_bounded(client, files, name, options, on_done)


def _run_bounded(
    client: Client,
    files: list[FileJob],
    name: str,
    options: ArchiveOptions,
    on_done: Callable[[FileResult], None],
) -> None:
    """Keep two files per worker in flight; after a failure, let those finish, then raise.

    So when this returns or raises, no task is still writing: the output folder holds whole
    files only.
    """
    todo = iter(files)
    running = as_completed()
    by_key: dict[Any, FileJob] = {}
    failure: BaseException | None = None

    def submit() -> None:
        job = next(todo, None)
        if job is not None:
            future = client.submit(_classify_job, job, name=name, options=options, pure=False)
            by_key[future.key] = job
            running.add(future)

    for _ in range(2 * max(len(client.scheduler_info()["workers"]), 1)):
        submit()
    for future in running:
        try:
            result = future.result()
        except KilledWorker:
            job = by_key[future.key]
            failure = failure or TopictagError(
                f"{job.source}: Dask workers died while classifying this file, more often "
                "than the scheduler allows (out of memory? see the worker logs); the files "
                "already written are whole: rerun with --resume"
            )
        except Exception as error:  # a file's own error (a bad row): the first one is raised
            failure = failure or error
        else:
            on_done(result)
        if failure is None:
            submit()
    if failure is not None:
        raise failure


def _classify_job(job: FileJob, *, name: str, options: ArchiveOptions) -> FileResult:
    return classify_file(worker_model(name), job, options)


def partition_meta() -> Any:
    """Return the empty pandas DataFrame that describes :func:`classify_partition`'s output.

    Pass it as ``meta=`` to ``map_partitions``. The columns are ``labels`` (a list per row)
    and ``scores`` (a ``{label: probability}`` dict per row).
    """
    import pandas as pd

    empty = {"labels": pd.Series([], dtype=object), "scores": pd.Series([], dtype=object)}
    return pd.DataFrame(empty)


def classify_partition(
    frame: Any,
    model: Model | str | Path,
    *,
    text_column: str = "text",
    thresholds: Mapping[str, float] | float | None = None,
    top_k: int | None = None,
    batch_size: int = 256,
) -> Any:
    """Classify one partition of a Dask DataFrame (a pandas DataFrame) of texts.

    Parameters
    ----------
    frame : pandas.DataFrame
        One partition; ``text_column`` holds the texts.
    model : Model, str or path
        A bundle folder or name (loaded once per worker process and kept), or a loaded model.
    text_column : str
    thresholds, top_k
        As for ``topictag classify``.

    Returns
    -------
    pandas.DataFrame
        The partition's index, with columns ``labels`` and ``scores`` (see :func:`partition_meta`);
        the same labels and scores as ``topictag classify`` gives for the same texts.
    """
    import pandas as pd

    loaded = _resolve(model)
    texts = ["" if text is None else str(text) for text in frame[text_column].tolist()]
    items = [Item(id=str(i), text=text) for i, text in enumerate(texts)]
    labels: list[Any] = []
    scores: list[Any] = []
    options = Options(thresholds, top_k)
    for start in range(0, len(items), batch_size):
        rows, _ = classify_batch(loaded, items[start : start + batch_size], options)
        labels += [row["labels"] for row in rows]
        scores += [row["scores"] for row in rows]
    return pd.DataFrame({"labels": labels, "scores": scores}, index=frame.index)


def classify_rows(
    rows: Iterable[Mapping[str, Any]],
    model: Model | str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    thresholds: Mapping[str, float] | float | None = None,
    top_k: int | None = None,
    batch_size: int = 256,
) -> list[dict[str, Any]]:
    """Classify one partition of a ``dask.bag`` of rows; return the output rows, in order.

    Each output row is what ``topictag classify --format jsonl`` writes for the input row (its
    id, its other fields, ``labels``, ``scores`` and ``known_terms``).

    Raises
    ------
    DataError
        If a row has no text in ``text_field``.
    """
    from topictag.data.inputs import item_from

    loaded = _resolve(model)
    items = [
        item_from(row, number, "bag", text_field, id_field)
        for number, row in enumerate(rows, start=1)
    ]
    options = Options(thresholds, top_k)
    out: list[dict[str, Any]] = []
    for start in range(0, len(items), batch_size):
        out += classify_batch(loaded, items[start : start + batch_size], options)[0]
    return out


def _resolve(model: Model | str | Path) -> Model:
    return model if isinstance(model, Model) else _cached_model(str(model))


@functools.lru_cache(maxsize=4)
def _cached_model(path_or_name: str) -> Model:
    """Each worker process loads a bundle once (kept for the process's life)."""
    return load_model(path_or_name)


def _has_dashboard() -> bool:
    try:
        import bokeh  # noqa: F401  (distributed's dashboard needs it)
    except ImportError:
        return False
    return True
