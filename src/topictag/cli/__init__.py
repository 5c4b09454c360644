"""The ``topictag`` command line: thin wrappers that parse options and call the library.

This package is the only one that imports typer and the only place that turns exceptions into
exit codes: 0 on success, 1 on a data or model error (one line on stderr), 2 on a usage error.
Results go to stdout or ``--output``; progress, warnings and errors go to stderr. Each command
group has its module (``train``, ``evaluate``, ``classify``, ``serve``, ``models``, ``data``,
``label``); ``application`` registers them on one Typer application. A plain ``classify``
command line skips typer (:mod:`topictag.cli.quick`): classifying one paragraph then costs little
more than numpy's import.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run the command line (the ``topictag`` console script); end through ``sys.exit``."""
    from topictag.cli.quick import main as quick

    code = quick(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from topictag.cli.application import app

    app()
