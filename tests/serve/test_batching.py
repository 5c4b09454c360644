"""The micro-batcher: concurrent requests scored together, each answered with its own rows."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import DEFAULT_MODEL
from topictag.data.inputs import Item
from topictag.serve.batching import MicroBatcher, encode_json
from topictag.serve.registry import ModelSet
from topictag.serve.stream import Options, classify_batch

TEXTS = ["Oil prices rose.", "Talks resumed in Geneva.", "Troops shelled the town.", ""]


@pytest.fixture(scope="module")
def served():
    return ModelSet([str(DEFAULT_MODEL)]).get()


def _run(served, requests, **options):
    batches: list[tuple[int, int]] = []

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = MicroBatcher(pool, on_batch=lambda t, r: batches.append((t, r)), **options)
            batcher.start()
            outcomes = await asyncio.gather(
                *(batcher.classify(served, items, opts) for items, opts in requests),
                return_exceptions=True,
            )
            await batcher.close()
            return outcomes

    return asyncio.run(main()), batches


def _items(texts, prefix="t"):
    return [Item(id=f"{prefix}{i}", text=t) for i, t in enumerate(texts)]


def test_concurrent_requests_share_a_batch_and_get_their_own_rows(served):
    requests = [
        (_items(TEXTS[:2], "a"), Options()),
        (_items(TEXTS[2:], "b"), Options(top_k=1, scores="labels")),
        (_items([TEXTS[0] + "\n\n" + TEXTS[1]], "c"), Options(paragraphs=True, scores="none")),
    ]
    outcomes, batches = _run(served, requests, max_wait=0.05)
    assert batches == [(5, 3)]  # items, counted before article splitting
    for (items, options), outcome in zip(requests, outcomes, strict=True):
        expected, counts = classify_batch(served.model, items, options)
        assert json.loads(outcome.body) == {"model": "news-topics", "results": expected}
        assert outcome.paragraphs == counts.paragraphs and outcome.batch_requests == 3


def test_max_batch_splits_batches_between_requests(served):
    requests = [(_items(TEXTS[:3], str(k)), Options()) for k in range(3)]
    _, batches = _run(served, requests, max_batch=6, max_wait=0.05)
    assert batches == [(6, 2), (3, 1)]
    big = [(_items(TEXTS * 5), Options())]
    _, alone = _run(served, big, max_batch=6)
    assert alone == [(20, 1)]  # a request larger than max_batch is a batch of its own


def test_labels_are_counted_per_request(served):
    (outcome,), _ = _run(served, [(_items(["Oil and gas prices rose.", ""]), Options())])
    rows = json.loads(outcome.body)["results"]
    assert sum(outcome.labels.values()) == sum(len(r["labels"]) for r in rows) > 0


def test_a_failing_request_does_not_fail_the_others(served, monkeypatch):
    real = type(served.model).score

    def score(self, texts):
        if "boom" in texts:
            raise RuntimeError("boom")
        return real(self, texts)

    monkeypatch.setattr(type(served.model), "score", score)
    requests = [(_items(["boom"]), Options()), (_items(["Oil prices rose."]), Options())]
    (failed, fine), _ = _run(served, requests, max_wait=0.05)
    assert isinstance(failed, RuntimeError)
    assert json.loads(fine.body)["results"][0]["labels"]


def test_encode_json_escapes_what_utf8_cannot_hold():
    assert encode_json({"a": "é"}) == '{"a": "é"}'.encode()
    assert json.loads(encode_json({"a": "\ud800"})) == {"a": "\ud800"}
