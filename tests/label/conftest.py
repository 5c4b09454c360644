"""A tiny model trained once per session, for the labeling tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import tiny_rows, write_jsonl


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained on the tiny corpus (three labels, multi-label), saved in a temp folder."""
    from topictag.train.recipe import TrainConfig
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

    folder = tmp_path_factory.mktemp("label-model")
    corpus = write_jsonl(folder / "tiny.jsonl", tiny_rows())
    result = train_model([corpus], TrainConfig())
    return save_model(result.data, folder / "model")
