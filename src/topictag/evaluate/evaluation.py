"""Evaluating a model on labeled data: what ``topictag evaluate`` computes, prints and writes.

:func:`evaluate_model` returns an :class:`Evaluation`; its ``markdown`` is what the command
prints and its ``write(folder)`` writes what ``--output folder`` writes (``metrics.json``,
``report.md``, ``report.html``), so a notebook gets exactly the command's files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from topictag.data.corpus import MAX_LINE_BYTES, Record, read_corpus_hashed
from topictag.data.files import write_synced
from topictag.data.folders import atomic_folder, check_output_folder, describe_existing
from topictag.errors import DataError, OutputError
from topictag.evaluate.metrics import SCHEMA_VERSION
from topictag.evaluate.predictions import (
    Predictions,
    compare_predictions,
    intervals_of,
    metrics_of,
    predict_records,
)
from topictag.evaluate.report import comparison_markdown, metrics_markdown
from topictag.model.inference import Model, load_model

log = logging.getLogger("topictag")

FILES = ("metrics.json", "report.md", "report.html")


@dataclass
class Evaluation:
    """A model's evaluation on labeled paragraphs.

    Attributes
    ----------
    name : str
        The model's name in titles and in ``metrics.json``.
    model : Model
    predictions : Predictions
        The model's outputs, row by row.
    metrics : dict
        The metrics (``metrics`` in ``schemas/metrics.schema.json``).
    intervals : dict
        95% bootstrap intervals of the headline metrics.
    document : dict
        The whole ``metrics.json`` document.
    comparison : dict or None
        The paired comparison with a second model, when one was given.
    """

    name: str
    model: Model
    predictions: Predictions
    metrics: dict[str, Any]
    intervals: dict[str, dict[str, float]]
    document: dict[str, Any]
    comparison: dict[str, Any] | None = None

    @property
    def markdown(self) -> str:
        """The Markdown report (``report.md``; what ``topictag evaluate`` prints)."""
        text = metrics_markdown(
            self.metrics, title=f"Evaluation of {self.name}", intervals=self.intervals
        )
        if self.comparison:
            text += comparison_markdown(self.comparison)
        return text

    def html(self) -> str:
        """Render the self-contained HTML report (``report.html``)."""
        from topictag.evaluate.report_html import render_report

        log.info("rendering report.html")
        return render_report(
            self.model,
            self.name,
            self.predictions,
            self.metrics,
            self.intervals,
            comparison=self.comparison,
        )

    def write(self, folder: str | Path) -> list[Path]:
        """Write ``metrics.json``, ``report.md`` and ``report.html`` into ``folder``, together.

        The three files are staged in a hidden sibling folder and swapped in at once, so they
        appear together or not at all. ``folder`` is created, or replaced if it holds only a
        previous report (see :func:`report_replacement`).

        Returns
        -------
        list of Path
            The files written, in that order.

        Raises
        ------
        OutputError
            If ``folder`` holds something else, or cannot be written.
        """
        folder = Path(folder)
        may_replace = report_replacement(folder)
        check_output_folder(folder, may_replace)
        texts = [json.dumps(self.document, indent=2) + "\n", self.markdown, self.html()]
        with atomic_folder(folder, may_replace) as staging:
            for file, text in zip(FILES, texts, strict=True):
                write_synced(staging / file, text.encode("utf-8"))
        return [folder / file for file in FILES]


def report_replacement(folder: str | Path) -> Callable[[Path], None]:
    """Return the check of what is at ``folder`` before a report replaces it.

    An empty folder, or one that holds only a previous report's files (its ``metrics.json``
    is a topictag metrics document), may be replaced; anything else is refused with one line.
    """
    shown = Path(folder)

    def check(existing: Path) -> None:
        if not _is_report(existing):
            raise OutputError(
                f"{shown}: {describe_existing(existing)} is there, not a topictag report; "
                "refusing to replace it (give a new folder, or a previous report's)"
            )

    return check


def _is_report(path: Path) -> bool:
    if path.is_symlink() or not path.is_dir():
        return False
    try:
        names = set(os.listdir(path))
        if not names:
            return True
        document = json.loads((path / FILES[0]).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return False
    return (
        names <= set(FILES)
        and isinstance(document, dict)
        and "schema_version" in document
        and isinstance(document.get("metrics"), dict)
    )


def evaluate_model(
    model: Model | str | Path,
    data: str | Path | Sequence[str | Path] | Sequence[Record],
    *,
    split: str = "test",
    compare: Model | str | Path | None = None,
    name: str | None = None,
    max_line_bytes: int = MAX_LINE_BYTES,
) -> Evaluation:
    """Score a model on labeled paragraphs, with bootstrap intervals and an optional comparison.

    Parameters
    ----------
    model : Model, or a bundle folder or name
    data : path, sequence of paths, or sequence of Record
        Labeled JSON Lines files, or records already read.
    split : str
        Evaluate the rows of this split (``"all"``: every row); ignored when no row has one.
    compare : Model, or a bundle folder or name, optional
        A second model scored on the same rows: paired bootstrap, and McNemar's test for
        single-label models.
    name : str, optional
        The model's name in the report [default: the folder name].
    max_line_bytes : int
        The longest corpus line accepted, in bytes.

    Returns
    -------
    Evaluation

    Raises
    ------
    ModelError
        If a model cannot be loaded.
    DataError
        If the data cannot be read, no row is in ``split``, a row has no ``labels``, or the
        two models have different labels.

    Examples
    --------
    >>> import topictag
    >>> result = topictag.evaluate_model("news-topics", "paragraphs.jsonl")  # doctest: +SKIP
    >>> result.metrics["micro"]["f1"]                                         # doctest: +SKIP
    0.708
    >>> result.write("report/")                                               # doctest: +SKIP
    """
    loaded = model if isinstance(model, Model) else load_model(model)
    other = compare if isinstance(compare, Model) or compare is None else load_model(compare)
    records, files, digest = _read(data, max_line_bytes)
    if split != "all" and any(r.split is not None for r in records):
        records = [r for r in records if r.split == split]
        if not records:
            where = ", ".join(map(str, files)) if files else "the given records"
            raise DataError(f"no rows with split {split!r} in {where}")
    name = name or _name(model)
    log.info("evaluating %s on %d paragraphs", name, len(records))
    predictions = predict_records(loaded, records)
    metrics = metrics_of(loaded, predictions)
    intervals = intervals_of(predictions)
    comparison = None
    if other is not None:
        comparison = compare_predictions(
            predictions,
            predict_records(other, records),
            names=(name, _name(compare)),
            mode=loaded.mode,
        )
    document = {
        "schema_version": SCHEMA_VERSION,
        "model": {"name": name, "sha256": _weights_sha256(loaded)},
        "data": {"files": [Path(p).name for p in files], "sha256": digest, "split": split},
        "metrics": metrics,
        "intervals": intervals,
        **({"comparison": comparison} if comparison else {}),
    }
    return Evaluation(name, loaded, predictions, metrics, intervals, document, comparison)


def _read(
    data: str | Path | Sequence[str | Path] | Sequence[Record], max_line_bytes: int
) -> tuple[list[Record], list[str | Path], str]:
    """Return (records, files, SHA-256 of the data) for paths or records."""
    items: list[Any] = [data] if isinstance(data, str | Path) else list(data)
    if items and all(isinstance(item, Record) for item in items):
        digest = hashlib.sha256()
        for record in items:  # the bytes write_corpus would write
            digest.update((json.dumps(record.to_json(), ensure_ascii=False) + "\n").encode())
        return items, [], digest.hexdigest()
    records, _, sha256 = read_corpus_hashed(items, max_line_bytes=max_line_bytes)
    return records, items, sha256


def _name(model: Model | str | Path | None) -> str:
    if isinstance(model, Model):
        return model.path.name if model.path is not None else "model"
    return Path(str(model)).name


def _weights_sha256(model: Model) -> str:
    weights = model.manifest.get("weights", {}).get("sha256")
    if weights:
        return str(weights)
    from topictag.model.writing import npz_bytes  # a model not saved yet: the bytes it would get

    return hashlib.sha256(npz_bytes(model.data.arrays())).hexdigest()
