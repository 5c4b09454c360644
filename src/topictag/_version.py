"""The version of topictag, in a leaf module that imports nothing."""

__version__ = "0.4.0"
