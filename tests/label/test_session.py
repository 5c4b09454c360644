from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests.conftest import TINY, tiny_rows, write_jsonl
from topictag.data.inputs import read_items
from topictag.errors import DataError, ModelError
from topictag.label.page import create_app
from topictag.label.session import Codebook, LabelSession, read_codebook
from topictag.label.suggest import suggest
from topictag.model.inference import load_model

CODEBOOK = Codebook(["war", "talks", "energy"], {"war": "Armed fighting"})


def pool_file(tmp_path, count=None):
    rows = [{k: v for k, v in r.items() if k != "labels"} for r in tiny_rows()][:count]
    return write_jsonl(tmp_path / "pool.jsonl", rows)


def test_codebook(make_file):
    book = read_codebook(
        make_file(
            "c.tsv", "label\tdefinition\n# comment\nwar\tArmed fighting\n\ntalks\nwar\tagain\n"
        )
    )
    assert book.labels == ["war", "talks"] and book.definitions == {"war": "Armed fighting"}
    with pytest.raises(DataError, match="codebook lists no labels"):
        read_codebook(make_file("e.tsv", "# nothing\n"))


def test_refuses_without_labels_or_model(tmp_path):
    with pytest.raises(DataError, match="give --labels FILE or --model M"):
        LabelSession(pool_file(tmp_path), tmp_path / "out.jsonl")


def test_pool_order_without_model_and_stale_pages(tmp_path):
    session = LabelSession(pool_file(tmp_path), tmp_path / "out.jsonl", codebook=CODEBOOK)
    state = session.state()
    assert state["item"]["id"] == "p1" and state["item"]["scores"] is None
    assert state["progress"] == {"decided": 0, "accepted": 0, "skipped": 0, "pool": len(TINY)}
    with pytest.raises(DataError, match="not the one shown"):
        session.accept("p2", ["war"])
    with pytest.raises(DataError, match="unknown label 'sport'"):
        session.accept("p1", ["sport"])
    state = session.accept("p1", ["energy", "war"])
    assert state["item"]["id"] == "p2" and state["counts"] == {"war": 1, "talks": 0, "energy": 1}
    row = json.loads((tmp_path / "out.jsonl").read_text())
    assert row == {
        "id": "p1",
        "text": TINY[0][1],
        "labels": ["war", "energy"],
        "article_id": "a1",
        "split": "train",
    }


def test_model_order_prechecks_and_resumes(tmp_path, tiny_model):
    model = load_model(tiny_model)
    pool = pool_file(tmp_path)
    session = LabelSession(pool, tmp_path / "out.jsonl", model=model)
    first = suggest(model, read_items(pool), n=50)
    item = session.state()["item"]
    assert item["id"] == first[0].id and item["checked"] == first[0].labels
    assert set(item["scores"]) == {"energy", "talks", "war"} and "strategy" in item["reason"]
    session.skip(first[0].id)
    assert session.state()["item"]["id"] == first[1].id
    resumed = LabelSession(pool, tmp_path / "out.jsonl", model=model)
    assert resumed.state()["item"]["id"] == first[1].id  # the skipped one stays answered
    back = resumed.undo()["item"]
    assert back["id"] == first[0].id and back["scores"] is not None


def test_retraining_in_the_background(tmp_path, tiny_model):
    pool = pool_file(tmp_path)
    folder = tmp_path / "retrained"
    session = LabelSession(
        pool, tmp_path / "out.jsonl", codebook=CODEBOOK, retrain_every=6, retrain_to=folder
    )
    gold = {f"p{i}": labels for i, (_, _, labels) in enumerate(TINY, start=1)}
    for _ in range(6):
        ident = session.state()["item"]["id"]
        session.accept(ident, gold[ident])
    session.wait_for_retraining(timeout=60)
    state = session.state()
    assert state["retrain"]["status"] == "done", state["retrain"]
    assert (folder / "model.json").is_file() and session.model is not None
    assert state["item"]["scores"] is not None  # suggestions now come from the new model
    with pytest.raises(ModelError, match="retraining would replace --model"):
        LabelSession(
            pool,
            tmp_path / "o2.jsonl",
            model=load_model(tiny_model),
            retrain_every=5,
            retrain_to=tiny_model,
        )
    LabelSession(
        pool,
        tmp_path / "o3.jsonl",
        model=load_model(tiny_model),
        retrain_every=5,
        retrain_to=tiny_model,
        force=True,
    )  # allowed with --force


def test_retraining_too_early_reports_failure(tmp_path):
    session = LabelSession(
        pool_file(tmp_path),
        tmp_path / "out.jsonl",
        codebook=CODEBOOK,
        retrain_every=1,
        retrain_to=tmp_path / "m",
    )
    session.accept("p1", ["war"])  # one label: no model yet
    session.wait_for_retraining(timeout=60)
    status = session.state()["retrain"]
    assert status["status"] == "failed" and "at least two" in status["message"]


def test_the_page_answers_only_itself(tmp_path):
    session = LabelSession(pool_file(tmp_path, 3), tmp_path / "out.jsonl", codebook=CODEBOOK)
    app = create_app(session, token="secret", port=8765)
    client = TestClient(app, base_url="http://127.0.0.1:8765")
    page = client.get("/")
    assert page.status_code == 200 and 'content="secret"' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    token = {"X-Topictag-Token": "secret"}
    assert client.get("/api/state", headers=token).json()["item"]["id"] == "p1"
    assert client.get("/api/state").status_code == 403
    assert client.get("/api/state", headers={"X-Topictag-Token": "secreT"}).status_code == 403
    assert client.get("/", headers={"Host": "attacker.example:8765"}).status_code == 403
    assert client.get("/", headers={"Host": "127.0.0.1:9999"}).status_code == 403
    cross = client.post(
        "/api/skip", json={"id": "p1"}, headers={**token, "Origin": "http://attacker.example"}
    )
    assert cross.status_code == 403
    assert client.post("/api/skip", content=b"[1,", headers=token).status_code == 400
    assert client.post("/api/accept", json={"id": "p1"}, headers=token).json() == {
        "error": "bad request: missing field 'labels'"
    }
    stale = client.post("/api/accept", json={"id": "p9", "labels": []}, headers=token)
    assert stale.status_code == 409 and "not the one shown" in stale.json()["error"]
    local = TestClient(app, base_url="http://localhost:8765")
    moved = local.post("/api/accept", json={"id": "p1", "labels": ["war"]}, headers=token)
    assert moved.status_code == 200 and moved.json()["item"]["id"] == "p2"
    assert local.post("/api/undo", headers=token).json()["item"]["id"] == "p1"
