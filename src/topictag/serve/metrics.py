"""The service's Prometheus metrics, through prometheus_client, every name prefixed ``topictag_``.

With several worker processes, prometheus_client's multiprocess mode aggregates them: each
process writes its values to files in one folder, and ``/metrics`` in any process reads them
all. That mode is chosen when prometheus_client is first imported, from the environment
variable ``PROMETHEUS_MULTIPROC_DIR``; :func:`topictag.serve.server.run_http` sets it before
it imports this module.
"""

from __future__ import annotations

import os
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from topictag._version import __version__
from topictag.serve.registry import ReloadEvent, Served

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class Metrics:
    """The counters, histograms and gauges of one service process.

    Parameters
    ----------
    multiprocess : bool
        Aggregate over every process that writes to ``$PROMETHEUS_MULTIPROC_DIR`` when
        rendering (the variable must have been set before prometheus_client was imported).
    """

    def __init__(self, *, multiprocess: bool = False):
        self.multiprocess = multiprocess and bool(os.environ.get(MULTIPROCESS_ENV))
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "topictag_requests",
            "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "status"],
            registry=reg,
        )
        self.latency = Histogram(
            "topictag_request_duration_seconds",
            "Time from receiving a request to sending its answer, by endpoint.",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS,
            registry=reg,
        )
        self.batch_size = Histogram(
            "topictag_batch_size",
            "Texts per scoring batch (requests coalesced by the micro-batcher).",
            buckets=_BATCH_BUCKETS,
            registry=reg,
        )
        self.batch_requests = Histogram(
            "topictag_batch_requests",
            "Requests coalesced into one scoring batch.",
            buckets=_BATCH_BUCKETS[:9],
            registry=reg,
        )
        self.paragraphs = Counter(
            "topictag_paragraphs",
            "Paragraphs classified, by model.",
            ["model"],
            registry=reg,
        )
        self.labels = Counter(
            "topictag_predicted_labels",
            "Labels predicted for paragraphs, by model and label.",
            ["model", "label"],
            registry=reg,
        )
        self.load_seconds = Gauge(
            "topictag_model_load_seconds",
            "Seconds the served model took to load and verify.",
            ["model"],
            multiprocess_mode="mostrecent",
            registry=reg,
        )
        self.loaded_at = Gauge(
            "topictag_model_loaded_timestamp_seconds",
            "Unix time when the served model was loaded.",
            ["model"],
            multiprocess_mode="max",
            registry=reg,
        )
        self.info = Gauge(
            "topictag_model_info",
            "1 for the bundle each model name answers with (0 for one it answered with before).",
            ["model", "weights_sha256", "format_version", "topictag_version"],
            multiprocess_mode="max",
            registry=reg,
        )
        self.reloads = Counter(
            "topictag_model_reloads",
            "Hot reloads by model and outcome (reloaded, refused).",
            ["model", "outcome"],
            registry=reg,
        )
        self.build = Gauge(
            "topictag_build_info",
            "The topictag version serving.",
            ["version"],
            multiprocess_mode="max",
            registry=reg,
        )
        self.build.labels(__version__).set(1)
        self._info_labels: dict[str, tuple[str, str, str]] = {}

    def model_loaded(self, served: Served) -> None:
        """Record a model that now answers under its name."""
        manifest = served.model.manifest
        labels = (
            str((manifest.get("weights") or {}).get("sha256", "")),
            str(manifest.get("format_version", "")),
            str(manifest.get("topictag_version", "")),
        )
        previous = self._info_labels.get(served.name)
        if previous is not None and previous != labels:
            self.info.labels(served.name, *previous).set(0)
        self.info.labels(served.name, *labels).set(1)
        self._info_labels[served.name] = labels
        self.load_seconds.labels(served.name).set(served.load_seconds)
        self.loaded_at.labels(served.name).set(served.loaded_at)

    def reload_seen(self, event: ReloadEvent) -> None:
        """Count one hot-reload outcome."""
        self.reloads.labels(event.name, event.outcome).inc()

    def request_done(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def batch_done(self, texts: int, requests: int) -> None:
        """Record the size of one scoring batch."""
        self.batch_size.observe(texts)
        self.batch_requests.observe(requests)

    def classified(self, model: str, paragraphs: int, labels: Tally[str]) -> None:
        """Count the paragraphs one request classified and the labels they got."""
        self.paragraphs.labels(model).inc(paragraphs)
        for label, count in labels.items():
            self.labels.labels(model, label).inc(count)

    def render(self) -> bytes:
        """Return every metric in Prometheus' text format (aggregated over processes)."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
