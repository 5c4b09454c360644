from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from topictag.cli.application import app
from topictag.data.corpus import read_corpus
from topictag.evaluate.bootstrap import confidence_intervals, mcnemar, unit_counts, unit_ids
from topictag.evaluate.report_html import expected_calibration_error
from topictag.model.explain import explain
from topictag.model.inference import load_model

runner = CliRunner()


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    result = runner.invoke(
        app, ["evaluate", str(DEFAULT_MODEL), "--data", str(BUNDLED_CORPUS), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out


def test_report_numbers_match_metrics_json_and_scikit_learn(evaluated):
    document = json.loads((evaluated / "metrics.json").read_text())
    metrics, intervals = document["metrics"], document["intervals"]
    page = (evaluated / "report.html").read_text()
    model = load_model(DEFAULT_MODEL)
    test = [r for r in read_corpus(BUNDLED_CORPUS) if r.split == "test"]
    gold = np.array([[x in r.labels for x in model.labels] for r in test])
    predicted = np.array(
        [[x in p for x in model.labels] for p in model.predict([r.text for r in test])]
    )
    assert metrics["micro"]["f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    assert intervals["micro_f1"]["value"] == pytest.approx(metrics["micro"]["f1"])
    assert intervals["macro_f1"]["value"] == pytest.approx(metrics["macro"]["f1"])
    assert intervals["hamming_loss"]["value"] == pytest.approx(metrics["hamming_loss"])
    assert (
        intervals["micro_f1"]["low"]
        < intervals["micro_f1"]["value"]
        < intervals["micro_f1"]["high"]
    )
    assert f"{metrics['micro']['f1']:.3f}" in page
    assert f"95% CI {intervals['micro_f1']['low']:.3f}-{intervals['micro_f1']['high']:.3f}" in page
    for label, m in metrics["per_label"].items():
        assert re.search(rf"<td>{re.escape(label)}</td><td>{m['precision']:.3f}</td>", page)
    assert page.count("class='plot pr-curve'") == len(model.labels)
    # self-contained: nothing is fetched (namespace URIs in the SVGs are names, not requests)
    assert not re.search(r"(src|href)=[\"']?https?:|url\(['\"]?https?:|@import", page)


def test_calibration_error_on_known_inputs():
    proba = np.array([[0.05, 0.95], [0.05, 0.95], [0.95, 0.05], [0.55, 0.45]])
    gold = np.array([[0, 1], [0, 1], [1, 0], [0, 1]])
    ece = expected_calibration_error(proba, gold)
    # bins: 0.05 (3 pairs, 0 positive), 0.45 (1 pair, 1 positive), 0.55 (1, 0), 0.95 (3, 3)
    expected = (3 * 0.05 + 1 * 0.55 + 1 * 0.55 + 3 * 0.05) / 8
    assert ece["ece"] == pytest.approx(expected)


def test_bootstrap_resamples_articles():
    gold = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    predicted = np.array([[1, 0], [1, 0], [1, 0], [0, 1]])
    units = unit_ids(["article:a", "article:a", "article:b", "article:b"])
    assert units.tolist() == [0, 0, 1, 1]
    counts = unit_counts(gold, predicted, units)
    assert counts.size.tolist() == [2.0, 2.0]
    result = confidence_intervals(counts)
    assert result["subset_accuracy"]["value"] == pytest.approx(0.75)
    # two units: a resample is (a, a), (a, b) or (b, b), so accuracy is 1.0, 0.75 or 0.5
    assert result["subset_accuracy"]["low"] == pytest.approx(0.5)
    assert result["subset_accuracy"]["high"] == pytest.approx(1.0)


def test_one_row_without_an_article_keeps_the_others_grouped():
    from topictag.data.corpus import Record, group_keys

    records = [
        Record("1", "Troops shelled the town.", (), "a1"),
        Record("2", "Talks resumed.", (), "a1"),
        Record("3", "Oil prices rose.", (), None),  # no article: its own unit, by its text
        Record("4", "Gas  prices ROSE.", (), "a2"),
        Record("5", "gas prices rose.", (), None),
        Record("6", "Gas prices rose.", (), None),  # the same normalized text as row 5
    ]
    units = unit_ids(group_keys(records))
    assert units[0] == units[1] and len({units[0], units[2], units[3], units[4]}) == 4
    assert units[4] == units[5] and units.max() == 3


def test_paired_comparison_p_values_on_known_inputs():
    from topictag.evaluate.bootstrap import paired_comparison

    gold = np.eye(2, dtype=int)[np.arange(40) % 2]
    right = unit_counts(gold, gold, np.arange(40))
    same = paired_comparison(right, right)["micro_f1"]
    assert same["difference"] == 0.0 and same["low"] == same["high"] == 0.0
    assert same["p_value"] == 1.0
    wrong = unit_counts(gold, gold[:, ::-1], np.arange(40))  # every decision wrong
    better = paired_comparison(right, wrong)["micro_f1"]
    assert better["difference"] == 1.0 and better["low"] == 1.0
    assert better["p_value"] == 0.0  # A wins in every resample
    mixed = gold.copy()
    mixed[:2] = mixed[:2, ::-1]  # B wrong on 2 of 40 only
    close = paired_comparison(right, unit_counts(gold, mixed, np.arange(40)))["micro_f1"]
    # B ties A only in resamples that draw neither wrong row: (38/40)**40 of them, ~13%
    assert close["p_value"] == pytest.approx(2 * (38 / 40) ** 40, abs=0.05)
    assert close["low"] == 0.0 and close["difference"] == pytest.approx(0.05)


def test_mcnemar_is_exact_and_finite_on_large_test_sets():
    from math import comb

    from scipy.stats import binom

    a = np.array([True] * 10)
    assert mcnemar(a, ~a)["p_value"] == pytest.approx(2 * 0.5**10)
    assert mcnemar(a, a)["p_value"] == 1.0
    small = mcnemar(np.array([True] * 7 + [False] * 3), np.array([False] * 7 + [True] * 3))
    assert small["p_value"] == pytest.approx(2 * sum(comb(10, i) for i in range(4)) / 2**10)
    # 3000 discordant pairs: 2.0 ** 3000 overflowed the old formula
    a_right = np.array([True] * 1600 + [False] * 1400)
    result = mcnemar(a_right, ~a_right)
    assert (result["only_a_correct"], result["only_b_correct"]) == (1600, 1400)
    assert result["p_value"] == pytest.approx(2 * binom.cdf(1400, 3000, 0.5), rel=1e-9)
    assert 0.0 < result["p_value"] < 0.001


@pytest.fixture(scope="module")
def default_model():
    return load_model(DEFAULT_MODEL)


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(min_size=0, max_size=300)
    | st.sampled_from(
        ["Oil and gas talks resumed after sanctions on Damascus.", "Voters went to the polls."]
    )
)
def test_explanations_add_up_to_the_raw_score(default_model, text):
    model = default_model
    raw = model.score([text]).raw[0]
    for e in explain(model, text, labels=model.labels):
        j = model.labels.index(e.label)
        assert e.intercept + sum(c for _, _, c in e.contributions) == pytest.approx(
            raw[j], abs=1e-6
        )
        assert e.score == pytest.approx(raw[j], abs=1e-6)
        assert e.probability == pytest.approx(model.predict_proba([text])[0, j], abs=1e-9)


def test_explain_command_and_html(tmp_path):
    out = tmp_path / "why.html"
    result = runner.invoke(
        app,
        [
            "explain",
            "-m",
            str(DEFAULT_MODEL),
            "The EU froze the assets of prison officials.",
            "--html",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "sanctions: probability" in result.stdout and "intercept" in result.stdout
    assert '<span class="term"' in out.read_text()
    bad = runner.invoke(app, ["explain", "-m", str(DEFAULT_MODEL), "x", "--label", "sport"])
    assert bad.exit_code == 2


def test_compare_two_models(tmp_path):
    from topictag.model.bundle import load_bundle
    from topictag.model.pruning import prune_model
    from topictag.model.writing import save_bundle

    save_bundle(prune_model(load_bundle(DEFAULT_MODEL), max_features=300), tmp_path / "small")
    out = tmp_path / "eval"
    result = runner.invoke(
        app,
        [
            "evaluate",
            str(DEFAULT_MODEL),
            "--data",
            str(BUNDLED_CORPUS),
            "--compare",
            str(tmp_path / "small"),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "metrics.json").read_text())["comparison"]
    micro = comparison["overall"]["micro_f1"]
    assert micro["difference"] == pytest.approx(micro["a"] - micro["b"])
    assert micro["low"] <= micro["difference"] <= micro["high"]
    # pruning to 300 n-grams costs ~0.15 micro-F1: no resample in 1000 favours the small model
    assert micro["low"] > 0.05 and micro["p_value"] == 0.0
    assert comparison["overall"]["hamming_loss"]["high"] < 0  # more wrong decisions, too
    assert "news-topics (A) vs small (B)" in (out / "report.md").read_text()
