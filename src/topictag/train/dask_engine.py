"""The Dask training engine: reading, featurizing, the label fits and tuning trials as tasks.

Each stage gives what the local engine gives, so the bundle is the same (labels and vocabulary
identical, arrays within 1e-6):

1. **reading**: each corpus file is cut into blocks at line boundaries; a task parses and
   validates a block (the same checks and ``file:line`` errors as
   :func:`topictag.data.corpus.read_corpus`). The parsed blocks stay on the workers; the client
   gathers the rows too (labels, groups, the test split).
2. **document frequencies**: a task counts each term's documents and occurrences in its block's
   training rows, with scikit-learn's own analyzer; the client adds the counts (integers, so the
   order does not matter) and applies ``min_df``, ``max_df`` and ``max_features`` exactly as
   ``TfidfVectorizer`` does (alphabetical vocabulary, the same tie-break), then the smoothed idf.
3. **featurizing**: a task turns its block's rows into tf-idf rows with the fitted vectorizer;
   the client stacks them in row order.
4. **fits**: the (fold x label-chunk) fits of :class:`~topictag.train.estimator.TopicClassifier`
   are tasks on the matrix, sent once to every worker; each fit seeds its solver itself, so
   the result does not depend on the worker that ran it.
5. **tuning**: each scoring of a trial is a task. With ``--trials`` the recipes the search
   tries before any score counts (the recipe given and the warm starts) run at once.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.pipeline import FeatureUnion, Pipeline

from topictag.data.corpus import Record, group_keys, parse_json_object, parse_record
from topictag.errors import DataError
from topictag.evaluate.metrics import indicator_matrix
from topictag.train.bridge import build_pipeline
from topictag.train.estimator import TopicClassifier
from topictag.train.features import build_vectorizer, fit_vocabulary, fitted_vectorizers
from topictag.train.recipe import TrainConfig
from topictag.train.stream_reading import plan_blocks

BLOCK_BYTES = 8 << 20  # a reading task's share of a corpus file


class DaskEngine:
    """Train as tasks on a Dask cluster (see the module docstring)."""

    def __init__(self, client: Any, *, block_bytes: int = BLOCK_BYTES):
        self.client = client
        self.block_bytes = block_bytes
        self._blocks: list[Any] = []  # futures of the parsed blocks, on the workers
        self._where: dict[int, tuple[int, int]] = {}  # id(text) -> (block, position)
        self._records: list[Record] = []  # keeps the texts alive, so their ids stay unique

    def describe(self) -> dict[str, Any]:
        """The manifest's ``engine`` object."""
        return {"name": "dask", "workers": len(self.client.scheduler_info()["workers"])}

    def read(self, paths: Sequence[str | Path]) -> list[Record]:
        """Parse the corpus in blocks as tasks; return every row, in file order.

        Raises
        ------
        DataError
            The first bad row's error, as the local engine words it.
        """
        plan = [(str(p), *block) for p in paths for block in plan_blocks(p, self.block_bytes)]
        self._blocks = [self.client.submit(_parse_block, *block, pure=False) for block in plan]
        blocks = self.client.gather(self._blocks)
        for path in dict.fromkeys(str(p) for p in paths):
            if not any(rows for (name, *_), rows in zip(plan, blocks, strict=True) if name == path):
                raise DataError("file is empty (expected one JSON object per line)", source=path)
        records = [r for rows in blocks for r in rows]
        self._where = {
            id(r.text): (b, i) for b, rows in enumerate(blocks) for i, r in enumerate(rows)
        }
        self._records = records
        return records

    def fit(
        self,
        train: Sequence[Record],
        labels: Sequence[str],
        config: TrainConfig,
        *,
        mode: str,
        at_least_one: bool,
    ) -> Any:
        """Fit the recipe's pipeline on rows that :meth:`read` returned (or copies of them)."""
        segments = self._segments(train)
        vectorizers = fitted_vectorizers(build_vectorizer(config.features))
        counts = [
            self.client.submit(_count_terms, self._blocks[b], rows, v)
            for v in vectorizers
            for b, rows in segments
        ]
        merged = self.client.gather(counts)
        fitted = []
        for k, vectorizer in enumerate(vectorizers):
            part = merged[k * len(segments) : (k + 1) * len(segments)]
            fitted.append(fit_vocabulary(vectorizer, part, len(train)))
        features = (
            fitted[0] if len(fitted) == 1 else FeatureUnion([(v.analyzer, v) for v in fitted])
        )
        shared = self.client.scatter(features, broadcast=True, hash=False)
        parts = [
            self.client.submit(_transform, self._blocks[b], rows, shared) for b, rows in segments
        ]
        X = sparse.vstack(self.client.gather(parts), format="csr")
        template = build_pipeline(config, mode=mode, at_least_one=at_least_one)[-1]
        workers = len(self.client.scheduler_info()["workers"])
        classifier = DaskTopicClassifier(**{**template.get_params(), "n_jobs": max(workers, 1)})
        classifier.client = self.client
        Y = indicator_matrix([r.labels or () for r in train], labels)
        try:
            classifier.fit(X, Y, groups=group_keys(train))
        finally:
            classifier.client = None  # the fitted estimator stays picklable
        return Pipeline([("features", features), ("classifier", classifier)])

    def tune(
        self,
        texts: Sequence[str],
        Y: np.ndarray,
        groups: Sequence[str],
        base: TrainConfig,
        **options: Any,
    ) -> tuple[TrainConfig, list[Any]]:
        """Run the search with each scoring as a task; with a number of trials, the recipes
        tried before any score counts (:func:`planned_trials`) all start at once.

        A task featurizes its rows itself (the search's feature cache stays in this process);
        the scores are the ones the local search computes.
        """
        from topictag.train.scoring import score_config
        from topictag.train.space import SEARCH_SPACE
        from topictag.train.tuning import first_rung, tune

        client = self.client
        data = client.scatter([list(texts), Y, list(groups)], broadcast=True, hash=False)
        rung = first_rung(np.asarray(groups), base.seed)  # what a trial is scored on first
        started: dict[str, Any] = {}

        def submit(config: TrainConfig, **kwargs: Any) -> Any:
            kwargs = {k: v for k, v in kwargs.items() if k != "cache"} | {"n_jobs": 1}
            return client.submit(score_config, config, *data, pure=False, **kwargs)

        if options.get("trials") is not None and options.get("budget") is None:
            space = options.get("space") or SEARCH_SPACE
            for config in planned_trials(base, space, options["trials"], mode=options["mode"]):
                started[repr(config.to_dict())] = submit(
                    config, mode=options["mode"], at_least_one=options["at_least_one"], rows=rung
                )

        def score(config: TrainConfig, *_: Any, **kwargs: Any) -> Any:
            rows = kwargs.get("rows")
            first = (
                rows is None if rung is None else rows is not None and np.array_equal(rows, rung)
            )
            future = started.pop(repr(config.to_dict()), None) if first else None
            if future is None or kwargs.get("max_seconds") is not None:
                future = submit(config, **kwargs)
            return future.result()

        try:
            return tune(texts, Y, groups, base, score=score, **options)
        finally:
            client.cancel(list(started.values()))

    def _segments(self, train: Sequence[Record]) -> list[tuple[int, list[int]]]:
        """Group the rows into runs from one block: (block, positions), in row order."""
        segments: list[tuple[int, list[int]]] = []
        for record in train:
            where = self._where.get(id(record.text))
            if where is None:
                raise ValueError("the Dask engine fits only rows that its read() returned")
            block, position = where
            if segments and segments[-1][0] == block:
                segments[-1][1].append(position)
            else:
                segments.append((block, [position]))
        return segments


