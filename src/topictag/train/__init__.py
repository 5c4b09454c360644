"""The training side: recipes, scikit-learn pipelines, calibration, training and tuning.

Everything here may import scikit-learn, scipy and joblib; nothing on the serving side
(``topictag.model``, ``topictag.serve``, the ``topictag.data`` readers) imports this package.
"""

from __future__ import annotations

from topictag.train.bridge import to_sklearn
from topictag.train.saving import save_model
from topictag.train.training import train_model

__all__ = ["save_model", "to_sklearn", "train_model"]
