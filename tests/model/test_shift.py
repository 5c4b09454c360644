from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.conftest import BUNDLED_CORPUS, TINY, write_jsonl
from topictag.data.inputs import Item
from topictag.model.drift import monitor_texts
from topictag.model.inference import Model, load_model
from topictag.model.shift import compare, known_share_warning, measure_drift

IN_DOMAIN = [
    "Artillery fire hit the town as fighting spread and troops withdrew from the front.",
    "Envoys from both governments met for a new round of talks on restoring ties.",
    "Gas supplies fell and oil prices rose after the pipeline was shut for repairs.",
    "Rebels attacked soldiers near the border; the army said the offensive would go on.",
    "The ministers said talks would resume in Geneva after the summit statement.",
    "Fuel imports doubled and electricity prices rose as the power plant stayed shut.",
] * 5
SPORT = [
    "The striker scored twice in the second half as the home side won the cup final.",
    "Her serve broke down in the third set and the champion lost the semi-final.",
    "The coach said injuries to two defenders left the squad thin for the league match.",
] * 10
FRENCH = [
    "Le gouvernement a annoncé mardi une hausse des impôts pour les grandes entreprises.",
    "Les négociations entre les deux pays ont repris jeudi à Genève sans accord.",
    "Les prix du pétrole ont reculé après la publication des stocks américains.",
] * 10


def drift_of(model: Model, texts: list[str]) -> dict:
    return measure_drift(model, (Item(id=str(i), text=t) for i, t in enumerate(texts)))


@pytest.fixture(scope="module")
def split_model(tmp_path_factory):
    """A model of the bundled corpus whose reference is half its test articles; the other half
    is in-domain text it has never seen."""
    from topictag.train.recipe import TrainConfig
    from topictag.train.training import train_model

    rows = [json.loads(line) for line in BUNDLED_CORPUS.read_text().splitlines()]
    test_articles = sorted({r["article_id"] for r in rows if r["split"] == "test"})
    unseen = set(test_articles[::2])
    kept = [r for r in rows if r["article_id"] not in unseen]
    path = write_jsonl(tmp_path_factory.mktemp("split") / "kept.jsonl", kept)
    model = Model(train_model([path], TrainConfig()).data)
    return model, [r["text"] for r in rows if r["article_id"] in unseen]


def test_drift_rises_from_in_domain_to_sport_to_french(split_model):
    model, unseen = split_model
    assert model.manifest["drift"]["source"] == "held-out test rows"
    home, sport, french = (drift_of(model, t) for t in (unseen, SPORT, FRENCH))
    assert home["drift"] < 0.1  # unseen articles of the same corpus: no drift beyond chance
    assert home["drift"] < sport["drift"] < french["drift"]
    assert home["known_share"]["new"] == pytest.approx(home["known_share"]["reference"], abs=0.03)
    # the corpus has a few French captions, so French is not all unknown; far less is known
    assert french["known_share"]["new"] < sport["known_share"]["new"] - 0.1
    french_words = {w.lower() for text in FRENCH for w in text.replace(".", " ").split()}
    top = [t["term"] for t in french["new_terms"][:5]]
    assert len(top) == 5 and set(top) <= french_words, top  # the unknown words are the French
    assert not set(top) & set(model.terms())
    assert french["missing"] == []


def test_same_statistics_give_no_drift(tiny_model):
    model = load_model(tiny_model)
    stats = monitor_texts(model, [IN_DOMAIN]).statistics()
    report = compare(stats, stats, model.labels)
    assert report["drift"] == 0.0
    assert all(not row["shifted"] for row in report["labels"])
    noise = report["known_share"]["noise"]
    assert noise == pytest.approx((10 - 1) * (1 / 30 + 1 / 30), abs=1e-6)


def test_a_label_whose_rate_leaves_its_interval_is_shifted(tiny_model):
    model = load_model(tiny_model)
    war = [t for _, t, labels in TINY if labels == ["war"]] * 10
    report = drift_of(model, war)
    rows = {row["label"]: row for row in report["labels"]}
    assert rows["war"]["rate"] > 0.8 and rows["war"]["shifted"]
    low, high = rows["war"]["interval"]
    assert low <= rows["war"]["rate"] <= high
    assert report["components"]["labels"] > 0.25


def test_bundles_without_statistics_say_what_they_cannot_compute(tiny_model):
    model = load_model(tiny_model)
    bare = Model(
        replace(model.data, manifest={k: v for k, v in model.manifest.items() if k != "drift"})
    )
    report = drift_of(bare, FRENCH)
    assert report["drift"] is None and report["reference"] is None
    assert "no training statistics" in report["missing"][0]
    assert report["known_share"]["new"] < 0.3  # what can be computed still is
    assert report["new_terms"]
    empty = drift_of(model, [])
    assert empty["drift"] is None and "no paragraphs" in empty["missing"][-1]


def test_known_share_warning():
    manifest = {"drift": {"known_share": {"mean": 0.8}}}
    assert known_share_warning(manifest, 70, 100) is None  # not enough n-grams to judge
    assert known_share_warning(manifest, 500, 1000) is not None  # 0.5 < 0.75 x 0.8
    assert known_share_warning(manifest, 610, 1000) is None
    line = known_share_warning(manifest, 100, 1000)
    assert line is not None and "10%" in line and "80%" in line
    assert known_share_warning({}, 0, 10_000) is None
