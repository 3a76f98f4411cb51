"""Pair score files: the pairs a team already scored with its own verifier, evaluated as they are.

One row per pair: the ground truth (same identity or not), one or more score columns (each a
distance, smaller = same, or a similarity, larger = same), and optionally the two items (file
names or ids, matched to a workspace's items when one is loaded), the two subjects (identities,
for intervals over subjects), a fold and a group column. Columns are found by their names
(:data:`ROLE_NAMES`) or mapped by the user (:class:`ColumnMap`); any other numeric column is a
score. Rows whose truth cannot be read are listed, never fatal; a score's missing values leave
that row out of that score's figures only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from explorer.data.vectors import text_of
from explorer.errors import InputError

ROLE_NAMES: dict[str, tuple[str, ...]] = {
    "same": ("same", "is_same", "issame", "genuine", "match", "is_match", "decision", "label", "target", "y"),
    "a": ("id_a", "a", "file_x", "img1", "image1", "file1", "img_a", "image_a", "path_a", "left", "probe"),
    "b": ("id_b", "b", "file_y", "img2", "image2", "file2", "img_b", "image_b", "path_b", "right", "reference"),
    "subject_a": ("subject_a", "person_a", "identity_a", "name_a"),
    "subject_b": ("subject_b", "person_b", "identity_b", "name_b"),
    "fold": ("fold", "folds", "split"),
    "group": ("group", "demographic", "cohort"),
}
TRUTH = {
    **dict.fromkeys(("1", "1.0", "true", "yes", "y", "same", "genuine", "match", "mated"), True),
    **dict.fromkeys(("0", "0.0", "-1", "false", "no", "n", "different", "impostor", "mismatch", "non-mated"), False),
}
FOLDS = 10
FOLD_SEED = 0


@dataclass(frozen=True)
class Direction:
    """How a score reads: ``sign`` x score is a distance (smaller = more alike)."""

    name: str
    sign: float
    accept: str  # the decision rule, in the score's own units

    def to_distance(self, scores: np.ndarray) -> np.ndarray:
        return self.sign * np.asarray(scores, np.float64)

    def shown(self, threshold: float) -> float:
        """A distance threshold back in the score's units."""
        return self.sign * threshold


DISTANCE = Direction("distance", 1.0, "<=")
SIMILARITY = Direction("similarity", -1.0, ">=")
DIRECTIONS = {d.name: d for d in (DISTANCE, SIMILARITY)}


@dataclass(frozen=True)
class ColumnMap:
    """Which column plays which part; None where the file has none."""

    same: str
    scores: tuple[str, ...]
    a: str | None = None
    b: str | None = None
    subject_a: str | None = None
    subject_b: str | None = None
    fold: str | None = None
    group: str | None = None

    def roles(self) -> dict[str, str]:
        named = {k: getattr(self, k) for k in ("same", "a", "b", "subject_a", "subject_b", "fold", "group")}
        return {k: v for k, v in named.items() if v is not None}


def guess_columns(frame: pd.DataFrame) -> ColumnMap:
    """Columns by their names; every other numeric column is a score. Raises InputError when no
    truth column or no score column can be found (the user then maps them)."""
    no_rows(frame)
    lower = {str(c).lower(): str(c) for c in frame.columns}
    found: dict[str, str] = {}
    for role, names in ROLE_NAMES.items():
        hit = next((lower[n] for n in names if n in lower and lower[n] not in found.values()), None)
        if hit is not None:
            found[role] = hit
    if "same" not in found:
        raise InputError(
            f"no column says whether a pair is the same identity (looked for {', '.join(ROLE_NAMES['same'][:6])}, "
            f"...); columns are {list(map(str, frame.columns))}: map one"
        )
    scores = tuple(
        str(c) for c in frame.columns if str(c) not in found.values() and pd.api.types.is_numeric_dtype(frame[c])
    )
    if not scores:
        raise InputError(f"no numeric score column besides {', '.join(found.values())}: map one")
    return ColumnMap(scores=scores, **found)


def no_rows(frame: pd.DataFrame) -> None:
    """Raises InputError for a file with a header and no rows (its columns would read as text)."""
    if not len(frame):
        raise InputError(
            f"the file has a header ({', '.join(map(str, frame.columns))}) and no rows: no pair to evaluate"
        )


def direction_of(scores: np.ndarray, same: np.ndarray) -> tuple[Direction, float]:
    """Detected from the labels: a distance when genuine pairs score lower (AUC read as a distance
    >= 0.5). Returns the direction and that AUC (how clearly the labels decide it)."""
    from sklearn.metrics import roc_auc_score

    ok = np.isfinite(scores)
    s, y = np.asarray(scores, np.float64)[ok], np.asarray(same, bool)[ok]
    if y.all() or not y.any():
        return DISTANCE, float("nan")
    as_distance = float(roc_auc_score(y, -s))
    return (DISTANCE, as_distance) if as_distance >= 0.5 else (SIMILARITY, 1.0 - as_distance)


