"""Corpora and readers.

The readers (:mod:`~topictag.data.lines`, :mod:`~topictag.data.corpus`,
:mod:`~topictag.data.inputs`, :mod:`~topictag.data.articles`, :mod:`~topictag.data.files`,
:mod:`~topictag.data.folders`) are
on the serving side: the standard library and numpy only. Validation, statistics, splitting and
importers may use more; this ``__init__`` imports none of them.
"""
