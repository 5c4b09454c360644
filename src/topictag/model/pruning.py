"""Making bundles smaller: fewer features, and 16-bit coefficients."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from topictag.model.bundle import ModelData


def prune_model(
    data: ModelData,
    *,
    max_features: int | None = None,
    min_weight: float | None = None,
    float16: bool = False,
) -> ModelData:
    """Return a smaller copy of a model.

    Parameters
    ----------
    max_features : int, optional
        Keep the features whose largest absolute coefficient (over the labels and the no-topic
        head) is largest.
    min_weight : float, optional
        Drop features whose largest absolute coefficient is below this.
    float16 : bool
        Store coefficients as 16-bit floats (computed in 64 bits after loading).

    Notes
    -----
    A dropped feature leaves the vocabulary, so it no longer counts in a paragraph's L2 norm
    either: probabilities move slightly for paragraphs that contained it. Measure the effect
    with ``topictag evaluate`` (``make bench-serve`` reports it on Reuters-21578).
    """
    weights = np.asarray(data.coef, dtype=np.float64)
    if data.abstain is not None:  # the no-topic head's features count as much as a label's
        weights = np.column_stack([weights, np.asarray(data.abstain.coef, dtype=np.float64)])
    weight = np.abs(weights).max(axis=1)
    keep = np.ones(len(weight), dtype=bool)
    if min_weight is not None:
        keep &= weight >= min_weight
    if max_features is not None and keep.sum() > max_features:
        order = np.argsort(-np.where(keep, weight, -1.0), kind="stable")
        keep = np.zeros(len(weight), dtype=bool)
        keep[order[:max_features]] = True
    vocabularies, idfs = [], []
    offset = 0
    for vocab, idf in zip(data.vocabularies, data.idfs, strict=True):
        mask = keep[offset : offset + len(vocab)]
        vocabularies.append([term for term, k in zip(vocab, mask, strict=True) if k])
        idfs.append(np.asarray(idf)[mask])
        offset += len(vocab)
    coef = np.asarray(data.coef)[keep]
    coef = coef.astype(np.float16) if float16 else coef.astype(np.float64)
    abstain = None
    if data.abstain is not None:
        head = np.asarray(data.abstain.coef)[keep].astype(coef.dtype)
        abstain = replace(data.abstain, coef=head)
    manifest: dict[str, Any] = dict(data.manifest)
    manifest["pruning"] = {
        "from_weights_sha256": data.manifest.get("weights", {}).get("sha256"),
        "features_before": len(weight),
        "features_after": int(keep.sum()),
        "max_features": max_features,
        "min_weight": min_weight,
        "float16": float16,
    }
    manifest["metrics"] = {"test": None, "cv": None, "note": "pruned: evaluate again"}
    if isinstance(manifest.get("drift"), dict):  # the vocabulary shrank: its share is stale
        drift = {k: v for k, v in manifest["drift"].items() if k != "known_share"}
        manifest["drift"] = drift | {"note": "pruned: the known-token share was dropped"}
    return replace(
        data, vocabularies=vocabularies, idfs=idfs, coef=coef, manifest=manifest, abstain=abstain
    )
