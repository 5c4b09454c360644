"""Comparing new text's statistics with a model's reference: the drift report (numpy only).

See :mod:`topictag.model.drift` for the statistics. Each distribution is compared with a
population stability index (PSI) less the PSI that chance alone gives two samples of these
sizes; the report's ``drift`` is the largest of the three (known-token share, confidence,
label mix).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from topictag.data.inputs import Item
from topictag.errors import DataError
from topictag.model.drift import EPSILON, monitor_texts, normalized, texts_of
from topictag.model.inference import Model

FAR_BELOW = 0.75  # classify warns when a stream knows less than this share of training's share
MIN_TERMS_TO_WARN = 200  # ... over at least this many n-grams
_Z = 1.96  # 95% intervals


def measure_drift(
    model: Model,
    items: Iterable[Item | DataError],
    *,
    reference: Mapping[str, Any] | None = None,
    batch_size: int = 1024,
) -> dict[str, Any]:
    """Compare new paragraphs with the model's training statistics (or ``reference``).

    Parameters
    ----------
    model : Model
    items : iterable of Item
        The new text, read once in batches (e.g. :func:`topictag.data.inputs.read_items`).
    reference : mapping, optional
        Statistics from :func:`reference_statistics` [default: the bundle's ``drift`` field].

    Returns
    -------
    dict
        The report of :func:`compare`.

    Raises
    ------
    DataError
        For the first unreadable row.
    """
    if reference is None:
        reference = model.manifest.get("drift")
    monitor = monitor_texts(model, texts_of(items, batch_size))
    return compare(monitor.statistics(), reference, model.labels)


def compare(
    new: Mapping[str, Any], reference: Mapping[str, Any] | None, labels: Sequence[str]
) -> dict[str, Any]:
    """Set new text's statistics (:meth:`DriftMonitor.statistics`) against the reference.

    The report's ``drift`` is the largest PSI of the known-token share, the confidence and the
    label mix, or None without reference statistics (``missing`` says what could not be
    computed). Labels whose reference rate falls outside the 95% interval of their new rate
    are marked ``shifted``.
    """
    rows = int(new["rows"])
    missing: list[str] = []
    ref = dict(reference or {})
    share_new = np.asarray(new["known_share"]["histogram"])
    conf_new = np.asarray(new["confidence"]["histogram"])
    known: dict[str, Any] = {"new": new["known_share"]["mean"], "histogram": list(share_new)}
    confidence: dict[str, Any] = {"new": new["confidence"]["mean"], "histogram": list(conf_new)}
    components: dict[str, float | None] = {"known_share": None, "confidence": None, "labels": None}
    sizes = (int(ref.get("rows", 0)), rows)
    if "known_share" in ref:
        known["reference"] = ref["known_share"]["mean"]
        known["reference_histogram"] = ref["known_share"]["histogram"]
        components["known_share"] = _shift(known, ref["known_share"]["histogram"], share_new, sizes)
    if "confidence" in ref:
        confidence["reference"] = ref["confidence"]["mean"]
        confidence["reference_histogram"] = ref["confidence"]["histogram"]
        components["confidence"] = _shift(
            confidence, ref["confidence"]["histogram"], conf_new, sizes
        )
    rates = ref.get("labels", {})
    predicted, training = rates.get("predicted"), rates.get("training")
    counts = new["labels"]["counts"]
    table = []
    labels_psi: dict[str, Any] = {}
    for label in labels:
        low, high = _wilson(int(counts[label]), rows)
        row: dict[str, Any] = {
            "label": label,
            "rate": new["labels"]["predicted"][label],
            "interval": [round(low, 6), round(high, 6)],
        }
        if predicted is not None and label in predicted:
            row["reference"] = predicted[label]
            row["shifted"] = bool(rows and not low <= predicted[label] <= high)
        if training is not None and label in training:
            row["training"] = training[label]
        table.append(row)
    if predicted is not None and all(label in predicted for label in labels):
        old = np.array([predicted[label] for label in labels] + [rates.get("none", 0.0)])
        mix = np.array([counts[label] for label in labels] + [new["labels"]["none_count"]])
        components["labels"] = _shift(labels_psi, old, mix, sizes)
    if not ref:
        missing.append(
            "the model carries no training statistics (trained before drift existed): pass "
            "--reference DATA, or retrain, to compare the known-token share, confidence and "
            "label rates"
        )
    elif "known_share" not in ref:
        missing.append("the bundle's statistics have no known-token share (a pruned model)")
    if rows == 0:
        missing.append("the new text has no paragraphs")
    values = [v for v in components.values() if v is not None]
    return {
        "drift": round(max(values), 6) if values and rows else None,
        "rows": rows,
        "components": components,
        "known_share": known,
        "confidence": confidence,
        "labels": table,
        "label_mix": labels_psi,
        "no_label": {"rate": new["labels"]["none"], "reference": rates.get("none")},
        "new_terms": new.get("new_terms", []),
        "reference": {k: ref[k] for k in ("source", "rows", "format") if k in ref} or None,
        "missing": missing,
    }


def known_share_warning(manifest: Mapping[str, Any], known: int, terms: int) -> str | None:
    """One line when a stream's known-token share is far below training's, else None.

    Far below: less than :data:`FAR_BELOW` of the training share, over at least
    :data:`MIN_TERMS_TO_WARN` n-grams. Bundles without drift statistics never warn.
    """
    reference = (manifest.get("drift") or {}).get("known_share", {}).get("mean")
    if reference is None or terms < MIN_TERMS_TO_WARN:
        return None
    share = known / terms
    if share >= FAR_BELOW * reference:
        return None
    return (
        f"the model knows {share:.0%} of this input's n-grams against {reference:.0%} on "
        "training text: it may be off-domain or another language (see topictag drift)"
    )


def _shift(
    into: dict[str, Any],
    reference: Sequence[float] | np.ndarray,
    new: np.ndarray,
    sizes: tuple[int, int],
) -> float | None:
    """Record a distribution's PSI, its sampling noise and their excess; return the excess.

    The noise is the PSI expected between two samples of one distribution of these sizes,
    ``(bins - 1) * (1 / n_reference + 1 / n_new)`` (PSI is a symmetrized Kullback-Leibler
    divergence, about chi-square); the excess, floored at 0, is the shift beyond chance.
    """
    if not sizes[1]:
        return None
    psi = _psi(reference, new)
    bins = len(new)
    noise = (bins - 1) * (1.0 / max(sizes[0], 1) + 1.0 / sizes[1]) if sizes[0] else 0.0
    excess = round(max(0.0, psi - noise), 6)
    into.update(psi=psi, noise=round(noise, 6), excess=excess)
    return excess


def _psi(reference: Sequence[float] | np.ndarray, new: np.ndarray) -> float:
    """Population stability index of two distributions (normalized here, floored at EPSILON)."""
    p = np.maximum(normalized(np.asarray(reference, dtype=np.float64)), EPSILON)
    q = np.maximum(normalized(np.asarray(new, dtype=np.float64)), EPSILON)
    return round(float(np.sum((q - p) * np.log(q / p))), 6)


def _wilson(successes: int, n: int) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    center = (p + _Z * _Z / (2 * n)) / (1 + _Z * _Z / n)
    half = _Z * math.sqrt(p * (1 - p) / n + _Z * _Z / (4 * n * n)) / (1 + _Z * _Z / n)
    return max(0.0, center - half), min(1.0, center + half)
