"""Pair-protocol files: LFW-style pairs.txt or a CSV of (id_a, id_b, same).

LFW layout: first line ``folds n`` (or a single ``n``); then per fold n matched lines
``name i j`` and n mismatched lines ``name1 i name2 j``; image ids ``name/name_%04d.<ext>``.
Unknown ids and malformed lines are listed, never fatal.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.errors import InputError

SHOWN = 200  # malformed lines kept to show


@dataclass(frozen=True)
class PairProtocol:
    """Resolved pairs: index_a, index_b (int, into the dataset), same (bool), fold (int)."""

    index_a: np.ndarray
    index_b: np.ndarray
    same: np.ndarray
    fold: np.ndarray
    unknown_ids: list[str] = field(default_factory=list)  # distinct ids not in the dataset
    malformed: list[str] = field(default_factory=list)  # the first of them, as lines to show
    score_columns: tuple[str, ...] = ()  # a CSV's numeric columns besides ours: scores of its own
    pairs_unknown: int = 0  # pairs (lines) skipped because an item is not in the dataset
    n_malformed: int = 0  # lines skipped as malformed (``malformed`` lists the first few)

    @property
    def skipped(self) -> int:
        """Lines of the file that gave no pair: unknown ids or malformed."""
        return self.pairs_unknown + self.n_malformed

    def skipped_text(self) -> str:
        """The skipped lines in words, each count a count of lines."""
        return (
            f"{self.skipped:,} line{'' if self.skipped == 1 else 's'} skipped: {self.pairs_unknown:,} name an item not in the workspace "
            f"({len(self.unknown_ids):,} distinct id{'' if len(self.unknown_ids) == 1 else 's'}), {self.n_malformed:,} malformed"
        )


def id_lookup(ids: np.ndarray) -> dict[str, int]:
    """Map both full ids (``name/name_0001.jpg``) and ids without extension to row indices."""
    out = {}
    for k, full in enumerate(ids):
        out[str(full)] = k
        stem = str(full).rsplit(".", 1)[0]
        out.setdefault(stem, k)
    return out


def _resolve(rows, ids: np.ndarray, malformed: list[str], n_malformed: int) -> PairProtocol:
    """rows: (id_a, id_b, same, fold) arrays, one entry per pair."""
    id_a, id_b, same, fold = (np.asarray(v) for v in rows)
    lookup = id_lookup(ids)
    ia = np.array([lookup.get(x, -1) for x in id_a.tolist()], np.int64)
    ib = np.array([lookup.get(x, -1) for x in id_b.tolist()], np.int64)
    ok = (ia >= 0) & (ib >= 0)
    unknown = sorted(set(id_a[ia < 0].tolist()) | set(id_b[ib < 0].tolist()))
    return PairProtocol(
        ia[ok], ib[ok], same[ok].astype(bool), fold[ok].astype(int), unknown, malformed[:SHOWN],
        pairs_unknown=int((~ok).sum()), n_malformed=n_malformed,
    )  # fmt: skip


def check_pair_count(data: bytes) -> None:
    """Refuse a pairs file of more lines than ``EXPLORER_MAX_SCORE_ROWS`` before parsing it."""
    from explorer import config

    limit = config.settings().max_score_rows
    lines = data.count(b"\n")
    if lines > limit + 1:
        raise InputError(
            f"the file has {lines:,} lines, more than the {limit:,} pairs a file may hold here (EXPLORER_MAX_SCORE_ROWS)"
        )


def parse_lfw_pairs(text: str, ids: np.ndarray) -> PairProtocol:
    """Parse an LFW pairs.txt against the dataset's ids (``name/name_%04d.ext``)."""
    check_pair_count(text.encode(errors="replace"))
    lines = [ln.split() for ln in text.strip().splitlines()]
    if not lines or not all(t.isdigit() for t in lines[0]) or len(lines[0]) not in (1, 2):
        raise InputError("pairs.txt must start with 'folds n' (or 'n'), e.g. '10 300'")
    folds, n = (1, int(lines[0][0])) if len(lines[0]) == 1 else map(int, lines[0])
    rows, malformed = [], []
    for k, parts in enumerate(lines[1:]):
        fold = min(k // (2 * n), folds - 1) if n else 0
        try:
            if len(parts) == 3:
                name, i, j = parts[0], int(parts[1]), int(parts[2])
                rows.append((f"{name}/{name}_{i:04d}", f"{name}/{name}_{j:04d}", True, fold))
            elif len(parts) == 4:
                n1, i, n2, j = parts[0], int(parts[1]), parts[2], int(parts[3])
                rows.append((f"{n1}/{n1}_{i:04d}", f"{n2}/{n2}_{j:04d}", False, fold))
            else:
                raise ValueError
        except ValueError:
            malformed.append(f"line {k + 2}: {' '.join(parts)}")
    return _resolve(list(zip(*rows, strict=True)) if rows else ([], [], [], []), ids, malformed, len(malformed))


def parse_pairs_csv(data: bytes, ids: np.ndarray) -> PairProtocol:
    """A CSV of pairs: two item columns and a truth column, found by name (id_a, id_b, same; or
    file_x, file_y, decision, ...: see :data:`explorer.data.scorefile.ROLE_NAMES`), optionally a
    fold. Its score columns, if any, are named in ``score_columns`` (not used here)."""
    from explorer.data.scorefile import ROLE_NAMES, TRUTH, guess_columns

    check_pair_count(data)
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"pairs CSV cannot be parsed: {str(exc).strip()}") from None
    lower = {c.lower(): c for c in frame.columns}
    role = {r: next((lower[n] for n in ROLE_NAMES[r] if n in lower), None) for r in ("a", "b", "same", "fold")}
    if role["a"] is None or role["b"] is None or role["same"] is None:
        raise InputError(
            f"pairs CSV needs two item columns and a truth column (id_a, id_b, same; or file_x, file_y, decision, "
            f"...); it has {list(frame.columns)}"
        )
    try:
        numeric = pd.read_csv(io.BytesIO(data))
        scores = tuple(c for c in guess_columns(numeric).scores if c not in role.values())
    except InputError:
        scores = ()
    truth = frame[role["same"]].str.strip().str.lower().map(TRUTH)
    fold = frame[role["fold"]].replace("", "0") if role["fold"] else pd.Series(["0"] * len(frame))
    bad = truth.isna().to_numpy() | ~fold.str.isdigit().to_numpy()
    malformed = [f"row {k + 2}: {', '.join(map(str, frame.iloc[k].values))}" for k in np.flatnonzero(bad)[:SHOWN]]
    keep = ~bad
    rows = (
        frame[role["a"]].to_numpy()[keep],
        frame[role["b"]].to_numpy()[keep],
        truth.to_numpy()[keep].astype(bool),
        fold.to_numpy()[keep].astype(int),
    )
    proto = _resolve(rows, ids, malformed, int(bad.sum()))
    return PairProtocol(**{**proto.__dict__, "score_columns": scores})
