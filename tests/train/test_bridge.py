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
