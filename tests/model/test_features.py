from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from topictag.model.features import View, build_analyzer

TEXTS = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Z", "S", "Cc")),
    max_size=300,
)
VIEWS = [
    View("word", (1, 1)),
    View("word", (1, 2)),
    View("word", (2, 3)),
    View("char_wb", (2, 5)),
    View("word", (1, 2), lowercase=False),
]


@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_analyzers_match_scikit_learn(text):
    for view in VIEWS:
        reference = TfidfVectorizer(
            analyzer=view.analyzer,
            ngram_range=view.ngram_range,
            lowercase=view.lowercase,
            token_pattern=view.token_pattern if view.analyzer == "word" else None,
        ).build_analyzer()
        assert Counter(build_analyzer(view)(text)) == Counter(reference(text)), view


def test_word_bigrams_in_order():
    assert build_analyzer(View("word", (1, 2)))("Gas, oil and gas") == [
        "gas",
        "oil",
        "and",
        "gas",
        "gas oil",
        "oil and",
        "and gas",
    ]


def test_view_round_trips_through_json():
    view = View("char_wb", (2, 4), lowercase=False, sublinear_tf=False)
    assert View.from_dict(view.to_dict()) == view
