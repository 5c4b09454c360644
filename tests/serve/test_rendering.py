"""Probabilities as JSON text, batch-wise: byte for byte what json writes."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from topictag.serve.rendering import JSONText, probabilities_json, render_jsonl

dumps = json.JSONEncoder(ensure_ascii=False).encode


def reference(proba: np.ndarray, names: list[str]) -> list[str]:
    return [dumps(dict(zip(names, row, strict=True))) for row in np.round(proba, 6).tolist()]


def test_every_six_decimal_number_is_written_as_json_writes_it():
    proba = (np.arange(10**6 + 1) / 10**6)[:, None]
    assert probabilities_json(proba, ["p"]) == reference(proba, ["p"])


NAMES = st.lists(st.text(max_size=12), min_size=1, max_size=20, unique=True)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), names=NAMES)
def test_arbitrary_probabilities_and_names(data, names):
    values = st.one_of(
        st.floats(0.0, 1.0),
        st.sampled_from([0.0, 1.0, 5e-7, 4.9999e-7, 9.95e-5, 1e-4, 0.5, 0.9999995, 0.99999949]),
    )
    proba = data.draw(
        arrays(np.float64, st.tuples(st.integers(0, 6), st.just(len(names))), elements=values)
    )
    assert probabilities_json(proba, names) == reference(proba, names)


def test_rows_with_rendered_scores_are_written_as_plain_rows():
    names = ["trade", 'oil "crude"', "Дамаск"]
    proba = np.array([[0.25, 1e-6, 0.999], [0.0, 1.0, 0.1234567]])
    texts = probabilities_json(proba, names)
    plain, rendered = [], []
    for i, text in enumerate(texts):
        row = {"id": f"r{i}", "source": {"scores": "x"}, "labels": ["trade"]}
        values = np.round(proba[i], 6).tolist()
        plain.append({**row, "scores": dict(zip(names, values, strict=True)), "known_terms": 3})
        rendered.append({**row, "scores": JSONText(text), "known_terms": 3})
    assert render_jsonl(rendered) == render_jsonl(plain)
    assert render_jsonl(rendered) == "".join(dumps(row) + "\n" for row in plain)
