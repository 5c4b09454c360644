"""The HTML report in a real browser: headless Chromium from Debian, driven by selenium.

Skips outside CI where no Chromium is installed; under CI=true a missing Chromium fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import BUNDLED_CORPUS, DEFAULT_MODEL, ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = ROOT / "test-artifacts"


def _browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but Chromium or ChromeDriver is missing ({CHROMIUM}, {DRIVER})")
        pytest.skip("no Chromium here (install Debian's chromium and chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)


def test_report_renders_every_plot_without_console_errors(tmp_path):
    from typer.testing import CliRunner

    from topictag.cli.application import app

    result = CliRunner().invoke(
        app, ["evaluate", str(DEFAULT_MODEL), "--data", str(BUNDLED_CORPUS), "-o", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    driver = _browser()
    try:
        driver.get((tmp_path / "report.html").as_uri())
        from selenium.webdriver.common.by import By

        curves = driver.find_elements(By.CSS_SELECTOR, "figure.pr-curve svg")
        assert len(curves) == 13  # one per label
        for name in ("figure.reliability svg", "figure.confusion svg", *[None] * 0):
            (element,) = driver.find_elements(By.CSS_SELECTOR, name)
            assert element.size["width"] > 100 and element.size["height"] > 100
        assert all(c.size["width"] > 50 and c.size["height"] > 50 for c in curves)

        def column(n: int) -> list[str]:
            cells = f"table.sortable tbody tr td:nth-child({n})"
            return [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, cells)]

        labels, support = column(1), [int(x) for x in column(5)]
        assert len(labels) == 13
        assert support != sorted(support, reverse=True)  # else the test below proves nothing
        header = driver.find_element(By.CSS_SELECTOR, "table.sortable th:nth-child(5)")
        header.click()  # sort by support, largest first
        after = [int(x) for x in column(5)]
        assert after == sorted(support, reverse=True)
        assert sorted(column(1)) == sorted(labels)  # rows moved whole, none lost
        pairs = dict(zip(labels, support, strict=True))
        assert all(pairs[label] == n for label, n in zip(column(1), after, strict=True))
        header.click()  # and again: smallest first
        assert [int(x) for x in column(5)] == sorted(support)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == []
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "report.png"))
        assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    finally:
        driver.quit()
