"""Drift statistics of a running service, in the Prometheus text format (for ``/metrics``).

:func:`drift_metrics` renders what a :class:`~topictag.model.drift.DriftMonitor` has seen
(``count_terms=False``: numbers only, constant memory) as gauges, the same numbers as
``topictag drift``, for a service that feeds its classified batches to a monitor. ``serve
--http`` does not feed one yet: with several worker processes the statistics would have to be
summed across them before the drift is computed, which prometheus_client's multiprocess mode
cannot do for a derived value.
"""

from __future__ import annotations

from typing import Any

from topictag.model.drift import DriftMonitor
from topictag.model.shift import compare


def drift_metrics(monitor: DriftMonitor, *, prefix: str = "topictag") -> str:
    """Render the drift of everything the monitor has seen as Prometheus gauges."""
    report = compare(
        monitor.statistics(), monitor.model.manifest.get("drift"), monitor.model.labels
    )
    lines: list[str] = []

    def gauge(name: str, help: str, value: Any, labels: str = "") -> None:
        if value is None:
            return
        if not any(line.startswith(f"# HELP {prefix}_{name} ") for line in lines):
            lines.append(f"# HELP {prefix}_{name} {help}")
            lines.append(f"# TYPE {prefix}_{name} gauge")
        lines.append(f"{prefix}_{name}{labels} {float(value):.6g}")

    gauge("drift", "Overall drift against training (0: none beyond chance).", report["drift"])
    gauge("drift_paragraphs", "Paragraphs the drift statistics cover.", report["rows"])
    gauge("known_token_share", "Share of n-grams the model knows.", report["known_share"]["new"])
    gauge(
        "known_token_share_training",
        "Known-token share of the training reference.",
        report["known_share"].get("reference"),
    )
    gauge("confidence_mean", "Mean highest probability.", report["confidence"]["new"])
    for part, value in report["components"].items():
        gauge("drift_component", "Drift of one statistic.", value, f'{{statistic="{part}"}}')
    for row in report["labels"]:
        name = row["label"].replace("\\", "\\\\").replace('"', '\\"')
        gauge("label_rate", "Predicted rate of a label.", row["rate"], f'{{label="{name}"}}')
    return "\n".join(lines) + "\n"
