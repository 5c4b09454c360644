"""The numpy serving path against the scikit-learn pipeline it was extracted from."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from topictag.data.corpus import read_corpus
from topictag.model.inference import Model, load_model
from topictag.train.bridge import to_sklearn


def _compare(model: Model, pipeline, texts: list[str]) -> None:
    ours = model.predict_proba(texts)
    theirs = pipeline.predict_proba(texts)
    assert np.abs(ours - theirs).max() < 1e-6
    assert model.score(texts).raw == __import__("pytest").approx(
        pipeline.decision_function(texts), abs=1e-9
    )
    expected = pipeline.predict(texts)
    got = [[model.labels.index(x) for x in labels] for labels in model.predict(texts)]
    assert [sorted(g) for g in got] == [sorted(np.flatnonzero(row).tolist()) for row in expected]


def test_every_bundled_paragraph_matches_the_pipeline(trained):
    model = load_model(trained.path)
    texts = [r.text for r in read_corpus(BUNDLED_CORPUS)]
    _compare(model, trained.pipeline, texts)


TEXT = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.characters(categories=("L", "N", "P", "So", "Zs")), max_size=400),
    st.sampled_from(
        ["", " ", "\n\t  ", "🙂🙂 syria 🙂", "Дамаск Damascus دمشق 大马士革", "x" * 50_000]
    ),
    st.lists(
        st.sampled_from(["talks", "oil", "gas", "Idlib", "sanctions", "vote", "the", "ceasefire"]),
        max_size=60,
    ).map(" ".join),
)


@pytest.fixture(scope="module")
def served(trained):
    """The trained bundle loaded once, for every generated example."""
    return load_model(trained.path)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(TEXT, min_size=1, max_size=8))
def test_generated_text_matches_the_pipeline(served, trained, texts):
    _compare(served, trained.pipeline, texts)


def test_long_lines_match(trained):
    words = ["sanctions", "talks", "pipeline", "ceasefire", "refugees", "ballot"]
    rng = np.random.default_rng(0)
    text = " ".join(rng.choice(words, 9000))  # ~50,000 characters
    assert len(text) > 50_000
    _compare(load_model(trained.path), trained.pipeline, [text])


def test_to_sklearn_rebuilds_an_equivalent_pipeline(trained):
    model = load_model(trained.path)
    rebuilt = to_sklearn(model)
    texts = [r.text for r in read_corpus(BUNDLED_CORPUS)[:200]]
    assert np.abs(rebuilt.predict_proba(texts) - model.predict_proba(texts)).max() < 1e-12
    assert (rebuilt.predict(texts) == trained.pipeline.predict(texts)).all()


def test_unknown_text_is_flagged_and_gets_no_label():
    model = load_model(DEFAULT_MODEL)
    scores = model.score(["qwzx vbnm", "", "Die Verhandlungen wurden vertagt."])
    assert scores.known_terms.tolist()[:2] == [0, 0]
    assert model.predict(["qwzx vbnm", ""]) == [[], []]


def test_decide_with_overrides_and_top_k():
    model = load_model(DEFAULT_MODEL)
    proba = model.predict_proba(["Sanctions on oil exports were tightened after the talks."])
    everything = model.decide(proba, thresholds=0.0)
    assert len(everything[0]) == len(model.labels)
    assert proba[0][model.labels.index(everything[0][0])] == proba.max()  # most probable first
    assert model.decide(proba, thresholds=0.0, top_k=2)[0] == everything[0][:2]
    nothing = model.decide(proba, thresholds=1.0)
    assert nothing == [[]]
    only = model.decide(
        proba, thresholds={label: 1.0 for label in model.labels[1:]} | {model.labels[0]: 0.0}
    )
    assert only == [[model.labels[0]]]


def test_classify_path_imports_neither_sklearn_nor_scipy_nor_joblib():
    code = (
        "import sys\n"
        "from topictag.cli import main\n"
        "sys.argv = ['topictag', 'classify', '--model', sys.argv[1], 'Talks on Abkhazia.']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'joblib')]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(DEFAULT_MODEL)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert '"labels"' in out
    assert "HEAVY []" in out


def test_one_string_is_refused_not_classified_letter_by_letter():
    model = load_model(DEFAULT_MODEL)
    for method in (model.predict, model.predict_proba, model.score):
        with pytest.raises(TypeError, match=r"pass \[text\] to classify a single text"):
            method("Oil prices rose.")


def test_predict_takes_top_k_and_thresholds():
    model = load_model(DEFAULT_MODEL)
    text = ["Brent crude rose 2 percent after the cartel agreed deeper output cuts."]
    everything = model.predict(text, threshold=0.0)
    assert len(everything[0]) == len(model.labels)
    assert model.predict(text, threshold=0.0, top_k=2) == [everything[0][:2]]
    assert model.predict(text, threshold=1.0) == [[]]
    lowered = model.predict(text, threshold={"diplomacy": 0.0})
    assert "diplomacy" in lowered[0] and set(model.predict(text)[0]) <= set(lowered[0])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"threshold": {"weather": 0.5}}, r"unknown label 'weather' .*the model's labels: arm"),
        ({"threshold": 1.5}, "threshold must be a probability between 0 and 1"),
        ({"threshold": {"energy": -0.1}}, "threshold of 'energy' must be a probability"),
        ({"top_k": 0}, "top_k must be at least 1"),
    ],
)
def test_bad_decision_options_name_what_is_wrong(options, message):
    with pytest.raises(ValueError, match=message):
        load_model(DEFAULT_MODEL).predict(["Oil prices rose."], **options)
