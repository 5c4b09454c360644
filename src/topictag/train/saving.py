"""Saving a trained or pruned model as a bundle with its model card."""

from __future__ import annotations

from pathlib import Path

from topictag.evaluate.card import model_card
from topictag.model.bundle import ModelData
from topictag.model.writing import save_bundle


def save_model(data: ModelData, path: str | Path, *, force: bool = False) -> Path:
    """Write ``data`` as a bundle folder at ``path``, with its rendered ``MODEL_CARD.md``.

    Parameters
    ----------
    data : ModelData
        The model, as returned by :func:`topictag.train_model` (``.data``) or
        :func:`topictag.model.pruning.prune_model`.
    path : path
        The bundle folder to create (atomically).
    force : bool
        Replace an existing bundle.

    Returns
    -------
    Path
        The bundle folder.
    """
    path = Path(path)
    return save_bundle(data, path, force=force, card=model_card(data, path.name))
