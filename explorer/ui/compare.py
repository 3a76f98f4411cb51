"""Widgets of the Compare page: systems (score columns, or models) on the same pairs, side by side.

One :class:`Systems` in, then curves, a table with intervals over subjects, each system's
threshold, the pairs whose decision flips, k-fold accuracy and a threshold card.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import streamlit as st

from explorer import config, plots
from explorer.analysis.comparison import Comparison, compare, comparison_rows, flipped
from explorer.analysis.dev_eval import dev_eval_listed
from explorer.analysis.group_pairs import group_pairs_listed
from explorer.analysis.headline import headline
from explorer.analysis.rates import group_rates, listed_totals, subject_intervals, subjects_unusable
from explorer.analysis.scores import from_distances
from explorer.analysis.thresholds import at_threshold, kfold_accuracy, pick_threshold
from explorer.analysis.verification import roc_curve, scores_curve
from explorer.data.scorefile import DISTANCE, Direction
from explorer.fileio import csv_bytes
from explorer.report import CardExtras, card_json, card_markdown, threshold_card
from explorer.ui.downloads import download
from explorer.ui.safe import plain
from explorer.workspace import Workspace, slug

RULES = ("EER", "target FAR", "max accuracy")


@dataclass(frozen=True)
class Systems:
    """Systems scored on the same pairs. distances[name]: smaller = same (NaN: not scored);
    directions[name] says how to show a threshold in the system's own units."""

    distances: dict[str, np.ndarray]
    same: np.ndarray
    directions: dict[str, Direction]
    key: tuple  # what the figures depend on (memo key)
    subjects: tuple[np.ndarray, np.ndarray] | None = None
    subjects_from: str = ""
    fold: np.ndarray | None = None
    fold_source: str = ""
    group: np.ndarray | None = None
    group_column: str | None = None
    items: tuple[np.ndarray, np.ndarray] | None = None  # workspace rows of a and b (-1: not found)
    pairs_from: str = ""
    names: tuple[np.ndarray, np.ndarray] | None = None  # item names of a and b, as the file gives them
    extra: dict = field(default_factory=dict)  # CardExtras fields known for every system
    provenance: dict[str, dict] = field(default_factory=dict)  # per system, for its card
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # more table columns: name -> system -> text

    def ordered(self, a: str, b: str) -> Systems:
        """The same systems with A and B first (the difference is B - A)."""
        rest = [n for n in self.distances if n not in (a, b)]
        return replace(self, distances={n: self.distances[n] for n in (a, b, *rest)}, key=(*self.key, a, b))


def once(slot: str, key: tuple, compute):
    """``compute()`` kept in this session's ``slot`` while ``key`` stays (one value per slot)."""
    cached = st.session_state.get(slot)
    if cached is None or cached[0] != key:
        cached = (key, compute())
        st.session_state[slot] = cached
    return cached[1]


def comparison(sys: Systems) -> Comparison:
    """Figures and the paired bootstrap, once per systems key (this session)."""

    def compute():
        bar = st.progress(0.0, text="Bootstrap over subjects ...")
        try:
            return compare(
                sys.distances,
                sys.same,
                subjects=sys.subjects,
                replicates=config.settings().bootstrap,
                progress=lambda f, m: bar.progress(min(f, 1.0), text=m),
            )
        finally:
            bar.empty()

    return once("cmp_comparison", sys.key, compute)


def curves(sys: Systems) -> dict:
    out = {}
    for name, d in sys.distances.items():
        ok = np.isfinite(d)
        g, i = d[ok & sys.same], d[ok & ~sys.same]
        if len(g) and len(i):
            out[name] = roc_curve(g, i)
    return out


def pick_rule() -> tuple[str, float | None]:
    c1, c2 = st.columns(2)
    rule = c1.selectbox("Each system's threshold", RULES, key="cmp_rule")
    target = None
    if rule == "target FAR":
        target = c2.number_input("Target FAR (FMR)", 1e-7, 1.0, value=1e-3, format="%.1e", key="cmp_fmr")
    return rule, target


def threshold_of(curve, rule: str, target: float | None) -> float:
    return pick_threshold(curve, rule, target=target)


def drawn(names: list[str]) -> list[str]:
    """The systems on the figures: the first two by default (every system is in the table)."""
    if len(names) <= 2:
        return names
    chosen = st.multiselect(
        f"Systems on the figures ({len(names):,} in the file; every one is in the table below)",
        names,
        default=names[:2],
        key="cmp_drawn",
    )
    if not chosen:
        st.info("Choose at least one system to draw.")
    return chosen