class DaskTopicClassifier(TopicClassifier):
    """A :class:`TopicClassifier` whose (fold x label-chunk) fits are Dask tasks."""

    client: Any = None

    def _run_fits(
        self,
        X: Any,
        Y: np.ndarray,
        row_sets: list[np.ndarray],
        tasks: list[tuple[int, np.ndarray]],
        seed: int,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        if self.client is None:
            return super()._run_fits(X, Y, row_sets, tasks, seed)
        params = {**self.get_params(), "n_jobs": 1}  # the workers fit in their own process
        shared = self.client.scatter([X, Y], broadcast=True, hash=False)
        rows = self.client.scatter(row_sets, broadcast=True, hash=False)
        futures = [
            self.client.submit(_fit_chunk, params, *shared, rows[k], chunk, seed, pure=False)
            for k, chunk in tasks
        ]
        return list(self.client.gather(futures))


def planned_trials(
    base: TrainConfig, space: dict[str, dict[str, list[Any]]], trials: int, *, mode: str
) -> list[TrainConfig]:
    """The recipes :func:`~topictag.train.tuning.tune` tries first with ``trials``, whatever
    the scores: the recipe given and the warm starts (:func:`topictag.train.space.opening`).

    What follows (the sweep, the random changes) moves around the best recipe so far, so it is
    scored when the search reaches it.
    """
    from topictag.train.space import opening

    return opening(base, space, mode=mode)[:trials]


def _parse_block(path: str, start: int, end: int, first_line: int) -> list[Record]:
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    rows = []
    for number, raw in enumerate(io.BytesIO(data), start=first_line):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})",
                source=path,
                line=number,
            ) from None
        if number == 1 and line.startswith("\ufeff"):
            line = line[1:]
        line = line.rstrip("\r\n")
        if line.strip():
            obj = parse_json_object(line, source=path, line=number)
            rows.append(parse_record(obj, source=path, line=number))
    return rows


def _count_terms(block: list[Record], rows: list[int], vectorizer: Any) -> tuple[Counter, Counter]:
    """Document frequency and total count of each term in the chosen rows."""
    analyze = vectorizer.build_analyzer()
    df: Counter[str] = Counter()
    tf: Counter[str] = Counter()
    for i in rows:
        terms = analyze(block[i].text)
        tf.update(terms)
        df.update(set(terms))
    return df, tf


def _transform(block: list[Record], rows: list[int], features: Any) -> Any:
    return features.transform([block[i].text for i in rows]).tocsr()


def _fit_chunk(
    params: dict[str, Any],
    X: Any,
    Y: np.ndarray,
    rows: np.ndarray,
    chunk: np.ndarray,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    estimator = TopicClassifier(**params)
    return estimator._fit_chunk(X[rows], Y[np.ix_(rows, chunk)], seed)
