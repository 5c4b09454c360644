"""topictag: train, evaluate and serve topic classifiers for news paragraphs.

The package root stays light: ``import topictag`` loads neither scikit-learn nor numpy.

Examples
--------
>>> import topictag
>>> model = topictag.load_model("news-topics")                      # doctest: +SKIP
>>> model.predict(["Moscow ruled out talks on the status of Abkhazia."])  # doctest: +SKIP
[['territorial-disputes', 'diplomacy']]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["TopictagError", "__version__", "load_model"]

from topictag.errors import TopictagError

if TYPE_CHECKING:
    from topictag.inference import Model


def load_model(path_or_name: str) -> Model:
    """Load a model bundle by folder path or by name.

    Parameters
    ----------
    path_or_name : str
        A bundle folder, or a name looked up in ``$TOPICTAG_MODELS`` (default ``./models``),
        then among the models shipped with the package.

    Returns
    -------
    Model
        A model with ``predict``, ``predict_proba`` and ``to_sklearn``.
    """
    from topictag.inference import load_model as _load

    return _load(path_or_name)
