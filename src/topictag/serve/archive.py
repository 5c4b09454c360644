"""Classifying an archive: a folder or glob of files in, one output file per input file out.

Each input ``REL/NAME.EXT`` (``REL`` relative to the glob's or folder's root) gives
``OUTPUT/REL/NAME.jsonl`` (or ``.jsonl.gz``, or ``.parquet``), written atomically: a crash leaves
whole files and hidden temporary files, never half a file. A rerun with ``resume`` skips the
files already written. The bookkeeping (model, options) is the hidden file
``OUTPUT/.topictag-classify.json``.

The files are classified one after another in this process (the local engine) or as Dask tasks
(:mod:`topictag.serve.dask`, the ``dask`` engine); both call
:func:`topictag.serve.filejobs.classify_file`, so their outputs are the same bytes.
"""

from __future__ import annotations

import glob
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topictag.data.files import atomic_write
from topictag.data.inputs import file_format
from topictag.errors import DataError, TopictagError
from topictag.model.inference import Model
from topictag.serve.filejobs import ArchiveOptions, FileJob, FileResult, classify_file
from topictag.serve.stream import ClassifyStats

BOOKKEEPING = ".topictag-classify.json"
ENGINES = ("local", "dask")
_GLOB_CHARS = frozenset("*?[")


@dataclass
class ArchiveSummary:
    """The outcome of :func:`classify_archive`."""

    files: int  # input files in the archive
    written: int  # output files written by this run
    resumed: int  # files skipped because a previous run had finished them
    stats: ClassifyStats
    results: list[FileResult]


def classify_archive(
    model: Model,
    inputs: str,
    output: str | Path,
    options: ArchiveOptions,
    *,
    engine: str = "local",
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    on_event: Callable[[str, Any], None] | None = None,
) -> ArchiveSummary:
    """Classify every file of an archive into an output folder.

    Parameters
    ----------
    model : Model
        The loaded model (the Dask engine sends it once to each worker).
    inputs : str
        A folder, a glob (``archive/**/*.jsonl.gz``) or one file; a path with a scheme
        (``s3://bucket/archive/*.parquet``) is expanded and opened with fsspec.
    output : path
        The output folder: empty or missing, unless ``resume``.
    options : ArchiveOptions
    engine : {"local", "dask"}
        Classify the files here one by one, or as Dask tasks.
    jobs : int
        With the Dask engine and no ``scheduler``: worker processes of the local cluster.
    scheduler : str, optional
        With the Dask engine: the address of an existing scheduler (``tcp://host:8786``).
    resume : bool
        Keep the files a previous run with the same model and options wrote, write the rest.
    on_event : callable, optional
        Called as ``on_event("dashboard", url)`` when a cluster has a dashboard and
        ``on_event("file", (result, finished, total))`` as each file completes.

    Raises
    ------
    TopictagError
        If the output folder is not empty (without ``resume``), was written with another model
        or options, no input file matches, two inputs would give the same output, a row is bad
        (without ``skip_invalid``), or a Dask worker died too often on a file.
    """
    if engine not in ENGINES:
        raise TopictagError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    notify = on_event or (lambda kind, value: None)
    output = Path(output)
    jobs_all = plan_archive(inputs, output, options)
    todo = prepare_output(output, jobs_all, model, options, resume=resume)
    results: list[FileResult] = []

    def done(result: FileResult) -> None:
        results.append(result)
        notify("file", (result, len(results), len(todo)))

    try:
        if engine == "local":
            for job in todo:
                done(classify_file(model, job, options))
        else:
            from topictag.serve.dask import classify_files

            classify_files(
                model, todo, options, jobs=jobs, scheduler=scheduler, on_done=done, notify=notify
            )
    finally:
        _sweep(output)  # nothing writes any more: remove what killed workers left
    stats = ClassifyStats()
    for result in results:
        stats.add(result.stats)
    return ArchiveSummary(
        files=len(jobs_all),
        written=len(results),
        resumed=len(jobs_all) - len(todo),
        stats=stats,
        results=sorted(results, key=lambda r: r.name),
    )


def plan_archive(inputs: str, output: Path, options: ArchiveOptions) -> list[FileJob]:
    """Expand the inputs and name each one's output file (its extension from ``options``).

    Raises
    ------
    DataError
        If nothing matches, the output folder lies inside the input folder, or two inputs
        would be written to the same output file.
    """
    root, sources = expand_inputs(inputs)
    if not sources:
        raise DataError("no input files match (expected a folder, a glob or a file)", source=inputs)
    if "://" not in root and Path(inputs).is_dir():  # a rerun would read the outputs
        resolved = output.resolve()
        if resolved == Path(root).resolve() or Path(root).resolve() in resolved.parents:
            raise DataError(
                f"the output folder {output} is inside the input folder; choose another",
                source=inputs,
            )
    jobs: list[FileJob] = []
    seen: dict[Path, str] = {}
    for source in sources:
        rel = source[len(root) :].lstrip("/") if root else source
        target = output / output_name(rel, options.output_format, options.compress)
        jobs.append(FileJob(source=source, target=str(target), name=rel))
        if target in seen:
            raise DataError(f"{seen[target]} and {rel} would both be written to {target}")
        seen[target] = rel
    return jobs


