"""Run the command-line interface with ``python -m topictag``."""

from topictag.cli import main

main()
