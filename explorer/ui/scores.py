"""Widgets of the Compare page's "your scores" part: a pairs file with the scores a team's own
verifier gave, evaluated as it is (the page stays a thin script)."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pandas as pd
import streamlit as st

from explorer import config
from explorer.data.protocol import check_pair_count, id_lookup
from explorer.data.scorefile import (
    ROLE_NAMES,
    ColumnMap,
    ScoreTable,
    guess_columns,
    no_rows,
    read_scores,
    subjects_from_labels,
)
from explorer.data.vectors import read_table
from explorer.errors import InputError
from explorer.ui.safe import plain, plain_all
from explorer.workspace import Workspace

PARSED = "cmp_parsed"
NONE = "(none)"
ROLE_TITLES = {
    "same": "Same identity? (truth)",
    "a": "Item a",
    "b": "Item b",
    "subject_a": "Subject of a",
    "subject_b": "Subject of b",
    "fold": "Fold",
    "group": "Group",
}


def upload() -> tuple[pd.DataFrame | None, str, str]:
    """The uploaded scores file, parsed once per upload (this session only), within its row
    budget: (table, the upload's id, its sha256)."""
    up = st.file_uploader(
        "Pairs with your scores: CSV, TSV or Parquet, one row per pair",
        type=["csv", "tsv", "parquet"],
        key="cmp_file",
        help="A truth column (same / different), one or more score columns; optionally the two items, their "
        "subjects, a fold and a group column. Any column can be mapped below.",
    )
    if up is None:
        st.session_state.pop(PARSED, None)  # a file the widget no longer holds is let go
        st.session_state.pop("cmp_comparison", None)
        return None, "", ""
    cached = st.session_state.get(PARSED)
    if cached is None or cached[0] != up.file_id:
        try:
            if not up.name.lower().endswith(".parquet"):
                check_pair_count(up.getvalue())
            frame = read_table(up.getvalue(), up.name)
            no_rows(frame)
            limit = config.settings().max_score_rows
            if len(frame) > limit:
                raise InputError(
                    f"{len(frame):,} rows is more than the {limit:,} pairs a scores file may hold here "
                    "(EXPLORER_MAX_SCORE_ROWS)"
                )
        except InputError as exc:
            st.error(f"Cannot read {plain(up.name)}: {plain(exc)}")
            return None, "", ""
        cached = (up.file_id, frame, hashlib.sha256(up.getvalue()).hexdigest())
        st.session_state[PARSED] = cached
    return cached[1], up.file_id, cached[2]


def mapping(frame: pd.DataFrame) -> ColumnMap | None:
    """Columns found by name, shown and changeable; None until a truth and a score column are set."""
    columns = [str(c) for c in frame.columns]
    try:
        guess = guess_columns(frame)
        problem = None
    except InputError as exc:
        guess, problem = None, str(exc)
    if problem:
        st.warning(f"Map the columns: {plain(problem)}.")
    with st.expander("Columns", expanded=guess is None):
        cols = st.columns(4)
        chosen = {}
        for k, (role, title) in enumerate(ROLE_TITLES.items()):
            options = columns if role == "same" else [NONE, *columns]
            first = getattr(guess, role) if guess else None
            index = options.index(first) if first in options else (None if role == "same" else 0)
            value = cols[k % 4].selectbox(
                title,
                options,
                index=index,
                key=f"cmp_role_{role}",
                placeholder="choose",
                help=f"Found by name: {', '.join(ROLE_NAMES[role][:5])}, ..." if role in ROLE_NAMES else None,
            )
            chosen[role] = None if value in (None, NONE) else value
        taken = {v for v in chosen.values() if v}
        numeric = [c for c in columns if c not in taken and pd.api.types.is_numeric_dtype(frame[c])]
        scores = st.multiselect(
            "Score columns",
            [c for c in columns if c not in taken],
            default=[c for c in (guess.scores if guess else numeric) if c not in taken],
            key="cmp_scores_cols",
        )
    if chosen["same"] is None or not scores:
        st.info("Choose the truth column and at least one score column.")
        return None
    return ColumnMap(scores=tuple(scores), **chosen)


def directions(frame: pd.DataFrame, cmap: ColumnMap) -> ScoreTable | None:
    """Read the table; each score's direction detected from the labels and stated, or set by the user."""
    try:
        detected = read_scores(frame, cmap)
    except InputError as exc:
        st.error(f"Cannot evaluate this file: {plain(exc)}")
        return None
    shown = Counter(detected.directions[c].name for c in cmap.scores)
    plural = {"distance": "distances", "similarity": "similarities"}
    how = ", ".join(f"{n:,} {d if n == 1 else plural[d]}" for d, n in sorted(shown.items()))
    # one picker per score column, folded away: a file may hold hundreds of them
    box = st.expander(f"How each score reads: detected from the truth column ({how}); change any here")
    cols = box.columns(min(len(cmap.scores), 4))
    user = {}
    for k, name in enumerate(cmap.scores):
        d, auc = detected.directions[name], detected.detected.get(name, float("nan"))
        how = cols[k % len(cols)].selectbox(
            f"{plain(name)} reads as",
            ["detected", "distance", "similarity"],
            key=f"cmp_dir_{name}",
            help="distance: smaller = same identity; similarity: larger = same",
        )
        if how == "detected":
            cols[k % len(cols)].caption(
                f"detected: a {d.name} ({'genuine pairs score lower' if d.name == 'distance' else 'genuine pairs score higher'}"
                f"; AUC {auc:.4f} read that way)"
            )
        else:
            user[name] = how
    table = read_scores(frame, cmap, user) if user else detected
    if table.malformed:
        with st.expander(f"{len(table.malformed):,} rows left out: their truth cannot be read"):
            st.write("; ".join(plain_all(table.malformed)))
    return table


def subjects(table: ScoreTable, ws: Workspace | None) -> tuple[tuple[np.ndarray, np.ndarray] | None, str]:
    """Subjects of each pair for intervals: the file's, else the items' labels in the workspace."""
    if table.subjects is not None:
        return table.subjects, "the file's subjects"
    if ws is not None and table.a is not None and table.b is not None:
        found = subjects_from_labels(table.a, table.b, ws.dataset.ids, ws.dataset.labels)
        if found is not None:
            return found, "the workspace's labels of the pairs' items"
    return None, ""


def item_rows(table: ScoreTable, ws: Workspace | None) -> tuple[np.ndarray, np.ndarray] | None:
    """Workspace rows of each pair's items (for thumbnails), -1 where not found; None without items."""
    if ws is None or table.a is None or table.b is None:
        return None
    lookup = id_lookup(ws.dataset.ids)
    ra = np.array([lookup.get(str(x), -1) for x in table.a])
    rb = np.array([lookup.get(str(x), -1) for x in table.b])
    return (ra, rb) if ((ra >= 0) & (rb >= 0)).any() else None


def systems(ws: Workspace | None):
    """The uploaded file's score columns as systems on its pairs; None (with the reason shown)
    until the file can be evaluated."""
    from explorer.ui.compare import Systems

    frame, file_id, sha = upload()
    if frame is None:
        st.info("Upload a pairs file with score columns: no workspace, model or images are needed.")
        return None
    cmap = mapping(frame)
    table = directions(frame, cmap) if cmap is not None else None
    if table is None:
        return None
    subj, subj_from = subjects(table, ws)
    name = st.session_state["cmp_file"].name
    shown = {c: table.directions[c] for c in cmap.scores}
    return Systems(
        distances={c: table.distances(c) for c in cmap.scores},
        same=table.same,
        directions=shown,
        key=(file_id, cmap, tuple(sorted((c, d.name) for c, d in shown.items()))),
        subjects=subj,
        subjects_from=subj_from,
        fold=table.fold,
        fold_source=table.fold_source,
        group=table.group,
        group_column=cmap.group,
        items=item_rows(table, ws),
        pairs_from=f"{name}, {len(table):,} pairs",
        names=(table.a, table.b) if table.a is not None and table.b is not None else None,
        provenance={c: scores_file_provenance(name, sha, len(frame), table, cmap, c) for c in cmap.scores},
    )


def scores_file_provenance(name: str, sha256: str, rows: int, table: ScoreTable, cmap: ColumnMap, column: str) -> dict:
    """What a card of one score column says of where its figures came from."""
    return {
        "scores_file": {
            "name": name,
            "sha256": sha256,
            "rows": rows,
            "rows_with_a_truth": len(table),
            "pairs_used": int(np.isfinite(table.scores[column]).sum()),
            "score_columns": list(cmap.scores),
            "score_column": column,
            "direction": table.directions[column].name,
            "direction_from": "detected from the truth" if column in table.detected else "set by the user",
            "truth_column": cmap.same,
        }
    }
