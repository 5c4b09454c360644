"""The array lookup of ASCII words: the same columns as the dict, for any vocabulary and text."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from topictag.model.features import View, build_analyzer, term_index
from topictag.model.lookup import WordTable

WORDS = st.text(alphabet="abcXYZ_019", min_size=1, max_size=30)  # around 8, 16, 24 bytes too
ASCII = st.lists(
    st.one_of(WORDS, st.sampled_from([" ", ", ", "\n", "\x00", "\x7f", "-", "é", "a" * 25])),
    max_size=40,
).map("".join)


def reference(vocabulary: list[str], texts: list[str], lower: bool) -> list[Counter[int]]:
    view = View("word", (1, 1), lowercase=lower)
    analyze, index = build_analyzer(view), term_index(view, vocabulary)
    return [Counter(index[t] for t in analyze(text) if t in index) for text in texts]


@settings(max_examples=200, deadline=None)
@given(
    vocabulary=st.lists(st.one_of(WORDS, st.sampled_from(["", "é", "a b", "x"])), unique=True),
    texts=st.lists(ASCII, max_size=6),
    lower=st.booleans(),
)
def test_the_table_finds_what_the_dict_finds(vocabulary, texts, lower):
    table = WordTable(vocabulary, lower=lower)
    assert table.usable
    texts = [t for t in texts if t.isascii()]
    columns, docs = table.lookup(texts)
    got = [
        Counter(
            c for c, d in zip(columns.tolist(), docs.tolist(), strict=True) if d == i and c >= 0
        )
        for i in range(len(texts))
    ]
    assert got == reference(vocabulary, texts, lower)


def test_words_longer_than_the_packed_width_are_found_too():
    long = "x" * 24 + "_longer"
    table = WordTable(["oil", long, "y" * 24], lower=True)
    columns, docs = table.lookup([f"Oil and {long.upper()} and {'Y' * 24}", "", "oil"])
    assert sorted(zip(docs.tolist(), columns.tolist(), strict=True)) == [
        (0, -1),
        (0, -1),
        (0, 0),
        (0, 1),
        (0, 2),
        (2, 0),
    ]


def test_a_vocabulary_with_twins_or_line_breaks_is_left_to_the_dict():
    assert not WordTable(["oil", "gas", "oil"], lower=True).usable
    assert not WordTable(["oil", "gas\nx"], lower=True).usable
    assert WordTable([], lower=True).usable


@settings(max_examples=200, deadline=None)
@given(vocabulary=st.lists(WORDS, unique=True), texts=st.lists(ASCII, max_size=6))
def test_the_table_yields_every_word_the_analyzer_yields(vocabulary, texts):
    # known or not: a paragraph's n-gram count (its known share, drift) must not change
    texts = [t for t in texts if t.isascii()]
    _, docs = WordTable(vocabulary, lower=True).lookup(texts)
    analyze = build_analyzer(View("word", (1, 1)))
    assert Counter(docs.tolist()) == Counter(
        {i: len(analyze(text)) for i, text in enumerate(texts) if analyze(text)}
    )
