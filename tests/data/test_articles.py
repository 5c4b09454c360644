from __future__ import annotations

import numpy as np
import pytest

from topictag.data.articles import (
    article_probabilities,
    is_boilerplate,
    is_furniture,
    split_paragraphs,
)


def test_blank_lines_separate_paragraphs_and_wrapped_lines_join():
    text = "Talks resumed in Geneva\non Monday.\n\n  \nBoth sides\nmet again.\n"
    assert split_paragraphs(text) == ["Talks resumed in Geneva on Monday.", "Both sides met again."]


def test_indented_wire_copy():
    text = (
        "OIL OUTPUT FALLS\n"
        "Crude output fell in March, the ministry\n"
        "said on Tuesday.\n"
        "    It blamed maintenance at two\n"
        "fields.\n"
        "    Exports were unchanged.\n"
        " Reuter\n"
    )
    assert split_paragraphs(text) == [
        "OIL OUTPUT FALLS Crude output fell in March, the ministry said on Tuesday.",
        "It blamed maintenance at two fields.",
        "Exports were unchanged.",
    ]


def test_one_paragraph_per_line_and_windows_line_endings():
    assert split_paragraphs("First.\r\nSecond.\r\nThird.\r\n") == ["First.", "Second.", "Third."]
    assert split_paragraphs("First.\rSecond.") == ["First.", "Second."]


def test_boilerplate_is_trimmed_at_the_ends_only():
    text = (
        "By Lena Ortiz and Tomas Berg\n\nMOSCOW (Reuters) -\n\nThe talks failed.\n\n"
        "Read more on our website\n\nThe envoy left.\n\nSign up for our newsletter\n\n"
        "(c) 2026 Example News. All rights reserved."
    )
    assert split_paragraphs(text) == [
        "The talks failed.",
        "Read more on our website",
        "The envoy left.",
    ]


@pytest.mark.parametrize(
    ("paragraph", "expected"),
    [
        ("By Mara Lindqvist", True),
        ("Click here to read the full report", True),
        ("By the end of the year the talks had collapsed.", False),
        ("Reuters", True),
        ("Reuters said the talks had collapsed after a long night.", False),
    ],
)
def test_boilerplate_rule(paragraph, expected):
    assert is_boilerplate(paragraph) is expected


def test_empty_and_whitespace_articles_have_no_paragraphs():
    assert split_paragraphs("") == []
    assert split_paragraphs(" \n\t\n") == []


def test_article_probabilities():
    probs = np.array([[0.9, 0.1], [0.2, 0.6]])
    assert article_probabilities(probs, single_label=False).tolist() == [0.9, 0.6]
    assert article_probabilities(probs, single_label=True) == pytest.approx([0.55, 0.35])
    assert article_probabilities(np.zeros((0, 2)), single_label=False).tolist() == [0.0, 0.0]


def test_credit_and_share_lines_are_dropped_anywhere():
    text = (
        "MOSCOW (Reuters) -\n\nThe talks failed.\n\nPhoto: Reuters\n\n"
        "Share this article on WhatsApp\n\nThe envoy left.\n\n"
        "Image caption, The envoy at the airport\n\nRelated: Envoy recalled"
    )
    assert split_paragraphs(text) == ["The talks failed.", "The envoy left."]


@pytest.mark.parametrize(
    "line",
    ["Share:", "Accessibility links", "Skip to main content", "(AFP/Getty Images)", "Tags: Syria"],
)
def test_furniture_lines(line):
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "Share prices fell 3% on Monday after the tariff took effect.",
        "Photographs of the dead were shown at the trial.",
        "Shares in the state oil company rose.",
    ],
)
def test_story_text_that_starts_like_furniture_is_kept(line):
    assert not is_furniture(line)


def test_only_voting_paragraphs_decide_an_article():
    probs = np.array([[0.97, 0.1], [0.2, 0.6], [0.1, 0.3]])  # paragraph 1: a furniture FP
    voting = np.array([False, True, True])
    assert article_probabilities(probs, single_label=False, voting=voting).tolist() == [0.2, 0.6]
    none_votes = np.zeros(3, dtype=bool)
    assert article_probabilities(probs, single_label=False, voting=none_votes).tolist() == [
        0.97,
        0.6,
    ]
