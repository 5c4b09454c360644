"""The suggest, label and drift commands through typer's CliRunner."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

from tests.conftest import write_jsonl
from topictag.cli.application import app
from topictag.model.inference import load_model
from topictag.train.saving import save_model

runner = CliRunner()
FRENCH = [
    "Le gouvernement a annoncé mardi une hausse des impôts pour les grandes entreprises.",
    "Les négociations entre les deux pays ont repris jeudi à Genève sans accord.",
] * 40
HOME = [
    "Troops shelled the town and fighting spread to the hills near the border.",
    "Envoys met to revive talks between the two governments on Friday.",
    "Oil prices rose as the pipeline stayed shut and gas supplies fell.",
] * 20


def rows(texts: list[str]) -> list[dict]:
    return [{"id": str(i), "text": t} for i, t in enumerate(texts)]


def test_drift_json_has_the_number_at_the_top(tiny_model, tmp_path):
    new = write_jsonl(tmp_path / "new.jsonl", rows(FRENCH))
    result = runner.invoke(
        app, ["drift", "-m", str(tiny_model), "-i", str(new), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert isinstance(report["drift"], float) and report["drift"] > 0.25
    assert report["components"]["known_share"] > 0.25
    assert {"known_share", "confidence", "labels", "new_terms", "missing"} <= set(report)


def test_fail_on_exits_3_above_and_0_below(tiny_model, tmp_path):
    new = write_jsonl(tmp_path / "new.jsonl", rows(FRENCH))
    above = runner.invoke(app, ["drift", "-m", str(tiny_model), "-i", str(new), "--fail-on", "0.2"])
    assert above.exit_code == 3, above.output
    assert above.stdout.startswith("drift: ") and "exceeds --fail-on 0.2" in above.stderr
    below = runner.invoke(app, ["drift", "-m", str(tiny_model), "-i", str(new), "--fail-on", "1e6"])
    assert below.exit_code == 0, below.output


def test_reference_data_and_html(tiny_model, tmp_path):
    home = write_jsonl(tmp_path / "home.jsonl", rows(HOME))
    french = write_jsonl(tmp_path / "fr.jsonl", rows(FRENCH))
    same = runner.invoke(
        app,
        [
            "drift",
            "-m",
            str(tiny_model),
            "-i",
            str(home),
            "--reference",
            str(home),
            "--format",
            "json",
        ],
    )
    assert json.loads(same.stdout)["drift"] == 0.0
    assert json.loads(same.stdout)["reference"]["source"] == "reference data"
    out = tmp_path / "drift.html"
    page = runner.invoke(
        app, ["drift", "-m", str(tiny_model), "-i", str(french), "--format", "html", "-o", str(out)]
    )
    assert page.exit_code == 0, page.output
    text = out.read_text()
    assert text.startswith("<!doctype html>") and text.count("<svg") == 2 and "gouvernement" in text


def test_bundle_without_statistics(tiny_model, tmp_path):
    data = load_model(tiny_model).data
    bare = save_model(
        replace(data, manifest={k: v for k, v in data.manifest.items() if k != "drift"}),
        tmp_path / "bare",
    )
    new = write_jsonl(tmp_path / "new.jsonl", rows(FRENCH))
    shown = runner.invoke(app, ["drift", "-m", str(bare), "-i", str(new)])
    assert shown.exit_code == 0 and "drift: unknown" in shown.stdout
    assert "cannot compute: the model carries no training statistics" in shown.stdout
    failing = runner.invoke(app, ["drift", "-m", str(bare), "-i", str(new), "--fail-on", "0.1"])
    assert failing.exit_code == 1
    assert failing.stderr.startswith("topictag: error: --fail-on: cannot compute drift")
    bad = runner.invoke(app, ["drift", "-m", str(bare), "-i", str(new), "--format", "xml"])
    assert bad.exit_code == 2


def test_classify_warns_when_the_known_share_falls_far_below_training(tiny_model):
    french = "\n".join(FRENCH) + "\n"
    warned = runner.invoke(
        app, ["classify", "-m", str(tiny_model), "-i", "-", "--format", "jsonl"], input=french
    )
    assert warned.exit_code == 0, warned.output
    assert "n-grams against" in warned.stderr and "topictag drift" in warned.stderr
    home = "\n".join(HOME) + "\n"
    quiet = runner.invoke(
        app, ["classify", "-m", str(tiny_model), "-i", "-", "--format", "jsonl"], input=home
    )
    assert quiet.exit_code == 0 and "n-grams against" not in quiet.stderr


def test_label_refuses_without_labels_or_model(tmp_path):
    pool = write_jsonl(tmp_path / "pool.jsonl", rows(HOME[:3]))
    result = runner.invoke(app, ["label", "-i", str(pool), "-o", str(tmp_path / "out.jsonl")])
    assert result.exit_code == 2 and "give --labels FILE or --model M" in result.output


def test_label_without_the_http_extra_says_so_in_one_line(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    pool = write_jsonl(tmp_path / "pool.jsonl", rows(HOME[:3]))
    codebook = tmp_path / "codebook.tsv"
    codebook.write_text("war\ntalks\n")
    result = runner.invoke(
        app, ["label", "-i", str(pool), "-o", str(tmp_path / "o.jsonl"), "--labels", str(codebook)]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "topictag: error: the labeling page needs the http extra: pip install 'topictag[http]'"
    )
    assert not (tmp_path / "o.jsonl").exists()
