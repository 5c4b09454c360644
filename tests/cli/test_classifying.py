"""What classify does by default, whichever way its command line was read."""

from __future__ import annotations

import os

import pytest

from topictag.cli.classifying import SMALL_INPUT_BYTES, ClassifyOptions, default_jobs


def test_small_inputs_are_classified_in_one_process_and_large_ones_in_two(tmp_path):
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text('{"text": "Oil talks."}\n')
    with open(large, "wb") as handle:
        handle.truncate(SMALL_INPUT_BYTES)  # a sparse file of exactly the limit
    assert default_jobs(ClassifyOptions(text=("Oil talks.",))) == 1
    assert default_jobs(ClassifyOptions(input=str(small))) == 1
    assert default_jobs(ClassifyOptions(input=str(large))) == 2
    assert default_jobs(ClassifyOptions()) == 2  # stdin: its length is unknown
    assert default_jobs(ClassifyOptions(input="-")) == 2
    assert default_jobs(ClassifyOptions(input=str(tmp_path / "missing"))) == 2


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_gets_workers_whatever_its_size_says(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert default_jobs(ClassifyOptions(input=str(fifo))) == 2
