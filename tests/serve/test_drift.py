from __future__ import annotations

import re

from topictag.model.drift import DriftMonitor
from topictag.model.inference import load_model
from topictag.serve.drift import drift_metrics


def test_metrics_are_prometheus_gauges(tiny_model):
    model = load_model(tiny_model)
    monitor = DriftMonitor(model, count_terms=False)
    monitor.update(["Les prix du pétrole ont reculé jeudi.", "Troops shelled the town."])
    text = drift_metrics(monitor)
    assert text.endswith("\n")
    samples = [line for line in text.splitlines() if not line.startswith("#")]
    assert all(re.fullmatch(r'topictag_[a-z_]+(\{[a-z]+="[^"]*"\})? \S+', s) for s in samples)
    values = dict(line.rsplit(" ", 1) for line in samples)
    assert float(values["topictag_drift"]) >= 0 and values["topictag_drift_paragraphs"] == "2"
    assert 'topictag_label_rate{label="war"}' in values
    assert text.count("# TYPE topictag_label_rate gauge") == 1
