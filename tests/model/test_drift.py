from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import TINY
from topictag.data.inputs import Item
from topictag.model.drift import (
    BINS,
    DriftMonitor,
    monitor_texts,
    reference_from_items,
    reference_statistics,
)
from topictag.model.inference import load_model

TEXTS = [text for _, text, _ in TINY]


def test_training_stores_out_of_sample_statistics_in_the_manifest(tiny_model):
    drift = load_model(tiny_model).manifest["drift"]
    assert drift["source"] == "training rows, out of fold"  # 3 test rows: too few to use
    assert drift["rows"] == 15 and drift["known_share"]["method"] == "out-of-group"
    for part in ("known_share", "confidence"):
        assert len(drift[part]["histogram"]) == BINS
        assert sum(drift[part]["histogram"]) == pytest.approx(1.0, abs=1e-5)
    # out of group, fewer n-grams are known than in sample (where every one is)
    assert 0.2 < drift["known_share"]["mean"] < 0.9
    assert drift["labels"]["training"] == pytest.approx(
        {"energy": 5 / 15, "talks": 5 / 15, "war": 5 / 15}, abs=1e-6
    )
    assert set(drift["labels"]["predicted"]) == {"energy", "talks", "war"}


def test_out_of_group_counts_only_terms_another_group_has(tiny_model):
    model = load_model(tiny_model)
    texts = ["troops shelled the town", "troops fled the town", "oil prices rose"]
    alone = reference_statistics(model, texts, groups=["a", "a", "b"])
    by_row = reference_statistics(model, texts, groups=["a", "b", "c"])
    scored = reference_statistics(model, texts)
    # "troops" and "the town" are shared inside group a only: unknown out of group
    assert alone["known_share"]["mean"] < by_row["known_share"]["mean"]
    assert by_row["known_share"]["mean"] <= scored["known_share"]["mean"]
    assert scored["known_share"]["method"] == "as scored"
    assert alone["known_share"]["mean"] == 0.0  # group b's words occur nowhere else


def test_monitor_does_not_depend_on_batching(tiny_model):
    model = load_model(tiny_model)
    texts = [*TEXTS, "", "Le gouvernement a annoncé une hausse des impôts."]
    whole = monitor_texts(model, [texts]).statistics()
    parts = monitor_texts(model, [texts[k : k + 4] for k in range(0, len(texts), 4)]).statistics()
    assert whole == parts
    assert whole["rows"] == len(texts)
    terms = {t["term"]: t["paragraphs"] for t in whole["new_terms"]}
    assert terms["gouvernement"] == 1 and "troops" not in terms


def test_monitor_counts_a_paragraph_once_per_term(tiny_model):
    monitor = DriftMonitor(load_model(tiny_model))
    monitor.update(["zebra zebra zebra", "zebra giraffe"])
    assert monitor.unknown_terms["zebra"] == 2 and monitor.unknown_terms["giraffe"] == 1
    assert monitor.empty == 0 and monitor.known == 0 and monitor.terms == 5
    quiet = DriftMonitor(load_model(tiny_model), count_terms=False)
    quiet.update(["zebra"])
    assert not quiet.unknown_terms and quiet.rows == 1


def test_reference_from_items_reads_label_rates(tiny_model):
    model = load_model(tiny_model)
    items = [
        Item(id="1", text=TEXTS[0], fields={"gold_labels": ["war"]}),
        Item(id="2", text=TEXTS[3], fields={"gold_labels": []}),
    ]
    stats = reference_from_items(model, items)
    assert stats["source"] == "reference data" and stats["rows"] == 2
    assert stats["labels"]["training"] == {"energy": 0.0, "talks": 0.0, "war": 0.5}
    assert np.isclose(sum(stats["confidence"]["histogram"]), 1.0)
