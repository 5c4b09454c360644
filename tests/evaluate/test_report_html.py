from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL, ROOT

SCRIPT = """
import json, sys
import matplotlib
matplotlib.use("agg")
matplotlib.rcParams["font.size"] = 13.0
before = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
from topictag.data.corpus import read_corpus
from topictag.evaluate.predictions import intervals_of, metrics_of, predict_records
from topictag.evaluate.report_html import render_report
from topictag.model.inference import load_model

model = load_model(sys.argv[1])
records = [r for r in read_corpus([sys.argv[2]]) if r.split == "test"][:60]
predictions = predict_records(model, records)
page = render_report(model, "m", predictions, metrics_of(model, predictions),
                     intervals_of(predictions))
after = {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}
print(json.dumps({
    "backend": matplotlib.get_backend(),
    "rc_unchanged": before == after,
    "pyplot": "matplotlib.pyplot" in sys.modules,
    "svgs": page.count("<svg"),
}))
"""


def test_render_report_leaves_matplotlib_as_it_found_it():
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(DEFAULT_MODEL), str(BUNDLED_CORPUS)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    state = json.loads(done.stdout)
    assert state["backend"] == "agg"
    assert state["rc_unchanged"] is True
    assert state["pyplot"] is False
    assert state["svgs"] > 13  # a curve per label, the reliability plot, the confusion view
