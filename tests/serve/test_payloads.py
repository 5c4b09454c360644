"""Checking HTTP request bodies whole, before anything is classified."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_MODEL
from topictag.serve.payloads import (
    Limits,
    RequestError,
    classify_request,
    explain_request,
    parse_body,
)
from topictag.serve.registry import ModelSet


@pytest.fixture(scope="module")
def models() -> ModelSet:
    return ModelSet([str(DEFAULT_MODEL)])


LIMITS = Limits(max_body_bytes=1000, max_texts=3, max_text_bytes=40)


def test_parse_body_takes_one_object():
    assert parse_body(b'{"texts": ["a"]}') == {"texts": ["a"]}
    for body, message in [
        (b"", "malformed JSON"),
        (b"[]", "must be a JSON object, got list"),
        (b'{"a": Infinity}', "Infinity is not a JSON value"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "malformed JSON"),  # too many digits to convert
        (b"\xc3\x28", "not UTF-8"),
    ]:
        with pytest.raises(RequestError, match=message) as caught:
            parse_body(body)
        assert caught.value.status == 400


def test_texts_become_numbered_items(models):
    checked = classify_request({"texts": ["a", "b"]}, models, LIMITS)
    assert [(i.id, i.text) for i in checked.items] == [("1", "a"), ("2", "b")]
    assert checked.served.name == "news-topics" and checked.options.scores == "all"


def test_items_carry_fields_and_ids_like_classify(models):
    body = {"items": [{"id": 9, "text": "a", "src": "w", "labels": ["x"]}, {"text": "b"}]}
    first, second = classify_request(body, models, LIMITS).items
    assert (first.id, first.fields) == ("9", {"src": "w", "gold_labels": ["x"]})
    assert second.id == "2"


def test_options_and_the_service_default_for_scores(models):
    body = {"texts": ["a"], "top_k": 2, "threshold": {"energy": 0.1}, "paragraphs": True}
    options = classify_request(body, models, LIMITS, scores="none").options
    assert (options.top_k, options.thresholds, options.paragraphs) == (2, {"energy": 0.1}, True)
    assert options.scores == "none"
    assert classify_request({"texts": [], "threshold": 1}, models, LIMITS).options.thresholds == 1.0


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"texts": ["a"] * 4}, 413, "4 texts in one request; the limit is 3"),
        ({"items": [{"text": "é" * 21}]}, 413, r"items\[0\] is over the limit of 40 bytes"),
        ({"texts": ["a"], "threshold": float("nan")}, 400, "between 0 and 1"),
        ({"texts": ["a"], "threshold": True}, 400, "between 0 and 1"),
        ({"texts": ["a"], "threshold": {"energy": -0.1}}, 400, "'threshold' for 'energy'"),
        ({"texts": ["a"], "top_k": 1.5}, 400, "'top_k'"),
        ({"items": ["a"]}, 400, r"items\[0\] must be an object"),
        ({"items": [{"text": ["a"]}]}, 400, r"items\[0\]: 'text' must be a string"),
    ],
)
def test_bad_classify_bodies(models, body, status, message):
    with pytest.raises(RequestError, match=message) as caught:
        classify_request(body, models, LIMITS)
    assert caught.value.status == status


def test_a_text_at_the_limit_passes():
    models = ModelSet([str(DEFAULT_MODEL)])
    (item,) = classify_request({"texts": ["é" * 20]}, models, LIMITS).items  # 40 bytes
    assert len(item.text.encode()) == 40


def test_explain_bodies(models):
    served, text, labels = explain_request({"text": "Oil", "labels": ["energy"]}, models, LIMITS)
    assert (served.name, text, labels) == ("news-topics", "Oil", ["energy"])
    with pytest.raises(RequestError, match="'labels' must be a list of strings"):
        explain_request({"text": "Oil", "labels": "energy"}, models, LIMITS)
    with pytest.raises(RequestError, match="unknown field 'texts'"):
        explain_request({"texts": ["Oil"]}, models, LIMITS)
    with pytest.raises(RequestError, match="'text' is over the limit") as caught:
        explain_request({"text": "x" * 41}, models, LIMITS)
    assert caught.value.status == 413
