from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import TINY
from topictag.cli.application import app
from topictag.data.inputs import Item
from topictag.label.suggest import RANDOM_SHARE, suggest
from topictag.model.inference import load_model

WORDS = [
    "troops",
    "talks",
    "oil",
    "envoys",
    "ministers",
    "pipeline",
    "fighting",
    "gas",
    "summit",
    "artillery",
    "ceasefire",
    "fuel",
    "embassy",
    "rebels",
    "convoy",
    "prices",
    "drone",
    "refinery",
    "capital",
    "border",
    "treaty",
    "power",
    "plant",
    "winter",
]


def pool(count: int, *, seed: int = 0) -> list[Item]:
    """Distinct news-like paragraphs: random ten-word mixes of the tiny corpus's vocabulary."""
    rng = np.random.default_rng(seed)
    return [
        Item(id=f"q{i}", text=" ".join(rng.choice(WORDS, size=10)) + f" item{i}.")
        for i in range(count)
    ]


def test_exactly_n_distinct_and_deterministic(tiny_model):
    model = load_model(tiny_model)
    first = suggest(model, pool(300), n=25, seed=3)
    again = suggest(model, pool(300), n=25, seed=3)
    other = suggest(model, pool(300), n=25, seed=4)
    assert len(first) == 25 and len({s.id for s in first}) == 25
    assert [s.id for s in first] == [s.id for s in again]
    assert [s.id for s in first] != [s.id for s in other]  # the random share moves


def test_batching_does_not_change_the_picks(tiny_model):
    model = load_model(tiny_model)
    for strategy in ("uncertainty", "margin", "random"):
        small = suggest(model, iter(pool(200)), n=12, strategy=strategy, batch_size=7)
        large = suggest(model, iter(pool(200)), n=12, strategy=strategy, batch_size=512)
        assert [s.id for s in small] == [s.id for s in large], strategy


def test_uncertainty_ranks_by_closeness_to_each_labels_threshold(tiny_model):
    model = load_model(tiny_model)
    items = pool(120)
    picks = suggest(model, items, n=10, seed=0)
    ranked = [s for s in picks if not s.reason["random"]]
    assert len(ranked) == 10 - int(10 * RANDOM_SHARE)
    p = model.predict_proba([item.text for item in items])
    t = model.thresholds
    closeness = (1 - np.abs(p - t) / np.where(p < t, t, 1 - t)).max(axis=1)
    best = [items[i].id for i in np.argsort(-closeness, kind="stable")[: len(ranked)]]
    assert [s.id for s in ranked] == best
    top = ranked[0].reason["uncertain"][0]
    assert set(top) == {"label", "probability", "threshold", "distance"}
    assert top["distance"] == pytest.approx(top["probability"] - top["threshold"], abs=1e-5)
    assert ranked[0].labels == model.predict([ranked[0].text])[0]


def test_random_share_is_spread_and_labeled(tiny_model):
    picks = suggest(load_model(tiny_model), pool(400), n=30, seed=1)
    drawn = [k for k, s in enumerate(picks) if s.reason["random"]]
    assert len(drawn) == 3 and drawn[0] > 0 and drawn[-1] < 29  # spread, not appended
    only = suggest(load_model(tiny_model), pool(400), n=30, strategy="random", seed=1)
    assert all(
        s.reason == {"strategy": "random", "priority": s.reason["priority"], "random": False}
        for s in only
    )


def test_exact_and_near_duplicates_are_skipped(tiny_model):
    model = load_model(tiny_model)
    base = "Talks on a gas pipeline deal ended without agreement between the two envoys on Friday"
    items = [Item(id=f"d{i}", text=base + ".") for i in range(40)]  # exact copies
    items += [Item(id=f"c{i}", text=base.upper() + "  .") for i in range(5)]  # case and spaces
    items += [Item(id=f"n{i}", text=base + f" night {i}.") for i in range(40)]  # near copies
    items += pool(30)
    picks = suggest(model, items, n=20, seed=0)
    assert len(picks) == 20
    family = [s.id for s in picks if s.id[0] in "dcn"]
    assert len(family) == 1, family


def test_fewer_only_when_the_pool_has_fewer_distinct(tiny_model):
    items = [Item(id=f"d{i}", text="Envoys met in Geneva to revive the talks.") for i in range(9)]
    items += [Item(id="e", text="   "), *pool(3)]
    assert len(suggest(load_model(tiny_model), items, n=10)) == 4


def test_exclude_by_id_text_and_near_duplicate(tiny_model):
    model = load_model(tiny_model)
    items = [Item(id=f"t{i}", text=text) for i, (_, text, _) in enumerate(TINY)]
    labeled = [
        Item(id="t0", text="something else entirely"),
        Item(id="zz", text=TINY[1][1].lower()),
        Item(id="yy", text=TINY[2][1][:-1] + " today."),  # Jaccard 9/10
    ]
    picks = suggest(model, items, n=50, exclude=labeled)
    assert {s.id for s in picks} == {f"t{i}" for i in range(len(TINY))} - {"t0", "t1", "t2"}


def test_bad_arguments():
    with pytest.raises(ValueError, match="strategy must be one of"):
        suggest(None, [], strategy="entropy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n must be at least 1"):
        suggest(None, [], n=0)  # type: ignore[arg-type]


def test_cli_writes_jsonl_rows(tiny_model, tmp_path):
    source = tmp_path / "pool.jsonl"
    source.write_text(
        "".join(
            json.dumps({"id": i.id, "text": i.text, "article_id": "x"}) + "\n" for i in pool(60)
        )
    )
    labeled = tmp_path / "labeled.jsonl"
    labeled.write_text(json.dumps({"id": "q0", "text": "anything", "labels": []}) + "\n")
    out = tmp_path / "next.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "suggest",
            "-m",
            str(tiny_model),
            "-i",
            str(source),
            "-n",
            "7",
            "--exclude",
            str(labeled),
            "-o",
            str(out),
            "--seed",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 7 and "q0" not in {r["id"] for r in rows}
    assert list(rows[0]) == ["id", "text", "article_id", "labels", "scores", "reason"]
    assert "suggested 7 paragraph(s) by uncertainty" in result.stderr
    bad = CliRunner().invoke(
        app, ["suggest", "-m", str(tiny_model), "-i", str(source), "--strategy", "entropy"]
    )
    assert bad.exit_code == 2
    assert "'entropy' is not one of 'uncertainty', 'margin', 'random'" in bad.output


def test_suggested_labels_are_the_labels_classify_gives(tiny_model):
    # both vetoes apply: a paragraph with no known n-gram (and one the no-topic head abstains
    # on, when the model has a head) is suggested with no label pre-checked
    model = load_model(tiny_model)
    items = pool(40) + [Item(id=f"u{i}", text=f"zqx{i} vbn{i} wqp{i}") for i in range(10)]
    picked = suggest(model, items, n=50, seed=0)
    assert len(picked) == 50
    for s in picked:
        assert s.labels == model.predict([s.text])[0], s.id
    assert all(s.labels == [] for s in picked if s.id.startswith("u"))
