"""One evaluation of an embedding: verification at a threshold (with its card), retrieval, clusters
and the errors, computed the way the pages compute them. The report renders it
(:mod:`explorer.evaluation_report`); the command line and the Report page build it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from explorer import config
from explorer.analysis.clustering import against_labels, cluster, contingency, silhouette
from explorer.analysis.dev_eval import DevEval, dev_eval_all_pairs, dev_eval_listed
from explorer.analysis.galleries import Pair, false_accepts, false_rejects
from explorer.analysis.group_pairs import group_pairs_of_scores
from explorer.analysis.headline import Headline, headline
from explorer.analysis.listed_pairs import protocol_pairs
from explorer.analysis.metrics import cluster_metrics
from explorer.analysis.pairs import configured_pairs
from explorer.analysis.rates import scores_subject_intervals
from explorer.analysis.retrieval import RetrievalResult, query_sample, retrieval_metrics
from explorer.analysis.scores import PairScores
from explorer.analysis.thresholds import PICK_BY, ThresholdResult, at_threshold, pick_threshold
from explorer.analysis.verification import RocCurve, scores_curve
from explorer.data.protocol import PairProtocol
from explorer.errors import InputError
from explorer.models.embedding import Embeddings
from explorer.report import CardExtras, threshold_card

Progress = Callable[[float, str], None] | None
SAMPLE_QUERIES = 5000  # beyond the exact-search size, retrieval is measured on this many sampled queries
CLUSTERS_AMI_UP_TO = 5000  # items: AMI beyond this costs seconds to minutes (its expected-MI term)


@dataclass(frozen=True)
class ThresholdChoice:
    """How the threshold is picked: ``by`` one of PICK_BY (``target`` for the target FAR / TAR),
    or a ``value`` set by hand (from the Threshold page)."""

    by: str = "EER"
    target: float | None = None
    value: float | None = None
    how: str | None = None  # what the card says, for a value set elsewhere

    def pick(self, curve: RocCurve) -> tuple[float, str]:
        if self.value is not None:
            return float(self.value), self.how or "set by hand"
        if self.by not in PICK_BY:
            raise InputError(f"pick the threshold by one of {', '.join(PICK_BY)}, not {self.by!r}")
        if self.by in ("target FAR", "target TAR") and self.target is None:
            raise InputError(f"{self.by} needs a target (e.g. 1e-3)")
        if self.by == "target FAR" and self.target * curve.n_impostor < 1:
            raise InputError(f"with {curve.n_impostor:,} impostor pairs a FAR of {self.target:g} cannot be measured")
        t = pick_threshold(curve, self.by, target=self.target)
        return t, self.by + (f" {self.target:g}" if self.by == "target TAR" else "")  # the card names an FMR target


@dataclass(frozen=True)
class Verification:
    """All pairs (or a protocol's pairs), the curve, its headline and the threshold with its card."""

    scores: PairScores
    curve: RocCurve
    head: Headline
    result: ThresholdResult
    card: dict
    false_accepts: list[Pair]
    false_rejects: list[Pair]
    pairs_from: str


@dataclass(frozen=True)
class Clusters:
    k: int
    metric: str
    figures: dict[str, float]
    silhouette: float
    table: object  # pandas DataFrame: items per (cluster, label)


@dataclass(frozen=True)
class Evaluation:
    provenance: dict
    items: int
    identities: int
    dimension: int
    dropped: list[str]
    metric: str
    pairs_from: str
    verification: Verification
    retrieval: RetrievalResult | None
    clusters: Clusters | None
    notes: list[str] = field(default_factory=list)  # what was sampled or left out, and why
    ids: np.ndarray | None = None
    labels: np.ndarray | None = None


def finite_rows(emb: Embeddings) -> np.ndarray:
    return np.flatnonzero(np.isfinite(emb.vectors).all(axis=1))


def verification(
    emb: Embeddings,
    *,
    metric: str,
    choice: ThresholdChoice,
    protocol: PairProtocol | None = None,
    extras: CardExtras | None = None,
    progress: Progress = None,
    engine=None,
    held_out: int = 0,
    groups: dict[str, str] | None = None,
) -> Verification:
    """The Threshold page's figures and card: all pairs of the finite rows, or a protocol's pairs.
    ``held_out``: random splits of the identities on which the threshold's rule is proven on
    people it was not picked on (see :mod:`explorer.analysis.dev_eval`); 0: not done. ``groups``:
    each identity's group, for false matches between groups (see :mod:`explorer.analysis.group_pairs`)."""
    rows = finite_rows(emb)
    if protocol is None:
        if len(rows) < 2:
            raise InputError("fewer than two items with finite embeddings: there are no pairs")
        scores = configured_pairs(
            emb.vectors[rows], emb.labels[rows], metric=metric, progress=progress, engine=engine
        ).on_rows(rows)
        listed = dists = None
    else:
        scores, dists = protocol_pairs(emb.vectors, protocol.index_a, protocol.index_b, protocol.same, metric=metric)
        listed = (protocol.index_a, protocol.index_b)
    if not (scores.n_genuine and scores.n_impostor):
        raise InputError("a threshold needs genuine and impostor pairs: at least two identities, one with two items")
    curve = scores_curve(scores)
    head = headline(curve, scores)
    threshold, how = choice.pick(curve)
    r = at_threshold(curve, threshold)
    subj, why = scores_subject_intervals(
        scores, emb.labels, r.threshold, listed=listed, replicates=config.settings().bootstrap
    )
    extras = extras or CardExtras()
    if choice.by == "target FAR" and choice.value is None:
        extras = replace(extras, fmr_target=choice.target)
    extras = replace(extras, subject_intervals=subj, subject_note=why)
    if groups:
        between = group_pairs_of_scores(scores, emb.labels, groups, r.threshold, listed=listed)
        extras = replace(extras, group_pairs={"note": between} if isinstance(between, str) else between.as_dict())
    if held_out:
        if progress:
            progress(1.0, f"held-out people: the threshold's rule on {held_out} random splits of the identities ...")
        try:
            proven = _held_out(emb, rows, metric, lambda c: choice.pick(c)[0], protocol, dists, held_out, engine)
            extras = replace(extras, dev_eval=proven.as_dict())
        except ValueError as exc:  # no split could be counted: the card says why, the rest stands
            extras = replace(extras, dev_eval={"note": str(exc)})
    pairs_from = scores.source if protocol is None else f"protocol file, {len(protocol.same):,} pairs"
    card = threshold_card(r, head, scores, how=how, provenance=emb.provenance, pairs_from=pairs_from, extras=extras)
    return Verification(
        scores, curve, head, r, card, false_accepts(scores, r.threshold), false_rejects(scores, r.threshold), pairs_from
    )


def _held_out(emb: Embeddings, rows, metric: str, pick, protocol, dists, partitions: int, engine) -> DevEval:
    if protocol is None:
        return dev_eval_all_pairs(
            emb.vectors[rows],
            emb.labels[rows],
            lambda v, lab: configured_pairs(v, lab, metric=metric, engine=engine),
            pick,
            partitions=partitions,
        )
    labels = emb.labels
    subjects = (labels[protocol.index_a], labels[protocol.index_b])
    return dev_eval_listed(dists, protocol.same, subjects, pick, partitions=partitions)


def evaluate(
    emb: Embeddings,
    *,
    metric: str = "sqeuclidean",
    choice: ThresholdChoice = ThresholdChoice(),
    protocol: PairProtocol | None = None,
    extras: CardExtras | None = None,
    progress: Progress = None,
    engine=None,
    held_out: int = 0,
    groups: dict[str, str] | None = None,
) -> Evaluation:
    """Verification, retrieval (exact; sampled queries beyond the exact-search size) and k-means
    with k = the number of identities, against the labels. ``engine``: who runs the all-pairs
    impostor pass (see :func:`explorer.analysis.pairs.all_pairs`)."""
    say = progress or (lambda f, m: None)
    rows = finite_rows(emb)
    vectors, labels = emb.vectors[rows], emb.labels[rows]
    notes: list[str] = []
    ver = verification(
        emb,
        metric=metric,
        choice=choice,
        protocol=protocol,
        extras=extras,
        progress=lambda f, m: say(0.6 * f, m),
        engine=engine,
        held_out=held_out,
        groups=groups,
    )
    if ver.scores.sampled:
        notes.append(
            f"Impostor pairs: a uniform sample of {ver.scores.n_impostor:,} of {ver.scores.n_impostor_total:,} "
            "(every genuine pair is used)."
        )
    counts = np.unique(labels, return_counts=True)[1]
    n_ids = len(counts)
    retrieval = None
    say(0.6, f"retrieval: ranking every item against the other {len(rows) - 1:,} ...")
    if n_ids >= 2 and counts.max() > 1:
        queries = None
        if len(rows) > config.EXACT_SEARCH_UP_TO:
            queries = query_sample(labels, SAMPLE_QUERIES)
            notes.append(f"Retrieval: {len(queries):,} sampled queries, each ranked exactly against every item.")
        retrieval = retrieval_metrics(
            vectors, labels, metric=metric, queries=queries, progress=lambda f, m: say(0.6 + 0.3 * f, m)
        )
    else:
        notes.append("Retrieval: needs an identity with two items or more.")
    clusters = None
    say(0.9, f"clusters: k-means with k = {n_ids:,} identities, scored against the labels ...")
    if 2 <= n_ids < len(rows):
        cm = metric if metric in cluster_metrics("kmeans") else "euclidean"
        res = cluster(vectors, method="kmeans", n_clusters=n_ids, metric=cm)
        figures = against_labels(labels, res.labels, ami=len(rows) <= CLUSTERS_AMI_UP_TO)
        clusters = Clusters(
            n_ids, cm, figures, silhouette(vectors, res.labels, metric=cm), contingency(res.labels, labels)
        )
    else:
        notes.append("Clusters: need at least two identities and more items than identities.")
    if len(rows) < emb.n:
        notes.append(f"{emb.n - len(rows):,} items with NaN or infinite values are left out.")
    say(1.0, "done")
    return Evaluation(
        provenance=dict(emb.provenance),
        items=emb.n,
        identities=n_ids,
        dimension=int(emb.vectors.shape[1]),
        dropped=[str(i) for i in np.delete(emb.ids, rows)],
        metric=metric,
        pairs_from=ver.pairs_from,
        verification=ver,
        retrieval=retrieval,
        clusters=clusters,
        notes=notes,
        ids=np.asarray(emb.ids),
        labels=np.asarray(emb.labels),
    )
