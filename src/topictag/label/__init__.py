"""Labeling less: what to label next (``suggest``) and the local labeling page (``label``).

This package needs both sides of the house: it scores with the numpy runtime and retrains with
:func:`topictag.train.train_model`. Nothing imports it but :mod:`topictag.cli`.
"""

from __future__ import annotations
