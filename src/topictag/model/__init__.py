"""The bundle on disk and the numpy-only runtime that classifies with it.

Numpy and the standard library only: features analyzer, decision rule, inference, pruning and
the arithmetic of explanations. Never imports the training side, scikit-learn, scipy, joblib
or matplotlib (an import-linter contract in ``make lint`` checks it).
"""
