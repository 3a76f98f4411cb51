"""The ``explorer`` command: see :mod:`explorer.cli.main`."""

from explorer.cli.main import main

__all__ = ["main"]
