"""Micro-batching: concurrent requests are scored together, off the event loop.

Requests queue on the event loop; one batcher task takes every request waiting (up to
``max_batch`` texts, waiting at most ``max_wait`` seconds for more once the first has come) and
hands them to a scoring thread as one batch. Each model's texts in a batch go through one
``Model.score`` call; the rows are then split back to their requests, each with its own
options, and rendered to its JSON answer in the same thread. While a batch is scored the next
requests queue up, so the batch size grows with the load by itself (as in BentoML's and
MLServer's adaptive batching).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from topictag.data.inputs import Item
from topictag.serve.registry import Served
from topictag.serve.stream import Options, batch_rows, batch_texts


@dataclass(frozen=True)
class Outcome:
    """One request's answer, and what the metrics and access log want to know about it."""

    body: bytes  # the JSON answer: {"model": name, "results": [...]}
    paragraphs: int  # paragraphs classified for this request
    labels: Counter[str]  # labels predicted for its paragraphs
    batch_texts: int  # texts in the scoring batch this request was part of
    batch_requests: int  # requests in that batch


@dataclass
class _Job:
    served: Served
    items: list[Item]
    options: Options
    future: asyncio.Future[Outcome]


class MicroBatcher:
    """Coalesce concurrent classify requests into scoring batches run in ``executor``.

    Parameters
    ----------
    executor : Executor
        Where batches are scored (a one-thread pool: batches run one after another).
    max_batch : int
        At most this many texts per batch; a request with more is a batch of its own.
    max_wait : float
        Seconds to wait for more requests after the first one of a batch (0: take only those
        already waiting).
    on_batch : callable, optional
        Called on the event loop with (texts, requests) for each batch scored.
    """

    def __init__(
        self,
        executor: Executor,
        *,
        max_batch: int = 256,
        max_wait: float = 0.0,
        on_batch: Callable[[int, int], None] | None = None,
    ):
        self.executor = executor
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._held: _Job | None = None  # taken from the queue but left for the next batch

    def start(self) -> None:
        """Start the batcher task on the running event loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Score every request already queued, then stop."""
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task
            self._task = None

    async def classify(self, served: Served, items: list[Item], options: Options) -> Outcome:
        """Queue one request's items and wait for its answer.

        Raises
        ------
        Exception
            Whatever scoring raised for this request (an unexpected failure).
        """
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(served, items, options, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = self._held if self._held is not None else await self._queue.get()
            self._held = None
            if first is None:
                break
            jobs, size = [first], len(first.items)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                try:
                    job = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    try:
                        job = await asyncio.wait_for(self._queue.get(), remaining)
                    except TimeoutError:
                        break
                if job is None:
                    stopping = True
                    break
                if size + len(job.items) > self.max_batch:
                    self._held = job
                    break
                jobs.append(job)
                size += len(job.items)
            try:
                outcomes = await loop.run_in_executor(self.executor, score_jobs, jobs)
            except BaseException as error:  # the executor itself failed: every job fails
                outcomes = [error] * len(jobs)
            if self.on_batch is not None:
                self.on_batch(size, len(jobs))
            for job, outcome in zip(jobs, outcomes, strict=True):
                if job.future.done():  # the client went away
                    continue
                if isinstance(outcome, BaseException):
                    job.future.set_exception(outcome)
                else:
                    job.future.set_result(outcome)
        while not self._queue.empty():  # queued after the stop mark: answered all the same
            late = self._queue.get_nowait()
            if late is not None:
                await self._score_alone(late)

    async def _score_alone(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        (outcome,) = await loop.run_in_executor(self.executor, score_jobs, [job])
        if not job.future.done():
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)


def score_jobs(jobs: list[_Job]) -> list[Outcome | BaseException]:
    """Score a batch of requests (one ``Model.score`` call per model) and render each answer."""
    outcomes: list[Outcome | BaseException] = [RuntimeError("not scored")] * len(jobs)
    groups: dict[int, list[int]] = {}
    for index, job in enumerate(jobs):
        groups.setdefault(id(job.served.model), []).append(index)
    total = sum(len(job.items) for job in jobs)
    for indices in groups.values():
        model = jobs[indices[0]].served.model
        try:
            prepared = [
                batch_texts(jobs[i].items, paragraphs=jobs[i].options.paragraphs) for i in indices
            ]
            texts = [text for job_texts, _ in prepared for text in job_texts]
            scores = model.score(texts)
        except Exception as error:
            for i in indices:  # one bad request must not fail the others batched with it
                outcomes[i] = error if len(indices) == 1 else score_jobs([jobs[i]])[0]
            continue
        start = 0
        for i, (job_texts, pieces) in zip(indices, prepared, strict=True):
            job = jobs[i]
            span = slice(start, start + len(job_texts))
            start = span.stop
            try:
                part = scores.rows(span)
                rows, counts = batch_rows(model, job.items, job_texts, pieces, part, job.options)
                labels: Counter[str] = Counter(
                    label for row in rows if "article" not in row for label in row["labels"]
                )
                body = encode_json({"model": job.served.name, "results": rows})
                outcomes[i] = Outcome(body, counts.paragraphs, labels, total, len(jobs))
            except Exception as error:
                outcomes[i] = error
    return outcomes


def encode_json(obj: Any) -> bytes:
    """Encode an answer as UTF-8 JSON (escaping what UTF-8 cannot hold, such as lone surrogates)."""
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, ensure_ascii=True, allow_nan=False).encode("ascii")
