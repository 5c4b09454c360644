from __future__ import annotations

import json

from sklearn.base import clone
from sklearn.model_selection import GroupKFold, cross_val_score

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from topictag.model.inference import load_model
from topictag.train.bridge import to_sklearn


def test_the_exported_pipeline_clones_and_cross_validates_on_class_names():
    rows = [json.loads(line) for line in BUNDLED_CORPUS.read_text().splitlines()]
    rows = [r for r in rows if len(r["labels"]) == 1][:300]
    texts = [r["text"] for r in rows]
    topics = [r["labels"][0] for r in rows]
    pipeline = to_sklearn(load_model(DEFAULT_MODEL))
    refit = clone(pipeline).fit(texts, topics)
    assert set(refit.predict(texts)) <= set(topics)
    assert refit.score(texts, topics) > 0.8
    articles = [r["article_id"] for r in rows]
    scores = cross_val_score(clone(pipeline), texts, topics, groups=articles, cv=GroupKFold(3))
    assert scores.mean() > 0.5


def test_nb_weights_and_averaging_are_served_by_the_numpy_runtime_unchanged(tiny_corpus):
    import numpy as np

    from topictag.model.inference import Model
    from topictag.train.recipe import TrainConfig
    from topictag.train.space import apply_changes
    from topictag.train.training import train_model

    changes = {
        "features.char_ngram_range": (2, 4),
        "model.nb_weights": True,
        "model.average_with": "logistic",
    }
    result = train_model([tiny_corpus], apply_changes(TrainConfig(), changes))
    texts = ["Oil prices rose as talks stalled.", "Artillery fire hit the town.", "zzz"]
    served = Model(result.data).predict_proba(texts)
    assert np.abs(served - result.pipeline.predict_proba(texts)).max() < 1e-9
    assert result.data.manifest["config"]["model"]["nb_weights"] is True
    rebuilt = to_sklearn(result.data)  # the folds are in the coefficients: nothing else to know
    assert np.abs(rebuilt.predict_proba(texts) - served).max() < 1e-9
