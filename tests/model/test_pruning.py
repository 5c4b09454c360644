from __future__ import annotations

import numpy as np

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from topictag.data.corpus import read_corpus
from topictag.model.bundle import load_bundle
from topictag.model.inference import Model
from topictag.model.pruning import prune_model
from topictag.model.writing import save_bundle
from topictag.train.bridge import to_sklearn


def test_float16_weights_stay_within_1e3(tmp_path):
    data = load_bundle(DEFAULT_MODEL)
    small = prune_model(data, float16=True)
    save_bundle(small, tmp_path / "f16")
    loaded = load_bundle(tmp_path / "f16")
    assert loaded.coef.dtype == np.float16
    assert (tmp_path / "f16" / "weights.npz").stat().st_size < (
        DEFAULT_MODEL / "weights.npz"
    ).stat().st_size
    texts = [r.text for r in read_corpus(BUNDLED_CORPUS)]
    full, half = Model(data).predict_proba(texts), Model(loaded).predict_proba(texts)
    assert np.abs(full - half).max() < 1e-3


def _weights(data):
    """Each feature's largest |weight| over the labels and the no-topic head."""
    columns = [np.abs(np.asarray(data.coef, dtype=np.float64))]
    if data.abstain is not None:
        columns.append(np.abs(np.asarray(data.abstain.coef, dtype=np.float64))[:, None])
    return np.hstack(columns).max(axis=1)


def test_max_features_keeps_the_heaviest_and_stays_consistent_with_sklearn():
    data = load_bundle(DEFAULT_MODEL)
    assert data.abstain is not None  # the default model has a no-topic head: it is pruned too
    small = prune_model(data, max_features=500)
    assert small.coef.shape == (500, len(data.labels))
    assert small.abstain is not None and small.abstain.coef.shape == (500,)
    assert sum(len(v) for v in small.vocabularies) == 500
    kept = _weights(small).min()
    dropped_weights = _weights(data)
    assert (dropped_weights > kept).sum() <= 500
    model = Model(small)
    texts = [r.text for r in read_corpus(BUNDLED_CORPUS)[:100]]
    assert np.abs(to_sklearn(model).predict_proba(texts) - model.predict_proba(texts)).max() < 1e-9
    assert small.manifest["pruning"]["features_after"] == 500


def test_min_weight_drops_small_features():
    data = load_bundle(DEFAULT_MODEL)
    small = prune_model(data, min_weight=0.2)
    assert _weights(small).min() >= 0.2
    assert small.coef.shape[0] < data.coef.shape[0]


def test_pruning_drops_the_stale_known_token_share(tiny_model):
    from topictag.model.inference import load_model

    data = load_model(tiny_model).data
    pruned = prune_model(data, max_features=5)
    assert "known_share" in data.manifest["drift"]
    assert "known_share" not in pruned.manifest["drift"]
    assert pruned.manifest["drift"]["confidence"] == data.manifest["drift"]["confidence"]
