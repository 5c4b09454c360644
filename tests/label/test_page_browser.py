"""The labeling page in headless Chromium, through real key presses, against a real server.

The server runs as a subprocess (``topictag label``) so that it can be killed with SIGKILL:
answers given before the kill are in the output, and the restarted page resumes after them.
Skips outside CI where no Chromium is installed; under CI=true a missing Chromium fails.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, write_jsonl
from tests.evaluate.test_report_browser import ARTIFACTS, _browser
from topictag.data.validation import validate_corpus

POOL = [
    ("p1", "Troops shelled the northern town overnight and fighting spread.", "a1"),
    ("p2", "By a staff reporter", "a1"),
    ("p3", "Envoys met in Geneva to revive talks between the two governments.", "a2"),
    ("p4", "Oil prices rose as the pipeline stayed shut and gas supplies fell.", "a2"),
    ("p5", "The ministers agreed to restore diplomatic ties.", "a3"),
]
CODEBOOK = "war\tFighting between armed forces\ntalks\tNegotiations\nenergy\tOil, gas, power\n"


class Server:
    """``topictag label`` in a subprocess; ``url`` once it listens."""

    def __init__(self, *args: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "topictag", "label", *args, "--port", "0", "--no-browser"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(
            target=lambda: [lines.put(x) for x in self.process.stderr], daemon=True
        ).start()
        while True:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                self.process.kill()
                pytest.fail("the labeling page did not start within 30 s")
            if "labeling page at " in line:
                self.url = line.split("labeling page at ")[1].split()[0]
                return

    def kill(self) -> None:
        self.process.kill()  # SIGKILL: no cleanup runs
        self.process.wait(timeout=10)


def output_rows(path: Path) -> dict[str, list[str]]:
    return {
        row["id"]: row["labels"]
        for row in (json.loads(line) for line in path.read_text().splitlines())
    }


def test_keys_save_labels_undo_and_resume_after_kill_9(tmp_path):
    rows = [{"id": i, "text": t, "article_id": a, "split": "train"} for i, t, a in POOL]
    pool = write_jsonl(tmp_path / "pool.jsonl", rows)
    codebook = tmp_path / "codebook.tsv"
    codebook.write_text(CODEBOOK)
    out = tmp_path / "labeled.jsonl"
    args = ("--input", str(pool), "--output", str(out), "--labels", str(codebook))
    driver = _browser()
    server = Server(*args)
    try:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait

        def press(*keys: str) -> None:
            driver.find_element(By.TAG_NAME, "body").send_keys(*keys)

        def showing(ident: str) -> None:
            WebDriverWait(driver, 10).until(
                lambda d: (
                    d.find_element(By.ID, "text").get_attribute("data-id") == ident
                    and d.find_element(By.TAG_NAME, "body").get_attribute("data-idle") == "yes"
                )
            )

        def checked() -> list[str]:
            items = driver.find_elements(By.CSS_SELECTOR, "#labels li.on")
            return [li.get_attribute("data-label") for li in items]

        driver.get(server.url)
        showing("p1")
        definitions = driver.find_elements(By.CSS_SELECTOR, "#labels .definition")
        assert [d.text for d in definitions] == [
            "Fighting between armed forces",
            "Negotiations",
            "Oil, gas, power",
        ]
        press("1", "3", Keys.ENTER)  # war + energy, accept
        showing("p2")
        assert output_rows(out) == {"p1": ["war", "energy"]}
        press(Keys.SPACE)  # skip the byline
        showing("p3")
        press("2", Keys.ENTER)
        showing("p4")
        assert output_rows(out)["p3"] == ["talks"]
        press("u")  # undo: p3 comes back with its labels, and leaves the output
        showing("p3")
        assert checked() == ["talks"] and "p3" not in output_rows(out)
        press("2", "1", Keys.ENTER)  # untick talks, tick war
        showing("p4")
        assert output_rows(out) == {"p1": ["war", "energy"], "p3": ["war"]}
        progress = driver.find_element(By.ID, "progress").text
        assert progress.startswith("3 of 5 answered") and "1 skipped" in progress
        assert "war 2" in driver.find_element(By.ID, "counts").text

        server.kill()
        assert output_rows(out) == {"p1": ["war", "energy"], "p3": ["war"]}
        server = Server(*args)
        driver.get(server.url)
        showing("p4")  # resumed after the answered ones
        press("u")  # the journal survived too: the last answer can still be undone
        showing("p3")
        assert checked() == ["war"] and "p3" not in output_rows(out)
        press(Keys.ENTER, "3", Keys.ENTER)
        showing("p5")
        assert output_rows(out) == {"p1": ["war", "energy"], "p3": ["war"], "p4": ["energy"]}
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "label.png"))

        # the output is a corpus that data validate (and so train) accepts
        report = validate_corpus([out], min_examples=1)
        assert report.errors == [] and report.rows == 3
        assert json.loads(out.read_text().splitlines()[0])["article_id"] == "a1"

        # the page answers only itself
        def status(path: str, headers: dict[str, str], body: bytes | None = b"{}") -> int:
            request = urllib.request.Request(server.url + path, data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return int(response.status)
            except urllib.error.HTTPError as error:
                return int(error.code)

        token = driver.find_element(By.CSS_SELECTOR, 'meta[name="topictag-token"]')
        good = {"X-Topictag-Token": token.get_attribute("content")}
        assert status("api/state", good, None) == 200
        assert status("api/undo", {}) == 403  # no token
        assert status("api/undo", {**good, "Host": "evil.example"}) == 403  # DNS rebinding
        assert status("api/undo", {**good, "Origin": "http://evil.example"}) == 403
        assert "p4" in output_rows(out)  # none of those undid anything
    finally:
        driver.quit()
        server.kill()
