"""Classifying with a saved bundle, with numpy only.

This module is the serving path: it never imports scikit-learn, scipy or joblib. It reproduces
the trained scikit-learn pipeline (tokenization, n-grams, sublinear tf, idf, L2 normalization per
view, linear scores, sigmoid calibration, thresholds) from the arrays in the bundle.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from topictag.model.bundle import ModelData, load_bundle
from topictag.model.catalog import resolve_model
from topictag.model.decision import (
    SINGLE_LABEL,
    abstaining,
    calibrated_probabilities,
    decide_labels,
    sigmoid,
)
from topictag.model.features import DEFAULT_TOKEN_PATTERNS, View, build_analyzer, term_index
from topictag.model.lookup import WordTable

_TABLE_FROM = 2000  # vocabularies this large get a WordTable: smaller ones build their dict fast


@dataclass(frozen=True)
class Scores:
    """Per-paragraph results of a batch: raw scores, probabilities and n-gram counts."""

    raw: np.ndarray  # (n, n_labels) linear scores before calibration
    proba: np.ndarray  # (n, n_labels) calibrated probabilities
    known_terms: np.ndarray  # (n,) how many of the paragraph's n-grams the model knows
    terms: np.ndarray  # (n,) how many n-grams the paragraph has, known or not
    no_topic: np.ndarray | None = None  # (n,) the no-topic head's probability, if the model has one
    abstain: np.ndarray | None = None  # (n,) True where that probability reaches its threshold

    def rows(self, span: slice) -> Scores:
        """Return the scores of a slice of the batch's paragraphs."""
        return Scores(
            raw=self.raw[span],
            proba=self.proba[span],
            known_terms=self.known_terms[span],
            terms=self.terms[span],
            no_topic=None if self.no_topic is None else self.no_topic[span],
            abstain=None if self.abstain is None else self.abstain[span],
        )

    @property
    def voting(self) -> np.ndarray:
        """Paragraphs that may decide an article's labels: known n-grams, not abstained on."""
        known = self.known_terms > 0
        return known if self.abstain is None else known & ~self.abstain


