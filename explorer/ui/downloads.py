"""Download buttons: one call per download, the file type named by the file's extension."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePath

import pandas as pd
import streamlit as st

from explorer.fileio import csv_bytes

MIME = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".md": "text/markdown",
    ".parquet": "application/vnd.apache.parquet",
    ".safetensors": "application/octet-stream",
}


def download(label: str, data: bytes | str | pd.DataFrame | Callable[[], bytes], file_name: str, *, key: str, where=st):
    """A download button in ``where`` (a column, or the page): a frame goes as CSV; a callable is
    built only when clicked (so a large export costs nothing until it is wanted)."""
    if isinstance(data, pd.DataFrame):
        data = csv_bytes(data)
    where.download_button(label, data, file_name=file_name, mime=MIME[PurePath(file_name).suffix], key=key)