def expand_inputs(inputs: str) -> tuple[str, list[str]]:
    """Return (root, sorted input files) for a folder, a glob or one file.

    A folder gives its files of known formats (hidden ones left out), recursively.
    """
    if "://" in inputs:
        import fsspec  # remote archives: the dask extra brings fsspec

        fs, _, paths = fsspec.core.get_fs_token_paths(inputs)
        protocol = inputs.split("://", 1)[0]
        root = _glob_root(inputs)
        if not _has_glob(inputs) and fs.isdir(inputs):
            paths = [p for p in fs.find(inputs) if _wanted(p)]
        return root, sorted(p if "://" in p else f"{protocol}://{p}" for p in paths)
    path = Path(inputs)
    if path.is_dir():
        found = [p for p in path.rglob("*") if _readable(p) and _wanted(str(p.relative_to(path)))]
        return str(path), sorted(str(p) for p in found)
    if _has_glob(inputs):
        matches = [p for p in glob.glob(inputs, recursive=True) if _readable(Path(p))]
        return _glob_root(inputs), sorted(matches)
    return str(path.parent) if str(path.parent) != "." else "", [inputs] if _readable(path) else []


def output_name(rel: str, output_format: str, compress: str | None = None) -> str:
    """Return the output file of input ``REL/NAME.EXT``: ``REL/NAME.jsonl`` (or ``.parquet``)."""
    parent, _, base = rel.rpartition("/")
    stem = base[:-3] if base.lower().endswith(".gz") else base
    if "." in stem.lstrip("."):
        stem = stem[: stem.rfind(".")]
    suffix = ".parquet" if output_format == "parquet" else ".jsonl"
    suffix += ".gz" if compress == "gzip" else ""
    return f"{parent}/{stem}{suffix}" if parent else f"{stem}{suffix}"


def prepare_output(
    output: Path, jobs: list[FileJob], model: Model, options: ArchiveOptions, *, resume: bool
) -> list[FileJob]:
    """Check the output folder, write its bookkeeping, and return the jobs left to do.

    With ``resume`` the jobs whose output file exists are dropped and the temporary files of an
    interrupted run are removed.
    """
    settings = {
        "model_sha256": model.manifest.get("weights", {}).get("sha256"),
        "labels": model.labels,
        "options": options.to_json(),
    }
    book = output / BOOKKEEPING
    if output.exists() and not output.is_dir():
        raise TopictagError(f"{output}: not a folder (--output names a folder with --engine dask)")
    # a folder holding only the bookkeeping (a run that stopped before any file) counts as empty
    if output.is_dir() and any(entry.name != BOOKKEEPING for entry in output.iterdir()):
        if not resume:
            raise TopictagError(
                f"{output}: the output folder is not empty "
                "(use --resume to finish an interrupted run there, or choose an empty folder)"
            )
        try:
            previous = json.loads(book.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise TopictagError(
                f"{output}: not written by topictag classify (no readable {BOOKKEEPING}); "
                "choose an empty folder"
            ) from None
        if previous != json.loads(json.dumps(settings)):
            raise TopictagError(
                f"{output}: written with another model or other options; "
                "--resume needs the same ones (or choose an empty folder)"
            )
        _sweep(output)
        jobs = [job for job in jobs if not Path(job.target).exists()]
    else:
        with atomic_write(book) as handle:
            handle.write(json.dumps(settings, indent=2, sort_keys=True) + "\n")
    return jobs


def _sweep(output: Path) -> None:
    """Remove the temporary files of writers that were killed (a crash, a lost worker)."""
    for stale in output.rglob(".*.tmp"):
        stale.unlink(missing_ok=True)


def _readable(path: Path) -> bool:
    """A file to read: anything but a folder (a named pipe too)."""
    return path.exists() and not path.is_dir()


def _wanted(rel: str) -> bool:
    """A file a folder input includes: not hidden, of a format topictag reads."""
    parts = rel.replace("\\", "/").split("/")
    return not any(p.startswith(".") for p in parts) and file_format(rel) != "auto"


def _has_glob(path: str) -> bool:
    return any(c in _GLOB_CHARS for c in path)


def _glob_root(pattern: str) -> str:
    """The folder part of a glob before its first wildcard."""
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if _has_glob(part):
            break
        fixed.append(part)
    return "/".join(fixed)