def overview(sys: Systems, cs: dict, thresholds: dict[str, float]) -> None:
    points = {}
    for name, c in cs.items():
        r = at_threshold(c, thresholds[name])
        points[name] = (r.far, r.tar)
    left, right = st.columns(2)
    left.plotly_chart(plots.roc_overlay({n: (c.far, c.tar) for n, c in cs.items()}, points), key="cmp_roc")
    right.plotly_chart(
        plots.det_overlay(
            {n: (c.far, 1 - c.tar) for n, c in cs.items()}, {n: (p[0], 1 - p[1]) for n, p in points.items()}
        ),
        key="cmp_det",
    )
    shown = {}
    for name in cs:
        d, direction = sys.distances[name], sys.directions[name]
        ok = np.isfinite(d)
        shown[name] = (direction.shown(d[ok & sys.same]), direction.shown(d[ok & ~sys.same]))
    units = "score" if any(d is not DISTANCE for d in sys.directions.values()) else "distance"
    st.plotly_chart(
        plots.score_histograms(
            shown, unit=units, thresholds={n: sys.directions[n].shown(t) for n, t in thresholds.items()}
        ),
        key="cmp_hist",
    )


def figures_table(c: Comparison, columns: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """One row per system and, for two or more, B - A: each figure with its 95% interval."""
    if c.subjects_note:
        st.warning(
            f"No intervals over subjects: {plain(c.subjects_note)}. The intervals below draw pairs instead, and "
            "pairs that share images or people make them too narrow."
        )
    rows = comparison_rows(c)
    frame = pd.DataFrame(rows)
    for name, values in (columns or {}).items():
        frame[name] = frame["system"].map(values).fillna("")
    st.dataframe(frame, hide_index=True, key="cmp_table")
    st.caption(
        f"Each figure with its 95% interval over {c.replicates:,} bootstrap replicates drawing {c.over}; the same "
        "draws for every system (paired), so an interval of B - A that excludes 0 is a difference these pairs "
        "support. Lower EER is better; AUC and TAR@FAR higher."
    )
    return frame


def flips(sys: Systems, ws: Workspace | None, a: str, b: str, thresholds: dict[str, float]) -> None:
    idx, b_right = flipped(sys.distances[a], thresholds[a], sys.distances[b], thresholds[b], sys.same)
    st.markdown(
        f"**{len(idx):,} pairs flip** between {plain(a)} and {plain(b)} at their thresholds: {plain(b)} decides "
        f"{int(b_right.sum()):,} of them right, {plain(a)} {int((~b_right).sum()):,}."
    )
    if not len(idx):
        return
    shown = idx[:200]
    da, db = sys.distances[a][shown], sys.distances[b][shown]
    frame = pd.DataFrame(
        {
            "pair": shown,
            "truth": np.where(sys.same[shown], "same", "different"),
            f"{a} score": sys.directions[a].shown(da),
            f"{a} says": np.where(da <= thresholds[a], "same", "different"),
            f"{b} score": sys.directions[b].shown(db),
            f"{b} says": np.where(db <= thresholds[b], "same", "different"),
            "right": np.where(b_right[:200], b, a),
        }
    )
    if sys.names is not None:
        frame.insert(1, "item a", sys.names[0][shown])
        frame.insert(2, "item b", sys.names[1][shown])
    st.dataframe(frame, hide_index=True, key="cmp_flips")
    download(
        "Download the flipped pairs (CSV)",
        csv_bytes(frame),
        f"{slug(a)}_vs_{slug(b)}_flipped_pairs.csv",
        key="cmp_flips_csv",
    )
    ds = ws.dataset if ws is not None else None
    if sys.items is None or ds is None or ds.kind != "image" or not ds.thumbnails:
        return
    ra, rb = sys.items
    cols = st.columns(4)
    for k, p in enumerate([p for p in shown if ra[p] >= 0 and rb[p] >= 0][:8]):
        with cols[k % 4]:
            st.image([ds.thumbnails[ra[p]], ds.thumbnails[rb[p]]], width=72)
            truth = "same" if sys.same[p] else "different"
            winner = b if (sys.distances[b][p] <= thresholds[b]) == sys.same[p] else a
            st.caption(f"{truth}; {plain(winner)} is right")


def kfold(sys: Systems) -> None:
    if sys.fold is None:
        return
    rows = []
    for name, d in sys.distances.items():
        ok = np.isfinite(d)
        try:
            res = kfold_accuracy(d[ok], sys.same[ok], sys.fold[ok])
        except ValueError as exc:
            rows.append({"system": name, "accuracy": f"not possible: {exc}"})
            continue
        rows.append(
            {
                "system": name,
                "accuracy": f"{100 * res['accuracy_mean']:.2f}% +- {100 * res['accuracy_std']:.2f}%",
                "threshold": f"{sys.directions[name].shown(res['threshold_mean']):.5g}"
                if np.isfinite(res["threshold_mean"])
                else "every fold accepts no pair",
                "folds": res["folds"],
                "folds accepting no pair": res["folds_accepting_none"],
            }
        )
    st.markdown(
        f"**k-fold accuracy** (the best-accuracy threshold of the other folds), folds: {plain(sys.fold_source)}"
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="cmp_kfold")


def card(
    sys: Systems, name: str, threshold: float, rule: str, fmr_target: float | None, groups_of: dict | None = None
) -> dict:
    """The threshold card of one system at its threshold (intervals over subjects where known)."""
    d = sys.distances[name]
    ok = np.isfinite(d)
    # one PairScores per system while the file stays: the card's figures beyond the counts are kept with it
    scores, curve = once(
        "cmp_card_scores",
        (sys.key, name),
        lambda: _scores_and_curve(d[ok & sys.same], d[ok & ~sys.same], name, sys.pairs_from),
    )
    r = at_threshold(curve, threshold)
    subj, note = None, "no subjects known: intervals over pairs only"
    why = None if sys.subjects is None else subjects_unusable(sys.subjects[0][ok], sys.subjects[1][ok], sys.same[ok])
    if why:
        note = f"not computed: {why}"
    elif sys.subjects is not None:
        sa_all, sb_all = sys.subjects
        names, codes = np.unique(np.r_[sa_all[ok], sb_all[ok]], return_inverse=True)
        sa, sb, y, dd = codes[: ok.sum()], codes[ok.sum() :], sys.same[ok], d[ok]
        fm, fr = ~y & (dd <= r.threshold), y & (dd > r.threshold)
        subj = subject_intervals(
            (sa[fm], sb[fm]), sa[fr], listed_totals(sa, sb, y), len(names), replicates=config.settings().bootstrap
        )
        note = None
    held_out = between = None
    if sys.subjects is not None and not why:
        held_out = proven(sys, name, rule, fmr_target)
    if sys.subjects is not None and groups_of:
        got = group_pairs_listed(d, sys.same, sys.subjects, groups_of, r.threshold)
        between = {"note": got} if isinstance(got, str) else got.as_dict()
    groups = None
    if sys.group is not None:
        groups = (sys.group_column or "group", group_rates(d, sys.same, sys.group, r.threshold))
    extras = CardExtras(
        fmr_target=fmr_target,
        score=(name, sys.directions[name]),
        subject_intervals=subj,
        subject_note=note,
        groups=groups,
        dev_eval=held_out,
        group_pairs=between,
        **sys.extra,
    )
    return threshold_card(
        r,
        headline(curve, scores),
        scores,
        how=rule,
        provenance=sys.provenance.get(name, {}),
        pairs_from=sys.pairs_from,
        extras=extras,
    )


def _scores_and_curve(genuine: np.ndarray, impostor: np.ndarray, name: str, source: str):
    scores = from_distances(genuine, impostor, metric=name, source=source)
    return scores, scores_curve(scores)


def proven(sys: Systems, name: str, rule: str, target: float | None) -> dict | None:
    """The card's rule proven on held-out subjects (once per systems, system and rule: this session)."""

    def compute():
        d = sys.distances[name]
        ok = np.isfinite(d)
        try:
            return dev_eval_listed(
                d[ok],
                sys.same[ok],
                (sys.subjects[0][ok], sys.subjects[1][ok]),
                lambda c: pick_threshold(c, rule, target=target),
            ).as_dict(sys.directions[name].shown)
        except ValueError:
            return None  # too few subjects on either side of a split: the card goes without it

    return once("cmp_dev_eval", (sys.key, name, rule, target), compute)


def card_downloads(c: dict, system: str) -> None:
    d1, d2 = st.columns(2)
    stem = f"{slug(system)}_threshold_card"
    download("Download card (JSON)", card_json(c), f"{stem}.json", key="cmp_card_json", where=d1)
    download("Download card (Markdown)", card_markdown(c), f"{stem}.md", key="cmp_card_md", where=d2)
    with st.expander("Preview the card"):
        st.markdown(card_markdown(c))
