"""Serving saved models: streams in worker processes, the stdin protocol, worker pools.

Imports :mod:`topictag.model` and the :mod:`topictag.data` readers, never the training side.
"""