class Model:
    """A loaded topic model.

    Use :func:`load_model` to get one. ``predict`` and ``predict_proba`` take a list of texts.
    """

    def __init__(self, data: ModelData, path: Path | None = None):
        self.data = data
        self.path = path
        self.labels: list[str] = list(data.labels)
        self.mode = data.mode
        self.thresholds = np.asarray(data.thresholds, dtype=np.float64)
        self._views = []
        offset = 0
        for view, vocab, idf in zip(data.views, data.vocabularies, data.idfs, strict=True):
            self._views.append(_ViewRuntime(view, vocab, idf, offset))
            offset += len(vocab)
        coef, intercept = np.asarray(data.coef, dtype=np.float64), data.intercept
        if data.abstain is not None:  # the no-topic head is scored as one more column
            coef = np.column_stack([coef, np.asarray(data.abstain.coef, dtype=np.float64)])
            intercept = np.append(intercept, data.abstain.intercept)
        self._coef = np.ascontiguousarray(coef)
        self._intercept = np.asarray(intercept, dtype=np.float64)

    @property
    def manifest(self) -> dict[str, Any]:
        """The bundle's ``model.json``."""
        return self.data.manifest

    def score(self, texts: Sequence[str]) -> Scores:
        """Return raw scores, calibrated probabilities and known-term counts for texts.

        Raises
        ------
        TypeError
            If ``texts`` is one string rather than a sequence of them.
        """
        _check_texts(texts)
        rows, cols, vals, known, total = self._features(texts)
        raw = self._linear_scores(rows, cols, vals, len(texts))
        no_topic = abstain = None
        head = self.data.abstain
        if head is not None:
            no_topic = sigmoid(raw[:, -1], head.calibration[0], head.calibration[1])
            abstain = abstaining(no_topic, head.threshold)
            raw = raw[:, :-1]
        proba = calibrated_probabilities(
            raw, self.data.calibration, single_label=self.mode == SINGLE_LABEL
        )
        return Scores(
            raw=raw,
            proba=proba,
            known_terms=known,
            terms=total,
            no_topic=no_topic,
            abstain=abstain,
        )

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Return per-label probabilities, shape (n_texts, n_labels), columns as ``labels``.

        Raises
        ------
        TypeError
            If ``texts`` is one string: pass ``[text]``.
        """
        return self.score(texts).proba

    def predict(
        self,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        threshold: Mapping[str, float] | float | None = None,
    ) -> list[list[str]]:
        """Return the predicted labels of each text, most probable first.

        Parameters
        ----------
        texts : sequence of str
            The paragraphs; one string is refused (it would be classified letter by letter).
        top_k : int, optional
            Keep at most this many labels per text.
        threshold : float or mapping, optional
            One probability threshold for every label, or ``{label: threshold}`` overrides.

        Raises
        ------
        TypeError
            If ``texts`` is one string: pass ``[text]``.
        ValueError
            If ``threshold`` names a label the model does not have, or is not in [0, 1].

        Examples
        --------
        >>> model.predict(["Brent crude rose 2 percent."], top_k=1)  # doctest: +SKIP
        [['energy']]
        >>> model.predict(["Brent crude rose."], threshold={"trade": 0.2})  # doctest: +SKIP
        [['energy', 'trade']]
        """
        return self.labels_of(self.score(texts), thresholds=threshold, top_k=top_k)

    def labels_of(
        self,
        scores: Scores,
        *,
        thresholds: Mapping[str, float] | float | None = None,
        top_k: int | None = None,
    ) -> list[list[str]]:
        """Return the labels of scored paragraphs, as ``predict`` gives them.

        The one place that applies both of a paragraph's vetoes: no known n-gram, and the
        no-topic head's abstention (see :meth:`decide` for the arguments).
        """
        return self.decide(
            scores.proba,
            thresholds=thresholds,
            top_k=top_k,
            known=scores.known_terms > 0,
            abstain=scores.abstain,
        )

    def decide(
        self,
        proba: np.ndarray,
        *,
        thresholds: Mapping[str, float] | float | None = None,
        top_k: int | None = None,
        known: np.ndarray | None = None,
        abstain: np.ndarray | None = None,
    ) -> list[list[str]]:
        """Turn probabilities into label lists, highest probability first.

        Parameters
        ----------
        proba : ndarray of shape (n, n_labels)
        thresholds : float or mapping, optional
            One threshold for every label, or overrides for some labels.
        top_k : int, optional
            Keep at most this many labels per paragraph.
        known : ndarray of bool, optional
            False for paragraphs with no known n-gram, which get no label.
        abstain : ndarray of bool, optional
            True for paragraphs the no-topic head abstains on (``Scores.abstain``): no label.

        Raises
        ------
        ValueError
            If ``thresholds`` names a label the model does not have, a threshold is not in
            [0, 1], or ``top_k`` is below 1.
        """
        cut = self.thresholds.copy()
        if isinstance(thresholds, int | float):
            cut[:] = _probability(thresholds, "threshold")
        elif thresholds:
            index = {label: j for j, label in enumerate(self.labels)}
            for label, value in thresholds.items():
                if label not in index:
                    raise ValueError(
                        f"unknown label {label!r} in thresholds "
                        f"(the model's labels: {', '.join(self.labels)})"
                    )
                cut[index[label]] = _probability(value, f"threshold of {label!r}")
        if top_k is not None and top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        chosen = decide_labels(
            proba,
            cut,
            single_label=self.mode == SINGLE_LABEL,
            at_least_one=self.data.at_least_one,
            known=known,
            abstain=abstain,
        )
        rows, cols = np.nonzero(chosen)
        order = np.lexsort((cols, -proba[rows, cols], rows))  # by row, then most probable first
        rows, cols = rows[order].tolist(), cols[order].tolist()
        result: list[list[str]] = [[] for _ in range(len(proba))]
        for i, j in zip(rows, cols, strict=True):
            result[i].append(self.labels[j])
        if top_k is not None:
            result = [labels[:top_k] for labels in result]
        return result

    def terms(self) -> list[str]:
        """Every feature's n-gram, in coefficient-row order (views concatenated)."""
        return [term for vocab in self.data.vocabularies for term in vocab]

    def to_sklearn(self) -> Any:
        """Moved: use ``topictag.to_sklearn(model)``, which lives on the training side."""
        raise AttributeError(
            "Model.to_sklearn() moved to the training side in topictag 0.2: "
            "use topictag.to_sklearn(model) (topictag.train.to_sklearn)"
        )

    def analyze(self, texts: Sequence[str]) -> Iterator[tuple[list[str], np.ndarray, np.ndarray]]:
        """Yield each view's n-grams of the texts, in view order.

        Each item is ``(grams, ids, lengths)``: every n-gram of every text in order, its feature
        index within the view (-1 if unknown), and how many n-grams each text has (for drift).
        """
        for runtime in self._views:
            yield runtime.grams(texts)

    def _features(
        self, texts: Sequence[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Return the tf-idf entries of the texts as (row, column, value) arrays, row-sorted.

        Also each text's known and total n-gram counts. Terms are looked up for the whole batch
        at once (ASCII words of a word view in a :class:`~topictag.model.lookup.WordTable`,
        other terms with ``map(dict.get, ...)``, which runs in C); counting, weighting and
        normalizing are array operations.
        """
        n = len(texts)
        known = np.zeros(n, dtype=np.int64)
        total = np.zeros(n, dtype=np.int64)
        parts_rows, parts_cols, parts_vals = [], [], []
        for runtime in self._views:
            ids, doc = runtime.terms(texts)
            idf, offset, sublinear = runtime.idf, runtime.offset, runtime.view.sublinear_tf
            total += np.bincount(doc, minlength=n)
            hit = ids >= 0
            ids, doc = ids[hit], doc[hit]
            known += np.bincount(doc, minlength=n)
            size = np.int64(len(idf))
            keys, tf = np.unique(doc * size + ids, return_counts=True)
            rows, cols = keys // size, keys % size
            weights = (np.log(tf) + 1.0 if sublinear else tf.astype(np.float64)) * idf[cols]
            norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=n))
            weights /= norms[rows]
            parts_rows.append(rows)
            parts_cols.append(cols + offset)
            parts_vals.append(weights)
        if len(parts_rows) == 1:
            return parts_rows[0], parts_cols[0], parts_vals[0], known, total
        rows = np.concatenate(parts_rows)
        order = np.argsort(rows, kind="stable")
        return (
            rows[order],
            np.concatenate(parts_cols)[order],
            np.concatenate(parts_vals)[order],
            known,
            total,
        )

    def _linear_scores(
        self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int
    ) -> np.ndarray:
        """Return ``intercept + X @ coef`` for the row-sorted entries of X.

        One small matrix-vector product per paragraph (its tf-idf values times the rows of its
        terms): nothing larger than one paragraph's rows is gathered, and the multiply-add is
        BLAS's, about three times faster than gathering every entry's row at once and summing.
        """
        scores = np.empty((n, self._coef.shape[1]))
        bounds = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=bounds[1:])
        take, matmul = self._coef.take, np.matmul
        for i, (start, stop) in enumerate(
            zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)
        ):
            matmul(vals[start:stop], take(cols[start:stop], axis=0), out=scores[i])
        scores += self._intercept
        return scores


class _ViewRuntime:
    """One view's analyzer and term lookup, its idf and its first coefficient row."""

    def __init__(self, view: View, vocabulary: list[str], idf: np.ndarray, offset: int):
        self.view, self.vocabulary, self.idf, self.offset = view, vocabulary, idf, offset
        self.analyze = build_analyzer(view)  # exact: a paragraph's n-gram count is a statistic
        self._index: dict[str, int] | None = None
        self.table: WordTable | None = None
        default = view.analyzer == "word" and view.token_pattern in DEFAULT_TOKEN_PATTERNS
        if default and tuple(view.ngram_range) == (1, 1) and len(vocabulary) >= _TABLE_FROM:
            table = WordTable(vocabulary, lower=view.lowercase)
            self.table = table if table.usable else None

    @property
    def index(self) -> dict[str, int]:
        """Term -> column; built on first use (ASCII text of a word view needs none)."""
        if self._index is None:
            self._index = term_index(self.view, self.vocabulary)
        return self._index

    def terms(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Every term occurrence's column (-1 when unknown) and the index of its text."""
        if self.table is None:
            return self._analyzed(texts)
        plain = [i for i, text in enumerate(texts) if text.isascii()]
        if len(plain) == len(texts):
            return self.table.lookup(texts)
        ids, docs = self.table.lookup([texts[i] for i in plain])
        rest = [i for i, text in enumerate(texts) if not text.isascii()]
        more_ids, more_docs = self._analyzed([texts[i] for i in rest])
        order = np.asarray(plain, dtype=np.int64), np.asarray(rest, dtype=np.int64)
        return np.concatenate([ids, more_ids]), np.concatenate(
            [order[0][docs], order[1][more_docs]]
        )

    def grams(self, texts: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every n-gram of the texts in order, its column (-1 when unknown), each text's count."""
        per_text = list(map(self.analyze, texts))
        lengths = np.fromiter(map(len, per_text), dtype=np.int64, count=len(texts))
        terms = list(chain.from_iterable(per_text))
        get = self.index.get
        ids = np.fromiter(map(get, terms, repeat(-1)), dtype=np.int64, count=len(terms))
        return terms, ids, lengths

    def _analyzed(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        _, ids, lengths = self.grams(texts)
        return ids, np.repeat(np.arange(len(texts), dtype=np.int64), lengths)


def _check_texts(texts: Sequence[str]) -> None:
    if isinstance(texts, str | bytes):
        raise TypeError(
            f"expected a list of texts, got one {type(texts).__name__}: "
            "pass [text] to classify a single text"
        )


def _probability(value: float, what: str) -> float:
    if not 0.0 <= (number := float(value)) <= 1.0:
        raise ValueError(f"{what} must be a probability between 0 and 1, got {value!r}")
    return number


def load_model(path_or_name: str | Path) -> Model:
    """Load a bundle by folder path or by name (see :func:`topictag.model.catalog.resolve_model`).

    Raises
    ------
    ModelError
        If there is no valid bundle there.
    """
    path = resolve_model(path_or_name)
    return Model(load_bundle(path), path)
