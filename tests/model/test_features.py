from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from topictag.model.features import View, build_analyzer, term_index

TEXTS = st.one_of(
    st.text(
        alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Z", "S", "Cc")),
        max_size=300,
    ),
    st.text(alphabet=st.characters(max_codepoint=127), max_size=300),  # the ASCII fast path
    st.lists(st.sampled_from(["Oil", "a", "_", "I", "x_1", "U.S.", "2", "-", "\x1f", "\t"])).map(
        "".join
    ),
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


def test_term_index_leaves_out_what_the_analyzer_never_produces():
    view = View("word", (1, 1))
    assert term_index(view, ["oil", "a", "gas", "b"]) == {"oil": 0, "gas": 2}
    assert build_analyzer(view)("A barrel of Oil, a day.") == ["barrel", "of", "oil", "day"]
    assert term_index(View("word", (1, 1), token_pattern=r"\w+"), ["a"]) == {"a": 0}
    assert term_index(View("char_wb", (1, 2)), ["a", " a"]) == {"a": 0, " a": 1}


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
