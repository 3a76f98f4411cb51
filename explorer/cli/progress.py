"""Progress bars on stderr for the command line, fed by the library's progress callbacks."""

from __future__ import annotations

import sys

import click


def progress_bar(label: str):
    """A click progress bar fed by the library's progress(fraction, message) callbacks."""
    bar = click.progressbar(length=1000, label=label, file=sys.stderr, show_eta=False)
    state = {"at": 0}

    def progress(fraction: float, message: str = "") -> None:
        at = int(1000 * min(max(fraction, 0.0), 1.0))
        if at > state["at"]:
            bar.update(at - state["at"])
            state["at"] = at

    return bar, progress
