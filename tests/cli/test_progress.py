from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from topictag.cli.progress import BarProgress, PlainProgress, progress_display
from topictag.progress import Step


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def info_log(caplog):
    caplog.set_level(logging.INFO, logger="topictag")
    logging.getLogger("topictag").propagate = True
    yield caplog
    logging.getLogger("topictag").propagate = False


def test_plain_lines_come_per_tenth_and_at_most_once_a_second(info_log):
    clock = Clock()
    plain = PlainProgress(clock)
    plain(Step("reading", 50, 100, note="big.txt"))  # within the first second: nothing
    clock.now += 1.5
    plain(Step("reading", 55, 100, note="big.txt"))
    plain(Step("reading", 65, 100, note="big.txt"))  # a new tenth, but too soon
    clock.now += 1.0
    plain(Step("reading", 59, 100, note="big.txt"))  # no new tenth
    plain(Step("reading", 100, 100, note="big.txt"))
    clock.now += 5.0
    plain(Step("cross-validation", 4, 5, logged=True))  # the library logged it
    plain(Step("tuning", 3, None))  # unknown total
    assert [r.getMessage() for r in info_log.records] == [
        "reading: 50% (big.txt)",
        "reading: 100% (big.txt)",
    ]


def test_the_bar_draws_each_task_and_is_removed_at_the_end():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    bar = BarProgress(console)
    bar(Step("tuning", 3, 10, note="trial 3, best score 0.7021"))
    bar(Step("cross-validation", 5, 5))
    drawn = out.getvalue()
    bar.close()
    assert "tuning" in drawn and "30%" in drawn and "best score 0.7021" in drawn
    assert "cross-validation" in drawn and "100%" in drawn
    assert out.getvalue() != drawn  # transient: erased on close


def test_nothing_is_drawn_before_the_first_step(info_log):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with progress_display(console=console) as progress:
        assert progress is not None
    assert out.getvalue() == ""


def test_quiet_or_hidden_means_no_callback():
    log = logging.getLogger("topictag")
    level = log.level
    try:
        log.setLevel(logging.WARNING)
        with progress_display() as progress:
            assert progress is None
        log.setLevel(logging.INFO)
        with progress_display(show=False) as progress:
            assert progress is None
    finally:
        log.setLevel(level)