def random_folds(n: int, k: int = FOLDS, seed: int = FOLD_SEED) -> np.ndarray:
    """Fold of each of n pairs: a seeded random permutation cut in k near-equal folds (a file
    sorted by label is never split into all-genuine and all-impostor folds)."""
    fold = np.empty(n, np.int64)
    fold[np.random.default_rng(seed).permutation(n)] = np.arange(n) % max(min(k, n), 1)
    return fold


@dataclass(frozen=True)
class ScoreTable:
    """Pairs with their truth and scores, as read. ``scores[name]`` in the file's own units,
    ``directions[name]`` how each reads; ``a`` / ``b`` item names, ``subjects`` (a, b) identities,
    ``group`` a group per pair: None where the file has none."""

    same: np.ndarray
    scores: dict[str, np.ndarray]
    directions: dict[str, Direction]
    detected: dict[str, float]  # the AUC that decided a detected direction; absent when set by the user
    fold: np.ndarray
    fold_source: str
    a: np.ndarray | None = None
    b: np.ndarray | None = None
    subjects: tuple[np.ndarray, np.ndarray] | None = None
    group: np.ndarray | None = None
    malformed: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.same)

    def distances(self, name: str) -> np.ndarray:
        """The score as a distance (smaller = same); NaN where the file has no value."""
        return self.directions[name].to_distance(self.scores[name])


def read_scores(frame: pd.DataFrame, columns: ColumnMap, directions: dict[str, str] | None = None) -> ScoreTable:
    """A ScoreTable from a parsed table. ``directions``: {score column: "distance" | "similarity"}
    set by the user; the others are detected from the labels. Raises InputError for missing
    columns, a non-numeric score, no readable row, or a fold column that is not whole numbers."""
    no_rows(frame)
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    missing = [c for c in [*columns.roles().values(), *columns.scores] if c not in frame.columns]
    if missing:
        raise InputError(f"no column {', '.join(map(repr, missing))}; columns are {list(frame.columns)}")
    if not columns.scores:
        raise InputError("choose at least one score column")
    written = text_of(frame, columns.same)
    truth = pd.Series(np.char.lower(np.char.strip(written))).map(TRUTH)
    bad = truth.isna().to_numpy()
    malformed = [f"row {k + 2}: {columns.same} = {written[k]!r}" for k in np.flatnonzero(bad)[:50]]
    kept = {c: text_of(frame, c)[~bad] for c in columns.roles().values()}  # as written, before rows go
    frame, same = frame[~bad].reset_index(drop=True), truth[~bad].astype(bool).to_numpy()
    if not len(frame):
        raise InputError(
            f"no row of {columns.same!r} reads as same / different (1/0, true/false, yes/no, same/different)"
        )
    scores = {}
    for c in columns.scores:
        v = pd.to_numeric(frame[c], errors="coerce").to_numpy(np.float64)
        if np.isnan(v).all():
            raise InputError(f"score column {c!r} holds no numbers")
        scores[c] = np.where(np.isfinite(v), v, np.nan)
    chosen, detected = {}, {}
    for c in columns.scores:
        if directions and c in directions:
            chosen[c] = DIRECTIONS[directions[c]]
        else:
            chosen[c], detected[c] = direction_of(scores[c], same)
    if columns.fold:
        f = pd.to_numeric(frame[columns.fold], errors="coerce")
        if f.isna().any() or (f != f.round()).any():
            raise InputError(f"fold column {columns.fold!r} must hold whole numbers")
        fold, fold_source = f.astype(np.int64).to_numpy(), f"the file's {columns.fold!r} column"
    else:
        fold, fold_source = random_folds(len(frame)), f"{FOLDS} folds drawn at random (seed {FOLD_SEED})"
    text = lambda c: None if c is None else kept[c]  # noqa: E731
    subjects = (text(columns.subject_a), text(columns.subject_b)) if columns.subject_a and columns.subject_b else None
    if subjects is None and columns.a and columns.b:
        subjects = subjects_from_paths(text(columns.a), text(columns.b))
    return ScoreTable(
        same,
        scores,
        chosen,
        detected,
        fold,
        fold_source,
        text(columns.a),
        text(columns.b),
        subjects,
        text(columns.group),
        malformed,
    )


def subjects_from_paths(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Identities from item paths laid out as ``identity/file`` (LFW, AT&T, image folders);
    None when the names carry no folder."""
    if not all("/" in str(x) for x in np.r_[a, b]):
        return None
    return np.array([str(x).rsplit("/", 2)[-2] for x in a]), np.array([str(x).rsplit("/", 2)[-2] for x in b])


def subjects_from_labels(
    a: np.ndarray, b: np.ndarray, ids: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """Identities of the pairs' items from a workspace (items matched by id, with or without
    extension); None unless every item of the file is found."""
    from explorer.data.protocol import id_lookup

    lookup = id_lookup(ids)
    labels = np.asarray(labels).astype(str)
    try:
        return labels[[lookup[str(x)] for x in a]], labels[[lookup[str(x)] for x in b]]
    except KeyError:
        return None
