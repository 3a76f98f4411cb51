"""A file that gives each identity its group (for rates between groups): CSV, TSV or Parquet with
an identity column and a group column."""

from __future__ import annotations

import io

import pandas as pd

from explorer.errors import InputError

IDENTITY_COLUMNS = ("identity", "label", "subject", "person", "name", "id")
GROUP_COLUMNS = ("group", "demographic", "cohort")


def read_group_map(data: bytes, name: str, *, max_rows: int) -> dict[str, str]:
    """{identity: group}; columns found by name (case-insensitive), else the first two."""
    try:
        if name.lower().endswith(".parquet"):
            frame = pd.read_parquet(io.BytesIO(data))
        else:
            frame = pd.read_csv(io.BytesIO(data), sep=None, engine="python", dtype=str, nrows=max_rows + 1)
    except Exception as exc:  # noqa: BLE001 - any reader error is the file's, said in its words
        raise InputError(f"not a table: {exc}") from None
    if len(frame) > max_rows:
        raise InputError(f"more than {max_rows:,} rows (EXPLORER_MAX_SCORE_ROWS)")
    if frame.shape[1] < 2 or not len(frame):
        raise InputError("it needs two columns (identity, group) and at least one row")
    lower = {str(c).strip().lower(): c for c in frame.columns}
    ident = next((lower[c] for c in IDENTITY_COLUMNS if c in lower), frame.columns[0])
    group = next((lower[c] for c in GROUP_COLUMNS if c in lower), next(c for c in frame.columns if c != ident))
    frame = frame[[ident, group]].dropna()
    out = dict(zip(frame[ident].astype(str).str.strip(), frame[group].astype(str).str.strip(), strict=True))
    if not out:
        raise InputError("no row names both an identity and a group")
    return out
