"""Retraining from the labeled output, for ``label --retrain-every N``."""

from __future__ import annotations

from pathlib import Path

from topictag.model.inference import Model
from topictag.train.recipe import TrainConfig
from topictag.train.saving import save_model
from topictag.train.training import train_model


def retrain(labeled: str | Path, folder: str | Path, *, seed: int = 0) -> Model:
    """Train the default recipe on a labeled corpus, save it to ``folder`` and return it.

    ``folder`` is replaced atomically when it holds an earlier retraining.

    Raises
    ------
    DataError
        If the labeled rows cannot train a model yet (fewer than two labels, too few groups).
    """
    result = train_model([labeled], TrainConfig(seed=seed))
    path = save_model(result.data, folder, force=True)
    return Model(result.data, path)
