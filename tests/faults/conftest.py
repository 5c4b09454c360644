"""Fixtures of the fault-injection tests: a tiny corpus and two small bundles, made once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import tiny_rows, write_jsonl


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny labeled corpus (train and test splits)."""
    return write_jsonl(tmp_path_factory.mktemp("corpus") / "tiny.jsonl", tiny_rows())


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> tuple[Path, Path]:
    """Two small bundles trained on the tiny corpus with different seeds (so different files)."""
    from topictag.train.recipe import default_recipe, load_config
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

    folder = tmp_path_factory.mktemp("bundles")
    made = []
    for seed in (1, 2):
        result = train_model([corpus], load_config(default_recipe()).replace(seed=seed))
        made.append(save_model(result.data, folder / f"seed{seed}"))
    return made[0], made[1]
