"""The HTTP service's endpoints, errors and auth, against the real server in a subprocess."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL
from tests.serve.running import ROOT, running
from topictag.model.inference import load_model

TEXTS = [
    "Moscow again ruled out talks on the status of Abkhazia and South Ossetia.",
    "Government aircraft struck a market in the rebel-held northwest, killing nine.",
    "Brent crude rose 2 percent after the cartel agreed deeper output cuts.",
    "",
    "Zxqv blorf wug.",
]
ARTICLE = (
    "By Ana Ruiz\n\nTalks resumed in Geneva.\nBoth sides met.\n\nOil prices rose.\n\nRead more"
)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("models") / "other"
    shutil.copytree(DEFAULT_MODEL, path)
    return path


@pytest.fixture(scope="module")
def server(other_model: Path):
    with running(
        "--model",
        str(DEFAULT_MODEL),
        "--model",
        str(other_model),
        "--max-body-bytes",
        "300000",
        "--max-texts",
        "50",
        "--max-line-bytes",
        "20000",
    ) as running_server:
        yield running_server


@pytest.fixture
def client(server):
    with server.client() as c:
        yield c


def _cli(*args: str, stdin: str | None = None) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", "topictag", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_classify_answers_exactly_what_the_cli_writes(client):
    answer = client.post("/v1/classify", json={"texts": TEXTS})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["model"] == "news-topics"
    expected = _cli("classify", "--model", str(DEFAULT_MODEL), "--format", "jsonl", *TEXTS)
    assert body["results"] == expected
    assert body["results"][0]["labels"]  # a real prediction, not an empty answer
    assert body["results"][3]["labels"] == [] and body["results"][3]["known_terms"] == 0


def test_items_and_articles_match_the_cli_too(client, tmp_path):
    items = [
        {"id": "a", "text": ARTICLE, "source": "wire", "labels": ["energy"]},
        {"id": 7, "text": TEXTS[1]},
    ]
    options = {"top_k": 2, "threshold": {"energy": 0.2}, "scores": "labels"}
    body = client.post("/v1/classify", json={"items": items, "paragraphs": True, **options}).json()
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    expected = _cli(
        "classify", "--model", str(DEFAULT_MODEL), "--input", str(path), "--paragraphs",
        "--top-k", "2", "--threshold", "energy=0.2", "--scores", "labels", "--format", "jsonl",
    )  # fmt: skip
    assert body["results"] == expected
    assert [row.get("paragraph") for row in body["results"][:3]] == [1, 2, None]
    assert (
        body["results"][0]["gold_labels"] == ["energy"] and body["results"][0]["source"] == "wire"
    )


def test_labels_equal_the_cli_over_the_bundled_corpus(client):
    texts = [json.loads(line)["text"] for line in BUNDLED_CORPUS.open()][:200]
    expected = _cli("classify", "--model", str(DEFAULT_MODEL), "--format", "jsonl", "-i", "-",
                    "--input-format", "text", stdin="\n".join(texts) + "\n")  # fmt: skip
    got = []
    for start in range(0, len(texts), 50):
        answer = client.post("/v1/classify", json={"texts": texts[start : start + 50]})
        got += [row["labels"] for row in answer.json()["results"]]
    assert got == [row["labels"] for row in expected]


@pytest.mark.parametrize(
    ("scores", "check"),
    [
        ("all", lambda row: len(row["scores"]) == 13),
        ("labels", lambda row: list(row["scores"]) == row["labels"]),
        ("none", lambda row: "scores" not in row),
    ],
)
def test_scores_field(client, scores, check):
    body = client.post("/v1/classify", json={"texts": TEXTS[:3], "scores": scores}).json()
    assert all(check(row) for row in body["results"])


def test_top_k_and_a_threshold_for_every_label(client):
    loose = client.post("/v1/classify", json={"texts": TEXTS[:3], "threshold": 0.0}).json()
    assert all(len(row["labels"]) == 13 for row in loose["results"])
    top = client.post("/v1/classify", json={"texts": TEXTS[:3], "threshold": 0.0, "top_k": 1})
    assert [len(row["labels"]) for row in top.json()["results"]] == [1, 1, 1]


def test_a_named_model_answers(client):
    body = client.post("/v1/classify", json={"texts": TEXTS[:1], "model": "other"}).json()
    assert body["model"] == "other" and body["results"][0]["labels"]


def test_explain_is_what_the_cli_prints(client):
    body = client.post("/v1/explain", json={"text": TEXTS[0]}).json()
    expected = json.loads(
        subprocess.run(
            [sys.executable, "-m", "topictag", "explain", TEXTS[0], "-m", str(DEFAULT_MODEL),
             "--json"],
            capture_output=True, text=True, timeout=60, cwd=ROOT, check=True,
        ).stdout
    )  # fmt: skip
    assert body == {"model": "news-topics", "explanations": expected}
    labeled = client.post("/v1/explain", json={"text": TEXTS[0], "labels": ["energy"]}).json()
    assert [e["label"] for e in labeled["explanations"]] == ["energy"]


def test_models_list_and_detail(client):
    listed = client.get("/v1/models").json()
    assert listed["default"] == "news-topics"
    assert [m["name"] for m in listed["models"]] == ["news-topics", "other"]
    detail = client.get("/v1/models/news-topics").json()
    manifest = json.loads((DEFAULT_MODEL / "model.json").read_text())
    assert detail["labels"] == manifest["labels"]
    loaded = load_model(DEFAULT_MODEL)
    assert detail["thresholds"] == dict(zip(loaded.labels, loaded.thresholds.tolist(), strict=True))
    assert detail["features"] == manifest["weights"]["n_features"]
    assert detail["training_data"]["sha256"] == manifest["training_data"]["sha256"]
    assert detail["metrics"] == manifest["metrics"]
    assert detail["format_version"] == manifest["format_version"] and detail["mode"]


def test_health_ready_and_openapi(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready", "models": ["news-topics", "other"]}
    document = client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/v1/classify", "/v1/explain", "/v1/models", "/v1/models/{name}", "/healthz", "/readyz",
        "/metrics", "/openapi.json",
    }  # fmt: skip
    assert "50" in document["components"]["schemas"]["ClassifyRequest"]["description"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"texts": [NaN]}', 400, "NaN is not a JSON value"),
        (b"\xff\xfe", 400, "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, 400, "malformed JSON"),
        (b'{"texts": "one"}', 400, "'texts' must be a list"),
        (b'{"texts": ["a", 3]}', 400, r"texts\[1\] must be a string"),
        (b'{"items": [{"id": "x"}]}', 400, r"items\[0\]: missing 'text'"),
        (b'{"texts": [], "items": []}', 400, "either 'texts'"),
        (b"{}", 400, "either 'texts'"),
        (b'{"texts": ["a"], "top_k": 0}', 400, "'top_k' must be a positive integer"),
        (b'{"texts": ["a"], "top_k": true}', 400, "'top_k' must be a positive integer"),
        (b'{"texts": ["a"], "threshold": 2}', 400, "between 0 and 1"),
        (b'{"texts": ["a"], "threshold": {"nope": 0.5}}', 400, "unknown label 'nope'"),
        (b'{"texts": ["a"], "scores": "some"}', 400, "'scores' must be one of"),
        (b'{"texts": ["a"], "paragraphs": 1}', 400, "'paragraphs' must be true or false"),
        (b'{"texts": ["a"], "model": 3}', 400, "'model' must be a string"),
        (b'{"texts": ["a"], "colour": "red"}', 400, "unknown field 'colour'"),
        (b'{"texts": ["a"], "model": "nope"}', 404, "no model named 'nope'"),
        (json.dumps({"texts": ["a"] * 51}).encode(), 413, "51 texts in one request"),
        (json.dumps({"texts": ["word " * 5000]}).encode(), 413, r"texts\[0\] is over the limit"),
    ],
)
def test_bad_requests_get_json_errors(client, body, status, message):
    answer = client.post("/v1/classify", content=body)
    assert answer.status_code == status
    assert re.search(message, answer.json()["error"]), answer.json()


def test_explain_errors(client):
    assert client.post("/v1/explain", json={"text": 5}).status_code == 400
    wrong = client.post("/v1/explain", json={"text": "x", "labels": ["nope"]})
    assert wrong.status_code == 400 and "unknown label" in wrong.json()["error"]
    assert client.post("/v1/explain", json={"text": "x", "model": "nope"}).status_code == 404


def test_unknown_paths_and_methods(client):
    missing = client.get("/v2/classify")
    assert missing.status_code == 404 and missing.json() == {"error": "no such path: /v2/classify"}
    unknown = client.get("/v1/models/nope")
    assert unknown.status_code == 404 and "no model named 'nope'" in unknown.json()["error"]
    wrong = client.get("/v1/classify")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"
    assert "GET is not allowed" in wrong.json()["error"]
    assert client.delete("/v1/models").status_code == 405


def test_an_oversized_body_is_read_then_answered_413(server):
    """A client that sends the whole body before reading gets the 413, not a reset."""
    host, port = server.url.removeprefix("http://").split(":")
    body = b'{"texts": ["' + b"x" * 1_000_000 + b'"]}'
    head = (
        f"POST /v1/classify HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"error": "the request body is over the limit of 300000 bytes"' in answer
    # and over the same client: the next request on a fresh connection is fine
    with server.client() as client:
        assert client.post("/v1/classify", json={"texts": ["x"]}).status_code == 200


def test_every_answer_has_a_request_id_and_an_access_log_line(server, client):
    answer = client.post(
        "/v1/classify", json={"texts": TEXTS[:2]}, headers={"x-request-id": "r-42"}
    )
    assert answer.headers["x-request-id"] == "r-42"
    line = json.loads(server.wait_for_log(r'"request_id": "r-42"'))
    assert line["method"] == "POST" and line["path"] == "/v1/classify" and line["status"] == 200
    assert line["batch_size"] >= 2 and line["latency_ms"] > 0
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", generated)


def test_metrics_count_over_both_workers(server):
    def metric(text: str, name: str) -> float:
        found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
        return float(found.group(1)) if found else 0.0

    key = 'topictag_requests_total{endpoint="/v1/models",status="200"}'
    with server.client() as client:
        before = metric(client.get("/metrics").text, key)

    def one(_: int) -> int:
        with server.client() as fresh:  # a new connection each: the kernel spreads them
            return fresh.get("/v1/models").status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(40))) == {200}
    with server.client() as client:
        text = client.get("/metrics").text
    assert metric(text, key) == before + 40
    assert metric(text, 'topictag_paragraphs_total{model="news-topics"}') > 0
    assert re.search(
        r'^topictag_predicted_labels_total\{label="\S+",model="news-topics"\}', text, re.M
    )
    assert metric(text, "topictag_batch_size_count") > 0
    assert re.search(r"^topictag_request_duration_seconds_bucket\{", text, re.M)
    assert re.search(r'^topictag_model_info\{.*model="news-topics".*\} 1\.0$', text, re.M)
    assert metric(text, 'topictag_model_load_seconds{model="news-topics"}') > 0
    workers = {json.loads(line).get("pid") for line in server.lines if line.startswith("{")}
    assert len(workers) == 2  # both workers answered some of them


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory):
    token = tmp_path_factory.mktemp("secret") / "token"
    token.write_text("s3cret-token\n")
    with running("--model", str(DEFAULT_MODEL), "--token-file", str(token), "--jobs", "1") as s:
        yield s


def test_a_token_guards_v1_and_metrics_only(token_server):
    with token_server.client() as anonymous:
        denied = anonymous.post("/v1/classify", json={"texts": ["x"]})
        assert denied.status_code == 401 and denied.headers["www-authenticate"] == "Bearer"
        assert denied.json() == {"error": "missing or wrong bearer token"}
        assert anonymous.get("/v1/models").status_code == 401
        assert anonymous.get("/metrics").status_code == 401
        assert anonymous.get("/healthz").status_code == 200
        assert anonymous.get("/readyz").status_code == 200
    with token_server.client(authorization="Bearer s3cret-tokeN") as wrong:
        assert wrong.post("/v1/classify", json={"texts": ["x"]}).status_code == 401
    with token_server.client(authorization="Basic s3cret-token") as basic:
        assert basic.get("/v1/models").status_code == 401
    with token_server.client(authorization="Bearer s3cret-token") as right:
        assert right.post("/v1/classify", json={"texts": ["x"]}).status_code == 200
        assert right.get("/metrics").status_code == 200


def test_an_unexpected_failure_is_a_short_500_and_the_server_goes_on():
    prelude = (
        "import topictag.model.inference as m\n"
        "real = m.Model.score\n"
        "def score(self, texts):\n"
        "    if 'boom' in texts:\n"
        "        raise RuntimeError('secret internals')\n"
        "    return real(self, texts)\n"
        "m.Model.score = score"
    )
    with running("--model", str(DEFAULT_MODEL), "--jobs", "1", prelude=prelude) as server:
        with server.client() as client:
            failed = client.post("/v1/classify", json={"texts": ["boom"]})
            assert failed.status_code == 500
            assert failed.json() == {"error": "internal error (logged on the server)"}
            assert "secret" not in failed.text
            assert client.post("/v1/classify", json={"texts": ["fine"]}).status_code == 200
        server.wait_for_log("secret internals")  # the traceback is in the server's log
        assert server.stop() == 0
