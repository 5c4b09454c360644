"""topictag: train, evaluate and serve topic classifiers for news paragraphs.

The package root stays light: ``import topictag`` loads neither scikit-learn nor numpy. The
functions below are imported from their side of the house when first used:

- :func:`load_model` (``topictag.model``, numpy only) loads a bundle to classify with;
- :func:`train_model`, :func:`save_model` and :func:`to_sklearn` (``topictag.train``);
- :func:`evaluate_model` (``topictag.evaluate``) scores a model on labeled rows;
- :func:`list_bundles` (``topictag.model``) lists the bundles in a folder.

Examples
--------
>>> import topictag
>>> model = topictag.load_model("news-topics")                      # doctest: +SKIP
>>> model.predict(["Moscow ruled out talks on the status of Abkhazia."])  # doctest: +SKIP
[['territorial-disputes', 'diplomacy']]
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from topictag._version import __version__
from topictag.errors import DataError, ModelError, TopictagError

if TYPE_CHECKING:
    from topictag.evaluate.evaluation import evaluate_model
    from topictag.model.catalog import list_bundles
    from topictag.model.inference import load_model
    from topictag.train.bridge import to_sklearn
    from topictag.train.saving import save_model
    from topictag.train.training import train_model

_EXPORTS = {
    "load_model": "topictag.model.inference",
    "list_bundles": "topictag.model.catalog",
    "train_model": "topictag.train.training",
    "save_model": "topictag.train.saving",
    "to_sklearn": "topictag.train.bridge",
    "evaluate_model": "topictag.evaluate.evaluation",
}
__all__ = [
    "DataError",
    "ModelError",
    "TopictagError",
    "__version__",
    "evaluate_model",
    "list_bundles",
    "load_model",
    "save_model",
    "to_sklearn",
    "train_model",
]


def __getattr__(name: str) -> Any:
    """Import a public function from its subpackage on first use (PEP 562)."""
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'topictag' has no attribute {name!r}")
